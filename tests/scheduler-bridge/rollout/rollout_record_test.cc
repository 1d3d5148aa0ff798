// RolloutRecord JSON round trip and the judge's input from stored step-start metrics.
#include "scheduler-bridge/rollout/rollout_record.h"

#include <gtest/gtest.h>

#include "scheduler-bridge/rollout/rollout_samples.h"

namespace canarymesh::bridge {
namespace {

TEST(RolloutRecordTest, JsonRoundTripKeepsEverything) {
  RolloutRecord r;
  r.id = "user-v2-1";
  r.service = "user";
  r.version = "v2";
  r.baseline_version = "v1";
  r.artifact = "run {version}";
  r.options.steps = {2, 20};
  r.options.pause_before_promote = true;
  r.options.integration_check = "./check";
  r.options.min_step_requests = 500;
  r.stage = RolloutStage::kCanary;
  r.step_index = 1;
  r.phase = "judging";
  r.step_start_metrics = {{"sidecar-a", {{"v1", {{"requests", 5}, {"errors", 1}}}}}};
  r.rollback_outcome = RolloutStage::kAborted;
  r.history.push_back({"test_starting", -1, 10, "requested"});
  r.verdicts.push_back({1, 20, 11, "PASS", "fine", {{"verdict", "PASS"}}});
  r.verdict_counts["PASS"] = 3;
  r.warnings = {"w"};
  auto back = RolloutRecord::FromJson(nlohmann::json::parse(r.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), r.ToJson());
  EXPECT_EQ(back->CurrentCanaryWeight(), 20u);
}

TEST(RolloutRecordTest, BadRecordsAreErrorsNamingTheField) {
  EXPECT_FALSE(RolloutRecord::FromJson(nlohmann::json::array()).ok());
  auto missing = RolloutRecord::FromJson({{"id", "x"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("service"), std::string::npos);
  nlohmann::json j = {{"id", "x"},
                      {"service", "s"},
                      {"version", "v2"},
                      {"baseline_version", "v1"},
                      {"stage", "sideways"}};
  auto bad_stage = RolloutRecord::FromJson(j);
  ASSERT_FALSE(bad_stage.ok());
  EXPECT_NE(bad_stage.status().message().find("stage"), std::string::npos);
  j["stage"] = "canary";
  j["step_index"] = "one";
  auto bad_type = RolloutRecord::FromJson(j);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("step_index"), std::string::npos);
}

TEST(RolloutRecordTest, StageNamesRoundTrip) {
  for (const char* name :
       {"test_starting", "integration_check", "canary", "awaiting_promotion", "promoting",
        "rolling_back", "promoted", "rolled_back", "failed", "aborted"}) {
    auto stage = StageFromName(name);
    ASSERT_TRUE(stage) << name;
    EXPECT_EQ(StageName(*stage), name);
  }
  EXPECT_FALSE(StageFromName("done"));
}

canary::VersionStatsSnapshot Snap(uint64_t requests, uint64_t errors, uint64_t latency_us = 1000) {
  canary::VersionStatsSnapshot s;
  s.requests = requests;
  s.errors = errors;
  s.since_start.counts[canary::LatencyBuckets::IndexOf(latency_us)] = requests;
  s.since_start.count = requests;
  s.since_start.sum_us = requests * latency_us;
  s.since_start.max_us = latency_us;
  return s;
}

TEST(RolloutSamplesTest, SumsDifferencesOverReporters) {
  ServiceMetrics start;
  start.by_reporter["a"] = {{"v1", Snap(100, 1)}, {"v2", Snap(10, 0)}};
  start.by_reporter["b"] = {{"v1", Snap(50, 0)}};
  nlohmann::json stored = nlohmann::json::parse(StepStartJson(start, "v1", "v2").dump());

  ServiceMetrics now;
  now.by_reporter["a"] = {{"v1", Snap(300, 3)}, {"v2", Snap(40, 4)}};
  now.by_reporter["b"] = {{"v1", Snap(20, 1)}, {"v2", Snap(5, 1)}};       // b restarted: all new
  now.by_reporter["c"] = {{"v1", Snap(7, 0)}, {"v3", Snap(1000, 1000)}};  // c is new; v3 ignored
  auto input = JudgeInputSince(stored, now, "v1", "v2");
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(input->baseline.requests, 200u + 20u + 7u);
  EXPECT_EQ(input->baseline.errors, 2u + 1u);
  EXPECT_EQ(input->canary.requests, 30u + 5u);
  EXPECT_EQ(input->canary.errors, 4u + 1u);
  EXPECT_EQ(input->canary.latency.count, 35u);
  EXPECT_EQ(input->baseline.latency.count, 227u);
}

TEST(RolloutSamplesTest, CorruptStepStartIsAnError) {
  ServiceMetrics now;
  now.by_reporter["a"] = {{"v1", Snap(3, 0)}};
  nlohmann::json stored = {{"a", {{"v1", {{"requests", "many"}}}}}};
  EXPECT_FALSE(JudgeInputSince(stored, now, "v1", "v2").ok());
  stored = {{"a", {{"v1", {{"requests", 1}, {"errors", 0}, {"latency_buckets", {{999999, 1}}}}}}}};
  EXPECT_FALSE(JudgeInputSince(stored, now, "v1", "v2").ok());
}

}  // namespace
}  // namespace canarymesh::bridge
