#include "canary/error_rate_sprt.h"

#include <gtest/gtest.h>

#include <cmath>

namespace canarymesh::canary {
namespace {

ErrorRateSprtConfig Config(double k, double delta) {
  ErrorRateSprtConfig c;
  c.degradation_factor = k;
  c.min_absolute_increase = delta;
  c.alpha = 0.005;
  c.beta = 0.05;
  return c;
}

// Log-likelihood ratio of the conditional test: each of the N errors is the canary's with
// probability n_c / (n_c + n_b) under H0 and k n_c / (k n_c + n_b) under H1.
double ConditionalLlr(double k, const ErrorCounts& b, const ErrorCounts& c) {
  const double nb = b.requests, nc = c.requests;
  const double pi0 = nc / (nc + nb), pi1 = k * nc / (k * nc + nb);
  const double x = c.errors, total = b.errors + c.errors;
  return x * std::log(pi1 / pi0) + (total - x) * std::log((1 - pi1) / (1 - pi0));
}

TEST(ErrorRateSprtTest, RareErrorsGiveTheConditionalTest) {
  // The profiled binomial LLR tends to the conditional one as errors get rare; this is what
  // makes the false-FAIL bound independent of the unknown baseline rate.
  // The same errors on 100x more requests: the gap (of the order of the rate) shrinks ~100x.
  const ErrorCounts baseline{9'000'000, 900}, canary{1'000'000, 130};
  const ErrorRateEvidence e = EvaluateErrorRate(Config(2.0, 0.0), baseline, canary);
  const double conditional = ConditionalLlr(2.0, baseline, canary);
  EXPECT_LT(e.llr, -7.0);
  EXPECT_NEAR(e.llr, conditional, 2e-3);
  EXPECT_NEAR(e.h1_canary_rate, 2.0 * e.h1_baseline_rate, 1e-12);
  EXPECT_NEAR(e.pooled_rate, 1030.0 / 10'000'000, 1e-15);

  const ErrorCounts rarer_baseline{900'000'000, 900}, rarer_canary{100'000'000, 130};
  const ErrorRateEvidence rarer = EvaluateErrorRate(Config(2.0, 0.0), rarer_baseline, rarer_canary);
  EXPECT_NEAR(ConditionalLlr(2.0, rarer_baseline, rarer_canary), conditional, 1e-12);
  EXPECT_LT(std::fabs(rarer.llr - conditional), std::fabs(e.llr - conditional) / 50);
}

TEST(ErrorRateSprtTest, ErrorFreeTrafficIsEvidenceThroughTheAbsoluteIncrease) {
  // No errors anywhere: H0 fits perfectly at rate 0, H1 at best gives the canary delta.
  const ErrorCounts baseline{5000, 0}, canary{400, 0};
  const ErrorRateEvidence e = EvaluateErrorRate(Config(2.0, 0.005), baseline, canary);
  EXPECT_NEAR(e.llr, 400 * std::log1p(-0.005), 1e-6);
  EXPECT_EQ(e.decision, SprtDecision::kContinue);  // -2.0 > ln(0.05 / 0.995) = -2.99
  ASSERT_TRUE(e.requests_to_pass.has_value());
  EXPECT_NEAR(static_cast<double>(*e.requests_to_pass), (2.0 - 2.9907) / std::log1p(-0.005), 2.0);

  const ErrorRateEvidence later =
      EvaluateErrorRate(Config(2.0, 0.005), {5000, 0}, {400 + *e.requests_to_pass, 0});
  EXPECT_EQ(later.decision, SprtDecision::kPass);
  // Without an absolute increase zero errors say nothing, and the estimate says so.
  const ErrorRateEvidence ratio_only = EvaluateErrorRate(Config(2.0, 0.0), baseline, canary);
  EXPECT_DOUBLE_EQ(ratio_only.llr, 0.0);
  EXPECT_FALSE(ratio_only.requests_to_pass.has_value());
}

TEST(ErrorRateSprtTest, ThresholdsAndDecisions) {
  const ErrorRateSprtConfig config = Config(2.0, 0.005);
  const ErrorRateEvidence fail = EvaluateErrorRate(config, {4500, 45}, {500, 25});
  EXPECT_NEAR(fail.fail_threshold, std::log(200.0), 1e-12);
  EXPECT_NEAR(fail.pass_threshold, std::log(0.05 / 0.995), 1e-12);
  EXPECT_GT(fail.llr, fail.fail_threshold);
  EXPECT_EQ(fail.decision, SprtDecision::kFail);
  EXPECT_NEAR(fail.p_value, std::exp(-fail.llr), 1e-15);
  EXPECT_FALSE(fail.requests_to_pass.has_value());
  EXPECT_DOUBLE_EQ(fail.canary_rate, 0.05);
  EXPECT_DOUBLE_EQ(fail.baseline_rate, 0.01);

  const ErrorRateEvidence pass = EvaluateErrorRate(config, {18'000, 180}, {2000, 16});
  EXPECT_LT(pass.llr, pass.pass_threshold);
  EXPECT_EQ(pass.decision, SprtDecision::kPass);

  // 1.4x: between the hypotheses, not enough to say either.
  const ErrorRateEvidence unsure = EvaluateErrorRate(config, {4500, 45}, {500, 7});
  EXPECT_EQ(unsure.decision, SprtDecision::kContinue);
  EXPECT_GT(unsure.llr, unsure.pass_threshold);
  EXPECT_LT(unsure.llr, unsure.fail_threshold);
  ASSERT_TRUE(unsure.requests_to_pass.has_value());
  EXPECT_GT(*unsure.requests_to_pass, 0u);
  EXPECT_LT(unsure.llr_drift_per_request, 0.0);
}

TEST(ErrorRateSprtTest, BetterCanaryPasses) {
  const ErrorRateEvidence e = EvaluateErrorRate(Config(2.0, 0.005), {9000, 900}, {1000, 20});
  EXPECT_LT(e.llr, e.pass_threshold);
  EXPECT_EQ(e.decision, SprtDecision::kPass);
}

TEST(ErrorRateSprtTest, H1UsesTheLargerOfRatioAndIncrease) {
  // Baseline 0.1%: the absolute increase (0.1% + 0.5% = 0.6%) dominates 2x (0.2%).
  const ErrorRateEvidence low = EvaluateErrorRate(Config(2.0, 0.005), {90'000, 90}, {10'000, 10});
  EXPECT_NEAR(low.h1_canary_rate - low.h1_baseline_rate, 0.005, 1e-9);
  // Baseline 5%: 2x (10%) dominates 5.5%.
  const ErrorRateEvidence high =
      EvaluateErrorRate(Config(2.0, 0.005), {90'000, 4500}, {10'000, 500});
  EXPECT_NEAR(high.h1_canary_rate, 2 * high.h1_baseline_rate, 1e-9);
  // A pure absolute alternative (k = 1) works too.
  const ErrorRateEvidence absolute =
      EvaluateErrorRate(Config(1.0, 0.01), {90'000, 900}, {10'000, 100});
  EXPECT_NEAR(absolute.h1_canary_rate - absolute.h1_baseline_rate, 0.01, 1e-9);
  EXPECT_LT(absolute.llr, 0.0);
}

TEST(ErrorRateSprtTest, EdgeCounts) {
  const ErrorRateSprtConfig config = Config(2.0, 0.005);
  const ErrorRateEvidence empty = EvaluateErrorRate(config, {0, 0}, {100, 3});
  EXPECT_EQ(empty.decision, SprtDecision::kContinue);
  EXPECT_DOUBLE_EQ(empty.llr, 0.0);
  EXPECT_FALSE(empty.requests_to_pass.has_value());

  // Everything failing on both sides: finite numbers, and no FAIL (the canary is not worse).
  const ErrorRateEvidence all = EvaluateErrorRate(config, {1000, 1000}, {1000, 1000});
  EXPECT_TRUE(std::isfinite(all.llr));
  EXPECT_NE(all.decision, SprtDecision::kFail);
  // A canary failing everything against a healthy baseline fails.
  const ErrorRateEvidence broken = EvaluateErrorRate(config, {1000, 10}, {200, 200});
  EXPECT_EQ(broken.decision, SprtDecision::kFail);
}

}  // namespace
}  // namespace canarymesh::canary
