// The latency half of the canary judge: canary against baseline p50 and p99 from two log-linear
// histograms, each with a ratio tolerance and an absolute slack, plus a Mann-Whitney U for
// display. Pure function; thread-safe.
//
// A quantile exceeds its limit (tolerance * baseline + slack) only when that is beyond sampling
// noise: the canary's distribution-free lower confidence bound must exceed the limit computed
// from the baseline's upper confidence bound (order statistics; see statistics.h). A p99 from a
// few hundred samples rests on a handful of them and moves by tens of percent from one look to
// the next, so comparing point estimates would fail healthy canaries (and more so the more often
// one looks). The upper bound needs ln(1 - confidence) / ln(q) samples (459 for p99 at 99%), so
// the baseline must have that many before a p99 can fail; with a 9:1 split it has them early.
// A quantile is within tolerance when its point estimate is at most the limit. In between (over
// the limit but not significantly) it is undecided and the judge waits.
// Mann-Whitney does not decide: on thousands of samples it flags shifts of a few percent that no
// one would roll back for; the tolerance says what matters, the bounds say it is real.
#pragma once

#include <cstdint>
#include <optional>

#include "canary/latency_histogram.h"
#include "canary/mann_whitney.h"

namespace canarymesh::canary {

struct LatencyTestConfig {
  double p50_tolerance = 1.2;
  double p99_tolerance = 1.2;
  uint64_t slack_us = 2'000;
  double confidence = 0.99;    // of each one-sided quantile bound
  uint64_t min_samples = 100;  // per side, before any latency decision
};

enum class QuantileDecision { kWithinTolerance, kExceedsTolerance, kUndecided };

struct QuantileEvidence {
  double quantile = 0.0;   // 0.5 or 0.99
  double tolerance = 0.0;  // the ratio allowed
  double baseline_us = 0.0;
  double canary_us = 0.0;
  double ratio = 0.0;     // canary_us / baseline_us; 0 when the baseline is 0 or empty
  double limit_us = 0.0;  // tolerance * baseline_us + slack
  // One-sided `confidence` bounds; unset when a side has too few samples for one.
  std::optional<double> canary_lower_us;
  std::optional<double> baseline_upper_us;
  std::optional<double> significant_limit_us;  // tolerance * baseline_upper_us + slack
  QuantileDecision decision = QuantileDecision::kUndecided;
};

struct LatencyEvidence {
  uint64_t baseline_samples = 0;
  uint64_t canary_samples = 0;
  bool enough_samples = false;  // both sides have min_samples; otherwise nothing is decided
  QuantileEvidence p50;
  QuantileEvidence p99;
  MannWhitneyResult mann_whitney;
};

LatencyEvidence EvaluateLatency(const LatencyTestConfig& config, const HistogramSnapshot& baseline,
                                const HistogramSnapshot& canary);

}  // namespace canarymesh::canary
