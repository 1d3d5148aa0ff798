#include "canary/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace canarymesh::canary {

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  count += other.count;
  sum_us += other.sum_us;
  max_us = std::max(max_us, other.max_us);
}

double HistogramSnapshot::ValueAtQuantile(double q) const {
  if (count == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  // The small epsilon keeps q * count from rounding up past an exact integer (0.999 * 1000).
  const double wanted = std::ceil(q * static_cast<double>(count) - 1e-9);
  const uint64_t rank =
      std::clamp<uint64_t>(static_cast<uint64_t>(std::max(wanted, 1.0)), 1, count);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) {
      const uint64_t lower = LatencyBuckets::LowerBound(i);
      const double midpoint =
          static_cast<double>(lower) + static_cast<double>(LatencyBuckets::Width(i) - 1) / 2.0;
      // max_us is exact; it beats the midpoint when the bucket holds the largest sample.
      return std::min(midpoint, static_cast<double>(std::max(max_us, lower)));
    }
  }
  return static_cast<double>(max_us);
}

template <typename Counter>
void BasicLatencyHistogram<Counter>::Reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
  sum_us_.store(0, std::memory_order_relaxed);
  max_us_.store(0, std::memory_order_relaxed);
}

template <typename Counter>
void BasicLatencyHistogram<Counter>::AddTo(HistogramSnapshot& out) const {
  for (size_t i = 0; i < counts_.size(); ++i) {
    const uint64_t n = counts_[i].load(std::memory_order_relaxed);
    out.counts[i] += n;
    out.count += n;
  }
  out.sum_us += sum_us_.load(std::memory_order_relaxed);
  out.max_us = std::max(out.max_us, max_us_.load(std::memory_order_relaxed));
}

template class BasicLatencyHistogram<uint64_t>;
template class BasicLatencyHistogram<uint32_t>;

}  // namespace canarymesh::canary
