// The error-rate half of the canary judge: a sequential probability ratio test (Wald) of
// "the canary fails like the baseline" against "the canary is degraded", on cumulative request
// and error counts, safe to re-evaluate after every batch. Pure function; thread-safe.
//
// Why this test. Users of Kayenta and Flagger complain about low-traffic canaries stalled or
// misjudged and sparse, mostly-zero error series; so the test works on counts, not on a series of
// per-interval rates, and every look is allowed:
// - H0: canary rate = baseline rate = p.  H1: canary rate = g(p) = max(k*p, p + delta).
//   The baseline rate p is unknown, so it is profiled out (maximised separately under H0 and H1)
//   instead of being plugged in as if it were exact: a noisy baseline estimate then does not make
//   false alarms. LLR = max_p logL(H1) - max_p logL(H0), two binomial likelihoods.
// - For rare errors with a pure ratio alternative the profiled LLR is exactly the log-likelihood
//   ratio of the conditional test (each error is the canary's with probability
//   n_c / (n_c + n_b) under H0, k*n_c / (k*n_c + n_b) under H1), whose likelihood ratio is a
//   martingale under H0 whatever the baseline rate is. By Ville's inequality the chance that it
//   ever reaches 1/alpha is at most alpha, however often one looks and even if one keeps looking
//   after a PASS; looks at batches only lower it. So FAIL at LLR >= ln(1/alpha).
// - PASS at LLR <= ln(beta / (1 - alpha)): data at least 1/beta times likelier if the canary is
//   healthy than if it were degraded by the configured amount. This is the power requirement
//   itself: a canary degraded by k (or by delta) would show such data with probability ~beta.
// - The absolute increase delta makes error-free traffic evidence too: with no errors on either
//   side the LLR falls by about delta per canary request, so a clean service passes after
//   ~ln(1/beta)/delta requests instead of stalling, and a 2x rise of a 0.01% rate is not a FAIL.
// Rejected alternatives: a group-sequential z-test with O'Brien-Fleming or Pocock alpha spending
// needs a planned horizon and the normal approximation, which is poor exactly where errors are
// sparse; plugging the baseline estimate into a one-sample SPRT inflates false alarms when the
// baseline is not much larger than the canary; a small-sample prior on the baseline rate would
// bias H0 toward the prior and so toward FAIL when the true rate is above it.
#pragma once

#include <cstdint>
#include <optional>

namespace canarymesh::canary {

struct ErrorRateSprtConfig {
  double degradation_factor = 2.0;       // k
  double min_absolute_increase = 0.005;  // delta, as a fraction of requests
  double alpha = 0.005;                  // false FAIL bound for a healthy canary
  double beta = 0.05;                    // chance to PASS a canary degraded by exactly k / delta
};

struct ErrorCounts {
  uint64_t requests = 0;
  uint64_t errors = 0;
};

enum class SprtDecision { kContinue, kPass, kFail };

struct ErrorRateEvidence {
  // Observed rates (0 without requests) and the pooled rate, the maximum-likelihood rate of both
  // sides under H0.
  double baseline_rate = 0.0;
  double canary_rate = 0.0;
  double pooled_rate = 0.0;
  // The best fit under H1: the baseline rate and the canary rate g(baseline rate) it implies.
  double h1_baseline_rate = 0.0;
  double h1_canary_rate = 0.0;
  double llr = 0.0;             // log-likelihood ratio H1 : H0
  double fail_threshold = 0.0;  // ln(1 / alpha)
  double pass_threshold = 0.0;  // ln(beta / (1 - alpha))
  // min(1, exp(-llr)): a P-value valid at any look (Ville), in the rare-error limit.
  double p_value = 1.0;
  // Expected change of the LLR per further canary request if the canary behaves exactly like the
  // pooled rate at the current traffic ratio (negative: drifting toward PASS).
  double llr_drift_per_request = 0.0;
  // Further canary requests until PASS at that drift; unset when it cannot be estimated (a side
  // without requests) or when the test has already decided.
  std::optional<uint64_t> requests_to_pass;
  SprtDecision decision = SprtDecision::kContinue;
};

// The config must have k >= 1, delta >= 0 and k > 1 or delta > 0, and alpha, beta in (0, 1):
// CanaryJudgeTunables::Validate checks this. Counts must have errors <= requests.
ErrorRateEvidence EvaluateErrorRate(const ErrorRateSprtConfig& config, const ErrorCounts& baseline,
                                    const ErrorCounts& canary);

}  // namespace canarymesh::canary
