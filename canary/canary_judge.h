// The canary judge: at each canary step the rollout bridge hands it what the baseline (stable)
// and the canary served since the step began, and gets PASS (go on), FAIL (roll back) or
// NEED_MORE_DATA, with every input, intermediate number and threshold behind it, as JSON for
// `rollout status`. Pure logic, no clock and no I/O; a CanaryJudge is immutable and thread-safe.
//
// Two tests (error_rate_sprt.h, latency_comparison.h), both safe to repeat after every batch:
// - error rate: a sequential probability ratio test of "canary fails like the baseline" against
//   "canary error rate >= max(k * baseline, baseline + delta)"; its false FAIL chance stays below
//   alpha over all looks of a step;
// - latency: canary p50 and p99 against tolerance * baseline + slack, failing only when a
//   distribution-free confidence bound says the excess is real.
// FAIL when either fails; PASS when the error test passes and both quantiles are within
// tolerance; otherwise NEED_MORE_DATA, with an estimate of the canary requests still needed.
// Call it with cumulative counts and act on the first PASS or FAIL of a step.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "canary/error_rate_sprt.h"
#include "canary/latency_comparison.h"
#include "canary/latency_histogram.h"
#include "core/status.h"

namespace canarymesh::canary {

struct VersionStatsSnapshot;

// Every default below is what tests/canary/canary_judge_simulation_test.cc measures and holds to
// the product targets (README numbers: `canary_judge_simulation`).
struct CanaryJudgeTunables {
  // Volume gates: no verdict at all before both sides have served this much in the step.
  uint64_t min_canary_requests = 200;
  uint64_t min_baseline_requests = 200;

  // Error rate. H1 is canary rate >= max(degradation_factor * baseline,
  // baseline + min_absolute_increase); the test is built to tell it from "canary = baseline".
  // alpha bounds the false FAILs of a healthy canary over all looks of a step, however frequent
  // (0.5% against the product's 1%: measured 0.3-0.5%); beta is the chance to PASS a canary that
  // is degraded by exactly H1 (measured 3-5% at 2x). A larger factor or beta decides sooner.
  double degradation_factor = 2.0;       // >= 1
  double min_absolute_increase = 0.005;  // in [0, 0.5]; 0.5% of requests
  double alpha = 0.005;                  // in (0, 0.5]
  double beta = 0.05;                    // in (0, 0.5]

  // Latency. A quantile fails when the canary's is above tolerance * baseline's + slack beyond
  // doubt (one-sided bounds at latency_confidence); it passes when its estimate is below.
  bool check_latency = true;
  double p50_tolerance = 1.2;         // >= 1
  double p99_tolerance = 1.2;         // >= 1
  uint64_t latency_slack_us = 2'000;  // absolute slack, so that sub-ms noise never fails
  double latency_confidence = 0.99;   // in [0.5, 1)
  // Per side before latency decides anything; >= 1. Below 100 samples the nearest-rank p99 is
  // the maximum, a single request; FAIL needs more anyway (the confidence bounds), this keeps a
  // PASS from resting on one. With the request gate at 200 it binds only when latency samples
  // lag behind request counts.
  uint64_t min_latency_samples = 100;

  // After this many canary requests in one step the judge stops waiting: undecided tests are
  // settled by their evidence so far (error LLR > 0 or a quantile over its limit -> FAIL).
  // 0 disables; otherwise >= min_canary_requests.
  uint64_t max_canary_requests = 100'000;

  // OK, or InvalidArgument naming the first bad field.
  Status Validate() const;
  ErrorRateSprtConfig ErrorRateConfig() const;
  LatencyTestConfig LatencyConfig() const;
};

// Reads tunables from a JSON object whose keys are the field names above; missing keys keep
// their defaults; unknown keys, wrong types and invalid values are errors naming the key.
Result<CanaryJudgeTunables> CanaryJudgeTunablesFromJson(const nlohmann::json& j);
nlohmann::json CanaryJudgeTunablesToJson(const CanaryJudgeTunables& t);

// What one version served since the step began.
struct VersionSample {
  uint64_t requests = 0;
  uint64_t errors = 0;  // <= requests
  HistogramSnapshot latency;
};

// The difference of two cumulative snapshots of one version (now minus at the step's start),
// from the since-start histograms. max_us stays the later one: an upper bound, not exact.
VersionSample SampleBetween(const VersionStatsSnapshot& step_start,
                            const VersionStatsSnapshot& now);

struct JudgeInput {
  VersionSample baseline;
  VersionSample canary;
};

enum class Verdict { kPass, kFail, kNeedMoreData };
std::string_view VerdictName(Verdict v);  // "PASS", "FAIL", "NEED_MORE_DATA"

struct JudgeReport {
  Verdict verdict = Verdict::kNeedMoreData;
  std::string reason;  // one line for humans
  // With NEED_MORE_DATA: canary requests still needed, if the canary keeps behaving like the
  // baseline; unset when unknown (no errors test possible yet, or waiting on latency alone).
  std::optional<uint64_t> requests_still_needed;
  bool failed_on_errors = false;
  bool failed_on_latency = false;
  bool truncated = false;  // settled by max_canary_requests

  JudgeInput input;
  CanaryJudgeTunables tunables;
  ErrorRateEvidence errors;
  LatencyEvidence latency;

  // Everything above, with non-empty histogram buckets as [lower_us, upper_us, count].
  nlohmann::json ToJson() const;
};

class CanaryJudge {
 public:
  CanaryJudge() = default;  // default tunables
  static Result<CanaryJudge> Create(const CanaryJudgeTunables& tunables);

  // InvalidArgument when a side reports more errors than requests.
  Result<JudgeReport> Judge(const JudgeInput& input) const;

  const CanaryJudgeTunables& tunables() const { return tunables_; }

 private:
  explicit CanaryJudge(const CanaryJudgeTunables& t) : tunables_(t) {}
  CanaryJudgeTunables tunables_;
};

}  // namespace canarymesh::canary
