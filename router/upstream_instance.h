// One upstream instance (host:port) and its health as seen by outlier detection. Shared by all
// workers and all route-table snapshots that list it, so ejection is global; the state is a few
// relaxed atomics touched only when a request fails or an ejection ends. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/net_address.h"

namespace canarymesh::router {

class UpstreamInstance {
 public:
  UpstreamInstance(uint64_t id, NetAddress address)
      : id_(id), address_(std::move(address)), label_(address_.ToString()) {}
  UpstreamInstance(const UpstreamInstance&) = delete;
  UpstreamInstance& operator=(const UpstreamInstance&) = delete;

  uint64_t id() const { return id_; }
  const NetAddress& address() const { return address_; }
  const std::string& label() const { return label_; }

  bool IsEjected(int64_t now_ms) const {
    return ejected_until_ms_.load(std::memory_order_relaxed) > now_ms;
  }
  int64_t ejected_until_ms() const { return ejected_until_ms_.load(std::memory_order_relaxed); }
  uint32_t ejections_total() const { return ejections_total_.load(std::memory_order_relaxed); }

  // A response arrived: clears the failure streak and, once probation passes, the backoff.
  void RecordSuccess() {
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
    if (backoff_level_.load(std::memory_order_relaxed) != 0) {
      backoff_level_.store(0, std::memory_order_relaxed);
    }
  }

  // A connect failure, reset or timeout. Returns true when this call ejected the instance.
  // After an ejection ends the instance is on probation: the first failure ejects it again, for
  // twice as long (Finagle's failure accrual probes the same way).
  bool RecordFailure(int64_t now_ms, const OutlierConfig& cfg) {
    if (cfg.consecutive_failures == 0) return false;
    uint32_t level = backoff_level_.load(std::memory_order_relaxed);
    uint32_t streak = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    bool on_probation = level > 0;
    if (!on_probation && streak < cfg.consecutive_failures) return false;
    int64_t until = ejected_until_ms_.load(std::memory_order_relaxed);
    if (until > now_ms) return false;  // already ejected (another worker got there first)
    uint64_t duration = static_cast<uint64_t>(cfg.base_ejection_ms)
                        << std::min<uint32_t>(level, 20);
    if (duration > cfg.max_ejection_ms) duration = cfg.max_ejection_ms;
    if (!ejected_until_ms_.compare_exchange_strong(until,
                                                   now_ms + static_cast<int64_t>(duration))) {
      return false;
    }
    backoff_level_.store(level + 1, std::memory_order_relaxed);
    consecutive_failures_.store(0, std::memory_order_relaxed);
    ejections_total_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

 private:
  const uint64_t id_;
  const NetAddress address_;
  const std::string label_;
  std::atomic<uint32_t> consecutive_failures_{0};
  std::atomic<uint32_t> backoff_level_{0};
  std::atomic<int64_t> ejected_until_ms_{0};
  std::atomic<uint32_t> ejections_total_{0};
};

}  // namespace canarymesh::router
