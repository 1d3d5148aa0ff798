// A fixed-size log-linear latency histogram (HDR-like) in microseconds: exact below 64 us, then
// 32 linear sub-buckets per power of two, so a reported percentile is within 1.6% of the true
// sample (bucket width <= 1/32 of its lower bound, reported at the midpoint); values above 60 s
// are counted in the top bucket. Single writer: Record() from one thread while any thread reads
// (relaxed atomics, no locks); merge by reading shards into one HistogramSnapshot.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace canarymesh::canary {

// Where a value lands; shared by every histogram so that snapshots of any of them merge.
struct LatencyBuckets {
  static constexpr int kSubBucketBits = 5;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 32
  static constexpr uint64_t kMaxTrackedUs = 60'000'000;                   // 60 s

  static constexpr size_t IndexOf(uint64_t value_us) {
    if (value_us > kMaxTrackedUs) value_us = kMaxTrackedUs;
    if (value_us < kSubBuckets) return static_cast<size_t>(value_us);
    const int shift = static_cast<int>(std::bit_width(value_us)) - 1 - kSubBucketBits;
    return static_cast<size_t>(kSubBuckets + uint64_t(shift) * kSubBuckets +
                               ((value_us >> shift) - kSubBuckets));
  }
  // Smallest value and width of bucket `index`: it holds [LowerBound, LowerBound + Width).
  static constexpr uint64_t LowerBound(size_t index) {
    if (index < kSubBuckets) return index;
    const uint64_t shift = (index - kSubBuckets) / kSubBuckets;
    const uint64_t sub = (index - kSubBuckets) % kSubBuckets;
    return (kSubBuckets + sub) << shift;
  }
  static constexpr uint64_t Width(size_t index) {
    return index < kSubBuckets ? 1 : uint64_t{1} << ((index - kSubBuckets) / kSubBuckets);
  }
};

inline constexpr size_t kLatencyBucketCount =
    LatencyBuckets::IndexOf(LatencyBuckets::kMaxTrackedUs) + 1;

// A plain copy of one or more histograms: merge them, then ask for percentiles.
struct HistogramSnapshot {
  std::array<uint64_t, kLatencyBucketCount> counts{};
  uint64_t count = 0;   // sum of counts
  uint64_t sum_us = 0;  // of recorded values, not clamped
  uint64_t max_us = 0;

  void Merge(const HistogramSnapshot& other);
  // Nearest-rank percentile in microseconds (q in [0, 1], e.g. 0.99): the midpoint of the
  // bucket holding the ceil(q * count)-th smallest sample, capped at max_us. 0 when empty.
  double ValueAtQuantile(double q) const;
  double MeanUs() const { return count == 0 ? 0.0 : double(sum_us) / double(count); }
};

// `Counter` is uint64_t for since-start totals; uint32_t halves the memory of short-lived
// window slots (10 s at 400M samples/s per bucket before it would wrap).
template <typename Counter>
class BasicLatencyHistogram {
 public:
  BasicLatencyHistogram() = default;
  BasicLatencyHistogram(const BasicLatencyHistogram&) = delete;
  BasicLatencyHistogram& operator=(const BasicLatencyHistogram&) = delete;

  // Writer thread only. A load and a store per field instead of fetch_add: with one writer no
  // increment is lost, and plain stores avoid the locked read-modify-write.
  void Record(uint64_t value_us) {
    Bump(counts_[LatencyBuckets::IndexOf(value_us)]);
    sum_us_.store(sum_us_.load(std::memory_order_relaxed) + value_us, std::memory_order_relaxed);
    if (value_us > max_us_.load(std::memory_order_relaxed)) {
      max_us_.store(value_us, std::memory_order_relaxed);
    }
  }
  // Writer thread only.
  void Reset();

  // Any thread.
  uint64_t SumUs() const { return sum_us_.load(std::memory_order_relaxed); }

  // Any thread. Adds this histogram into `out`. Buckets are read one by one, so a concurrent
  // Record may or may not be included; `out.count` always equals the sum of `out.counts`.
  void AddTo(HistogramSnapshot& out) const;

 private:
  static void Bump(std::atomic<Counter>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::array<std::atomic<Counter>, kLatencyBucketCount> counts_{};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> max_us_{0};
};

using LatencyHistogram = BasicLatencyHistogram<uint64_t>;
using CompactLatencyHistogram = BasicLatencyHistogram<uint32_t>;

extern template class BasicLatencyHistogram<uint64_t>;
extern template class BasicLatencyHistogram<uint32_t>;

}  // namespace canarymesh::canary
