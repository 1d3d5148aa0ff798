// Counters the router keeps that are not per service/version: connections, local answers by
// status, retries, ejections. One block per worker, written only by that worker (relaxed
// atomics so the admin thread can sum them while workers run). Thread-safe to read.
#pragma once

#include <atomic>
#include <cstdint>

namespace canarymesh::router {

struct alignas(64) RouterCounters {
  std::atomic<uint64_t> downstream_connections_total{0};
  std::atomic<uint64_t> downstream_connections_active{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> upstream_connections_total{0};
  std::atomic<uint64_t> upstream_connect_failures_total{0};
  std::atomic<uint64_t> retries_total{0};
  std::atomic<uint64_t> retries_budget_exhausted_total{0};
  std::atomic<uint64_t> outlier_ejections_total{0};
  std::atomic<uint64_t> local_400{0}, local_404{0}, local_431{0}, local_501{0}, local_502{0},
      local_503{0}, local_504{0};

  static void Bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  static void Drop(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
};

// Per-(service, version) request accounting, implemented over the canary module's stats
// registry by app/. One instance per worker; Record is called on that worker's thread.
class RequestRecorder {
 public:
  virtual ~RequestRecorder() = default;
  // `now_ms` is the monotonic time the request ended (SteadyMillis), for sliding windows.
  virtual void Record(uint32_t stats_key, bool error, uint64_t latency_us, int64_t now_ms) = 0;
};

}  // namespace canarymesh::router
