// Per-(service, version, protocol) request statistics, Envoy style: a key is resolved once (under
// a mutex, off the hot path) and each worker then records into its own cache-line-aligned shard
// through a cached pointer, with relaxed atomics and no locks. A shard's latency histograms
// (~22 KB) are allocated on its first Record, so keys that never see traffic stay small. The admin
// thread reads every shard concurrently and sums them (Prometheus families, JSON canary summary).
// Thread-safety: Resolve/Shard/readers are thread-safe; a shard's Record has one writer.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "canary/latency_histogram.h"
#include "canary/latency_window.h"
#include "core/status.h"

namespace canarymesh::canary {

// Upper bounds of canarymesh_request_duration_seconds buckets, in microseconds (Prometheus `le`
// is inclusive); one more bucket, +Inf, follows.
inline constexpr std::array<uint64_t, 14> kDurationBucketBoundsUs = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
inline constexpr size_t kDurationBucketCount = kDurationBucketBoundsUs.size() + 1;

inline size_t DurationBucketIndex(uint64_t latency_us) {
  return static_cast<size_t>(
      std::lower_bound(kDurationBucketBoundsUs.begin(), kDurationBucketBoundsUs.end(), latency_us) -
      kDurationBucketBoundsUs.begin());
}

// What a reader gets from one shard, or from several added together.
struct VersionStatsSnapshot {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::array<uint64_t, kDurationBucketCount> duration_buckets{};  // per bucket, not cumulative
  uint64_t duration_sum_us = 0;
  HistogramSnapshot since_start;
  HistogramSnapshot window;  // the last minute (see LatencyWindow)
  uint64_t window_errors = 0;

  void Merge(const VersionStatsSnapshot& other);
};

class alignas(64) VersionStatsShard {
 public:
  VersionStatsShard() = default;
  ~VersionStatsShard();
  VersionStatsShard(const VersionStatsShard&) = delete;
  VersionStatsShard& operator=(const VersionStatsShard&) = delete;

  // Owning worker only. `now_ms`: the worker's coarse monotonic clock. The first call allocates
  // the latency histograms (once per shard; std::bad_alloc if memory is exhausted), later calls
  // never allocate.
  void Record(bool error, uint64_t latency_us, int64_t now_ms) {
    Bump(error ? errors_ : successes_);
    Bump(duration_buckets_[DurationBucketIndex(latency_us)]);
    // Only this thread stores the pointer, so a relaxed load sees its own allocation.
    Histograms* histograms = histograms_.load(std::memory_order_relaxed);
    if (histograms == nullptr) [[unlikely]] {
      histograms = AllocateHistograms();
    }
    histograms->since_start.Record(latency_us);
    histograms->window.Record(latency_us, error, now_ms);
  }

  // Any thread. Counters and Prometheus buckets only (cheap).
  void AddCountersTo(VersionStatsSnapshot& out) const;
  // Any thread. Everything, with the window as seen at `now_ms`.
  void AddTo(VersionStatsSnapshot& out, int64_t now_ms) const;

  // Any thread. False until the first Record: the shard then holds no latency histograms and
  // reads as empty.
  bool has_histograms() const { return histograms_.load(std::memory_order_acquire) != nullptr; }
  // What the first Record allocates.
  static constexpr size_t HistogramBytes() { return sizeof(Histograms); }

 private:
  // Aligned so that the worker's writes do not share a cache line with a neighbouring allocation.
  struct alignas(64) Histograms {
    LatencyHistogram since_start;
    LatencyWindow window;
  };

  static void Bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  Histograms* AllocateHistograms();  // out of line: off Record's fast path

  std::atomic<uint64_t> successes_{0};
  std::atomic<uint64_t> errors_{0};
  std::array<std::atomic<uint64_t>, kDurationBucketCount> duration_buckets_{};
  // Owned. Null until the first Record, then set once (release) and never changed until the
  // destructor; readers load it with acquire and treat null as "no samples".
  std::atomic<Histograms*> histograms_{nullptr};
};

using StatKey = uint32_t;

struct StatKeyLabels {
  std::string service;
  std::string version;
  std::string protocol;  // "http", "thrift"
};

class StatsRegistry : public prometheus::Collectable {
 public:
  static constexpr size_t kKeysPerChunk = 64;
  static constexpr size_t kMaxChunks = 1024;
  static constexpr size_t kMaxKeys = kKeysPerChunk * kMaxChunks;  // 65536

  explicit StatsRegistry(uint32_t num_workers);
  StatsRegistry(const StatsRegistry&) = delete;
  StatsRegistry& operator=(const StatsRegistry&) = delete;
  ~StatsRegistry() override = default;

  // The id for these labels, created on first use (all workers' shards with it). Takes a mutex
  // and may allocate: call when a version is discovered, never per request. Unavailable when
  // kMaxKeys keys exist.
  Result<StatKey> Resolve(std::string_view service, std::string_view version,
                          std::string_view protocol);

  // The shard `worker` records into for `key`; nullptr for an unknown key or worker. Lock-free;
  // the address is stable for the registry's lifetime, so cache it.
  VersionStatsShard* Shard(uint32_t worker, StatKey key) const;

  uint32_t num_workers() const { return num_workers_; }
  size_t num_keys() const { return num_keys_.load(std::memory_order_acquire); }
  // Labels of a key returned by Resolve (immutable once published).
  const StatKeyLabels& Labels(StatKey key) const;

  // All workers' shards of `key` added together.
  VersionStatsSnapshot Read(StatKey key, int64_t now_ms) const;

  // Exactly two families, summed over workers:
  //   canarymesh_requests_total{service,version,protocol,result="success"|"error"}  counter
  //   canarymesh_request_duration_seconds{service,version,protocol}                 histogram
  // Serialise with prometheus::TextSerializer, or register the registry with an Exposer.
  std::vector<prometheus::MetricFamily> CollectPrometheus() const;
  std::vector<prometheus::MetricFamily> Collect() const override { return CollectPrometheus(); }

  // One service's versions, each merged over workers and protocols, ordered by version name.
  struct VersionSummary {
    std::string version;
    VersionStatsSnapshot stats;
  };
  std::vector<VersionSummary> SummarizeService(std::string_view service, int64_t now_ms) const;
  // The body of GET /admin/canary/<service>: per version requests, errors, error_rate and
  // latency percentiles (ms) since start and over the last minute. See version_stats_summary.cc.
  nlohmann::json ServiceSummaryJson(std::string_view service, int64_t now_ms) const;

 private:
  struct KeyEntry {
    StatKeyLabels labels;
    std::unique_ptr<VersionStatsShard[]> shards;  // one per worker
  };
  struct Chunk {
    std::array<KeyEntry, kKeysPerChunk> entries;
  };

  const KeyEntry& Entry(StatKey key) const;

  const uint32_t num_workers_;
  // Readers find keys through chunks_ without the mutex: an entry is complete before num_keys_
  // (release) counts it, and a chunk never moves once published.
  std::array<std::atomic<Chunk*>, kMaxChunks> chunks_{};
  std::atomic<size_t> num_keys_{0};

  std::mutex mutex_;  // guards ids_, owned_chunks_ and writers of chunks_/num_keys_
  std::map<std::tuple<std::string, std::string, std::string>, StatKey> ids_;
  std::vector<std::unique_ptr<Chunk>> owned_chunks_;
};

}  // namespace canarymesh::canary
