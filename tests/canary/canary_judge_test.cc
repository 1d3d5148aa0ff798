#include "canary/canary_judge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "canary/version_stats.h"

namespace canarymesh::canary {
namespace {

// `n` samples spread evenly (in log space) over [median / 2, median * 4]: p50 near `median_us`
// times 1.4, p99 near the top. Deterministic, so the expectations below are exact.
void AddLatencies(HistogramSnapshot& h, uint64_t n, double median_us) {
  for (uint64_t i = 0; i < n; ++i) {
    const double frac = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
    const auto v = static_cast<uint64_t>(median_us / 2 * std::pow(8.0, frac));
    ++h.counts[LatencyBuckets::IndexOf(v)];
    ++h.count;
    h.sum_us += v;
    h.max_us = std::max(h.max_us, v);
  }
}

VersionSample Sample(uint64_t requests, uint64_t errors, double median_us) {
  VersionSample s;
  s.requests = requests;
  s.errors = errors;
  AddLatencies(s.latency, requests, median_us);
  return s;
}

JudgeReport JudgeOrDie(const CanaryJudge& judge, const JudgeInput& in) {
  Result<JudgeReport> r = judge.Judge(in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.value();
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(CanaryJudgeTest, FewRequestsWithoutErrorsNeedMoreData) {
  const CanaryJudge judge;
  // 150 canary requests without errors vs a 1% baseline: under the volume gate.
  JudgeReport r = JudgeOrDie(judge, {Sample(1350, 14, 20'000), Sample(150, 0, 20'000)});
  EXPECT_EQ(r.verdict, Verdict::kNeedMoreData);
  EXPECT_TRUE(Contains(r.reason, "canary has 150 of 200 requests")) << r.reason;
  ASSERT_TRUE(r.requests_still_needed.has_value());
  EXPECT_GE(*r.requests_still_needed, 50u);
  EXPECT_TRUE(
      Contains(r.reason, std::to_string(*r.requests_still_needed) + " more canary requests"))
      << r.reason;

  // Past the gate, 0/300 against 27/2700 is still not evidence enough to promote.
  r = JudgeOrDie(judge, {Sample(2700, 27, 20'000), Sample(300, 0, 20'000)});
  EXPECT_EQ(r.verdict, Verdict::kNeedMoreData);
  EXPECT_EQ(r.errors.decision, SprtDecision::kContinue);
  ASSERT_TRUE(r.requests_still_needed.has_value());
  EXPECT_GT(*r.requests_still_needed, 0u);
  EXPECT_TRUE(Contains(r.reason, "more canary requests to PASS")) << r.reason;
}

TEST(CanaryJudgeTest, LargeErrorIncreaseFailsAtTheFirstEligibleLook) {
  const CanaryJudge judge;
  const JudgeReport r = JudgeOrDie(judge, {Sample(1800, 18, 20'000), Sample(200, 60, 20'000)});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_TRUE(r.failed_on_errors);
  EXPECT_FALSE(r.failed_on_latency);
  EXPECT_TRUE(Contains(r.reason, "error rate 30.00% (60/200) vs baseline 1.00% (18/1800)"))
      << r.reason;
}

TEST(CanaryJudgeTest, IdenticalVersionsEventuallyPass) {
  const CanaryJudge judge;
  // Cumulative counts at exactly 1% on both sides, 9:1, a look every 50 canary requests.
  uint64_t passed_at = 0;
  for (uint64_t canary = 50; canary <= 5000 && passed_at == 0; canary += 50) {
    const uint64_t baseline = 9 * canary;
    const JudgeReport r = JudgeOrDie(
        judge, {Sample(baseline, baseline / 100, 20'000), Sample(canary, canary / 100, 20'000)});
    ASSERT_NE(r.verdict, Verdict::kFail) << r.reason;
    if (r.verdict == Verdict::kPass) passed_at = canary;
  }
  EXPECT_GT(passed_at, 200u);
  EXPECT_LE(passed_at, 1500u);
}

TEST(CanaryJudgeTest, TripleLatencyFailsOnLatency) {
  const CanaryJudge judge;
  const JudgeReport r = JudgeOrDie(judge, {Sample(2700, 27, 20'000), Sample(300, 3, 60'000)});
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_TRUE(r.failed_on_latency);
  EXPECT_FALSE(r.failed_on_errors);
  EXPECT_EQ(r.latency.p50.decision, QuantileDecision::kExceedsTolerance);
  EXPECT_EQ(r.latency.p99.decision, QuantileDecision::kExceedsTolerance);
  EXPECT_NEAR(r.latency.p99.ratio, 3.0, 0.15);
  EXPECT_TRUE(Contains(r.reason, "p99 latency")) << r.reason;
  EXPECT_TRUE(r.latency.mann_whitney.valid);
  EXPECT_GT(r.latency.mann_whitney.z, 10.0);
}

TEST(CanaryJudgeTest, LatencyWithinTolerancePasses) {
  const CanaryJudge judge;
  // 10% slower, errors equal and plenty of traffic.
  const JudgeReport r = JudgeOrDie(judge, {Sample(45'000, 450, 20'000), Sample(5000, 50, 22'000)});
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
  EXPECT_EQ(r.latency.p99.decision, QuantileDecision::kWithinTolerance);
  EXPECT_NEAR(r.latency.p99.ratio, 1.1, 0.05);
  EXPECT_LT(r.latency.p99.canary_us, r.latency.p99.limit_us);
}

TEST(CanaryJudgeTest, SlightlyOverToleranceWaitsThenFails) {
  const CanaryJudge judge;
  // p99 1.3x, 1:1 traffic: over the 1.2x limit, but 300 baseline samples cannot bound the
  // baseline's p99 from above (459 needed at 99%), so the excess is not significant yet.
  JudgeReport r = JudgeOrDie(judge, {Sample(300, 0, 20'000), Sample(300, 0, 26'000)});
  EXPECT_EQ(r.verdict, Verdict::kNeedMoreData) << r.reason;
  EXPECT_EQ(r.latency.p99.decision, QuantileDecision::kUndecided);
  EXPECT_FALSE(r.latency.p99.baseline_upper_us.has_value());
  EXPECT_GT(r.latency.p99.canary_us, r.latency.p99.limit_us);
  EXPECT_TRUE(Contains(r.reason, "not significantly yet")) << r.reason;
  r = JudgeOrDie(judge, {Sample(20'000, 0, 20'000), Sample(20'000, 0, 26'000)});
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.reason;
  EXPECT_TRUE(r.failed_on_latency);
}

TEST(CanaryJudgeTest, SlackAbsorbsMicroLatency) {
  const CanaryJudge judge;
  // 3x slower, but 0.3 ms against 0.1 ms: inside the 2 ms slack.
  const JudgeReport r = JudgeOrDie(judge, {Sample(45'000, 0, 100), Sample(5000, 0, 300)});
  EXPECT_FALSE(r.failed_on_latency);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
  EXPECT_GT(r.latency.p99.ratio, 2.5);
}

TEST(CanaryJudgeTest, LatencyAloneCanHoldAPass) {
  CanaryJudgeTunables t;
  t.min_latency_samples = 1000;
  const CanaryJudge judge = CanaryJudge::Create(t).value();
  // Errors would pass, but latency counts lag behind requests.
  JudgeInput in{Sample(45'000, 450, 20'000), Sample(5000, 50, 20'000)};
  in.canary.latency = {};
  AddLatencies(in.canary.latency, 400, 20'000);
  JudgeReport r = JudgeOrDie(judge, in);
  EXPECT_EQ(r.errors.decision, SprtDecision::kPass);
  EXPECT_EQ(r.verdict, Verdict::kNeedMoreData);
  EXPECT_TRUE(Contains(r.reason, "1000 needed per side")) << r.reason;
  EXPECT_TRUE(Contains(r.reason, "passes (LLR")) << r.reason;
  ASSERT_TRUE(r.requests_still_needed.has_value());
  EXPECT_EQ(*r.requests_still_needed, 600u);

  t.check_latency = false;
  r = JudgeOrDie(CanaryJudge::Create(t).value(), in);
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
}

TEST(CanaryJudgeTest, MaxRequestsSettlesOnTheEvidence) {
  CanaryJudgeTunables t;
  t.max_canary_requests = 1000;
  const CanaryJudge judge = CanaryJudge::Create(t).value();
  // 1.4x errors: undecided by the SPRT at this volume.
  JudgeReport r = JudgeOrDie(judge, {Sample(9000, 90, 20'000), Sample(1000, 14, 20'000)});
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.errors.decision, SprtDecision::kContinue);
  EXPECT_EQ(r.verdict, r.errors.llr > 0 ? Verdict::kFail : Verdict::kPass);
  EXPECT_TRUE(Contains(r.reason, "max_canary_requests")) << r.reason;
  // Below the limit the same judge keeps waiting.
  r = JudgeOrDie(judge, {Sample(8100, 81, 20'000), Sample(900, 13, 20'000)});
  EXPECT_EQ(r.verdict, Verdict::kNeedMoreData);
  EXPECT_FALSE(r.truncated);
}

TEST(CanaryJudgeTest, RejectsImpossibleCounts) {
  const CanaryJudge judge;
  VersionSample bad = Sample(10, 0, 1000);
  bad.errors = 11;
  EXPECT_EQ(judge.Judge({Sample(1000, 0, 1000), bad}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(judge.Judge({bad, Sample(1000, 0, 1000)}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(CanaryJudgeTest, JsonHasEveryInputAndNumber) {
  const CanaryJudge judge;
  const JudgeInput in{Sample(2700, 27, 20'000), Sample(300, 2, 21'000)};
  const JudgeReport r = JudgeOrDie(judge, in);
  const nlohmann::json j = r.ToJson();

  EXPECT_EQ(j["verdict"], std::string(VerdictName(r.verdict)));
  EXPECT_EQ(j["reason"], r.reason);
  for (const char* side : {"baseline", "canary"}) {
    const VersionSample& s = std::string(side) == "baseline" ? in.baseline : in.canary;
    const nlohmann::json& js = j["input"][side];
    EXPECT_EQ(js["requests"], s.requests);
    EXPECT_EQ(js["errors"], s.errors);
    EXPECT_EQ(js["latency"]["count"], s.latency.count);
    EXPECT_EQ(js["latency"]["sum_us"], s.latency.sum_us);
    EXPECT_EQ(js["latency"]["max_us"], s.latency.max_us);
    // The buckets reproduce the histogram exactly.
    HistogramSnapshot rebuilt;
    for (const nlohmann::json& b : js["latency"]["buckets"]) {
      const size_t i = LatencyBuckets::IndexOf(b[0].get<uint64_t>());
      EXPECT_EQ(LatencyBuckets::LowerBound(i), b[0].get<uint64_t>());
      EXPECT_EQ(LatencyBuckets::LowerBound(i) + LatencyBuckets::Width(i) - 1, b[1].get<uint64_t>());
      rebuilt.counts[i] = b[2].get<uint64_t>();
    }
    EXPECT_EQ(rebuilt.counts, s.latency.counts);
  }
  EXPECT_EQ(j["tunables"], CanaryJudgeTunablesToJson(judge.tunables()));

  const nlohmann::json& e = j["error_rate"];
  EXPECT_DOUBLE_EQ(e["log_likelihood_ratio"].get<double>(), r.errors.llr);
  EXPECT_DOUBLE_EQ(e["baseline_rate"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(e["canary_rate"].get<double>(), 2.0 / 300);
  for (const char* key :
       {"test", "h0", "h1", "pooled_rate", "h1_baseline_rate", "h1_canary_rate", "fail_threshold",
        "pass_threshold", "p_value", "requests_to_pass", "llr_drift_per_request", "decision",
        "degradation_factor", "min_absolute_increase"}) {
    EXPECT_TRUE(e.contains(key)) << key;
  }
  const nlohmann::json& l = j["latency"];
  EXPECT_DOUBLE_EQ(l["p99"]["baseline_us"].get<double>(), r.latency.p99.baseline_us);
  EXPECT_DOUBLE_EQ(l["p99"]["canary_us"].get<double>(), r.latency.p99.canary_us);
  for (const char* q : {"p50", "p99"}) {
    for (const char* key : {"quantile", "tolerance", "ratio", "limit_us", "canary_lower_bound_us",
                            "baseline_upper_bound_us", "significant_limit_us", "decision"}) {
      EXPECT_TRUE(l[q].contains(key)) << q << "." << key;
    }
  }
  EXPECT_DOUBLE_EQ(l["mann_whitney"]["z"].get<double>(), r.latency.mann_whitney.z);
  EXPECT_DOUBLE_EQ(l["mann_whitney"]["p_canary_slower"].get<double>(),
                   r.latency.mann_whitney.p_canary_slower);
  EXPECT_TRUE(j.contains("requests_still_needed"));
}

TEST(CanaryJudgeTest, ValidationNamesTheField) {
  EXPECT_TRUE(CanaryJudgeTunables{}.Validate().ok());
  struct Case {
    void (*mutate)(CanaryJudgeTunables&);
    const char* field;
  };
  const Case cases[] = {
      {[](CanaryJudgeTunables& t) { t.min_canary_requests = 0; }, "min_canary_requests"},
      {[](CanaryJudgeTunables& t) { t.min_baseline_requests = 0; }, "min_baseline_requests"},
      {[](CanaryJudgeTunables& t) { t.degradation_factor = 0.5; }, "degradation_factor"},
      {[](CanaryJudgeTunables& t) { t.degradation_factor = NAN; }, "degradation_factor"},
      {[](CanaryJudgeTunables& t) {
         t.degradation_factor = 1.0;
         t.min_absolute_increase = 0.0;
       },
       "degradation_factor"},
      {[](CanaryJudgeTunables& t) { t.min_absolute_increase = -0.1; }, "min_absolute_increase"},
      {[](CanaryJudgeTunables& t) { t.alpha = 0.0; }, "alpha"},
      {[](CanaryJudgeTunables& t) { t.beta = 0.7; }, "beta"},
      {[](CanaryJudgeTunables& t) { t.p50_tolerance = 0.9; }, "p50_tolerance"},
      {[](CanaryJudgeTunables& t) { t.p99_tolerance = 0.9; }, "p99_tolerance"},
      {[](CanaryJudgeTunables& t) { t.latency_slack_us = 61'000'000; }, "latency_slack_us"},
      {[](CanaryJudgeTunables& t) { t.latency_confidence = 1.0; }, "latency_confidence"},
      {[](CanaryJudgeTunables& t) { t.min_latency_samples = 0; }, "min_latency_samples"},
      {[](CanaryJudgeTunables& t) { t.max_canary_requests = 10; }, "max_canary_requests"},
  };
  for (const Case& c : cases) {
    CanaryJudgeTunables t;
    c.mutate(t);
    const Status s = t.Validate();
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.field;
    EXPECT_TRUE(Contains(s.message(), c.field)) << s.message();
    EXPECT_FALSE(CanaryJudge::Create(t).ok()) << c.field;
  }
  CanaryJudgeTunables off;
  off.max_canary_requests = 0;
  EXPECT_TRUE(off.Validate().ok());
}

TEST(CanaryJudgeTest, TunablesFromJson) {
  CanaryJudgeTunables changed;
  changed.min_canary_requests = 500;
  changed.alpha = 0.001;
  changed.check_latency = false;
  Result<CanaryJudgeTunables> back =
      CanaryJudgeTunablesFromJson(CanaryJudgeTunablesToJson(changed));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(CanaryJudgeTunablesToJson(*back), CanaryJudgeTunablesToJson(changed));

  back = CanaryJudgeTunablesFromJson(nlohmann::json::parse(R"({"p99_tolerance": 1.5})"));
  ASSERT_TRUE(back.ok());
  EXPECT_DOUBLE_EQ(back->p99_tolerance, 1.5);
  EXPECT_EQ(back->min_canary_requests, CanaryJudgeTunables{}.min_canary_requests);

  auto error_of = [](const char* text) {
    return CanaryJudgeTunablesFromJson(nlohmann::json::parse(text)).status().message();
  };
  EXPECT_TRUE(Contains(error_of(R"({"p99_tolerence": 1.5})"), "unknown tunable p99_tolerence"));
  EXPECT_TRUE(Contains(error_of(R"({"min_canary_requests": -5})"), "min_canary_requests"));
  EXPECT_TRUE(Contains(error_of(R"({"check_latency": 1})"), "check_latency"));
  EXPECT_TRUE(Contains(error_of(R"({"alpha": 0.9})"), "alpha"));
  EXPECT_TRUE(Contains(error_of(R"([1, 2])"), "object"));
}

TEST(CanaryJudgeTest, SampleBetweenSubtractsTheStepStart) {
  VersionStatsSnapshot start, now;
  start.requests = 100;
  start.errors = 5;
  now.requests = 350;
  now.errors = 9;
  AddLatencies(start.since_start, 100, 10'000);
  AddLatencies(now.since_start, 100, 10'000);
  AddLatencies(now.since_start, 250, 30'000);
  const VersionSample s = SampleBetween(start, now);
  EXPECT_EQ(s.requests, 250u);
  EXPECT_EQ(s.errors, 4u);
  HistogramSnapshot want;
  AddLatencies(want, 250, 30'000);
  EXPECT_EQ(s.latency.counts, want.counts);
  EXPECT_EQ(s.latency.count, 250u);
  EXPECT_EQ(s.latency.sum_us, want.sum_us);
  EXPECT_EQ(s.latency.max_us, now.since_start.max_us);
}

}  // namespace
}  // namespace canarymesh::canary
