#include "canary/latency_comparison.h"

#include <algorithm>

#include "canary/statistics.h"

namespace canarymesh::canary {
namespace {

// Index of the bucket holding the rank-th smallest sample (1-based, rank <= count).
size_t BucketOfRank(const HistogramSnapshot& h, uint64_t rank) {
  uint64_t seen = 0;
  for (size_t i = 0; i < kLatencyBucketCount; ++i) {
    seen += h.counts[i];
    if (seen >= rank) return i;
  }
  return kLatencyBucketCount - 1;
}

// The smallest value the rank-th sample can have: its bucket's lower edge.
double LowestValueAtRank(const HistogramSnapshot& h, uint64_t rank) {
  return static_cast<double>(LatencyBuckets::LowerBound(BucketOfRank(h, rank)));
}

// The largest value the rank-th sample can have: its bucket's upper edge, or the exact maximum
// when that is lower (or when the top bucket also holds clamped values above 60 s).
double HighestValueAtRank(const HistogramSnapshot& h, uint64_t rank) {
  const size_t i = BucketOfRank(h, rank);
  const uint64_t edge = LatencyBuckets::LowerBound(i) + LatencyBuckets::Width(i) - 1;
  if (i == kLatencyBucketCount - 1) return static_cast<double>(std::max(edge, h.max_us));
  return static_cast<double>(h.max_us >= LatencyBuckets::LowerBound(i) ? std::min(edge, h.max_us)
                                                                       : edge);
}

QuantileEvidence CompareQuantile(const LatencyTestConfig& config, double q, double tolerance,
                                 bool decide, const HistogramSnapshot& baseline,
                                 const HistogramSnapshot& canary) {
  QuantileEvidence e;
  e.quantile = q;
  e.tolerance = tolerance;
  e.baseline_us = baseline.ValueAtQuantile(q);
  e.canary_us = canary.ValueAtQuantile(q);
  e.ratio = e.baseline_us > 0 ? e.canary_us / e.baseline_us : 0.0;
  const double slack = static_cast<double>(config.slack_us);
  e.limit_us = tolerance * e.baseline_us + slack;

  if (const uint64_t r = QuantileLowerConfidenceRank(canary.count, q, config.confidence); r > 0) {
    e.canary_lower_us = LowestValueAtRank(canary, r);
  }
  if (const uint64_t s = QuantileUpperConfidenceRank(baseline.count, q, config.confidence); s > 0) {
    e.baseline_upper_us = HighestValueAtRank(baseline, s);
    e.significant_limit_us = tolerance * *e.baseline_upper_us + slack;
  }
  if (!decide) return e;
  if (e.canary_lower_us && e.significant_limit_us && *e.canary_lower_us > *e.significant_limit_us) {
    e.decision = QuantileDecision::kExceedsTolerance;
  } else if (e.canary_us <= e.limit_us) {
    e.decision = QuantileDecision::kWithinTolerance;
  }
  return e;
}

}  // namespace

LatencyEvidence EvaluateLatency(const LatencyTestConfig& config, const HistogramSnapshot& baseline,
                                const HistogramSnapshot& canary) {
  LatencyEvidence e;
  e.baseline_samples = baseline.count;
  e.canary_samples = canary.count;
  e.enough_samples = baseline.count >= std::max<uint64_t>(config.min_samples, 1) &&
                     canary.count >= std::max<uint64_t>(config.min_samples, 1);
  e.p50 = CompareQuantile(config, 0.5, config.p50_tolerance, e.enough_samples, baseline, canary);
  e.p99 = CompareQuantile(config, 0.99, config.p99_tolerance, e.enough_samples, baseline, canary);
  e.mann_whitney = MannWhitneyOnHistograms(baseline, canary);
  return e;
}

}  // namespace canarymesh::canary
