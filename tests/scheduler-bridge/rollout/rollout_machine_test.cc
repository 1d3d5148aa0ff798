// RolloutMachine against the in-memory world: every transition, the order of effects that keeps
// ordinary traffic off an untested version, and resuming from every recorded stage.
#include "scheduler-bridge/rollout/rollout_machine.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "tests/scheduler-bridge/rollout/rollout_test_world.h"

namespace canarymesh::bridge {
namespace {

using testing::EventLog;
using testing::InMemoryBackend;
using testing::InMemoryRoutes;
using testing::ScriptedCheckRunner;
using testing::SimulatedTraffic;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kTickMs = 1000;

RolloutServiceConfig UserService() {
  RolloutServiceConfig s;
  s.name = "user";
  s.serverset_path = "/discovery/user";
  s.stable_version = "v1";
  s.instances = 3;
  s.artifact = "sample --version {version} --listen 127.0.0.1:{port}";
  return s;
}

RolloutRecord NewRollout(RolloutOptions options = {}) {
  RolloutRecord r;
  r.id = "user-v2-1";
  r.service = "user";
  r.version = "v2";
  r.baseline_version = "v1";
  r.options = options;
  r.created_ms = kStart;
  EnterStage(r, RolloutStage::kTestStarting, kStart, "requested");
  return r;
}

class RolloutMachineTest : public ::testing::Test {
 protected:
  RolloutMachineTest() { Rebuild(); }

  // A fresh machine (and check runner) over the same world: what a restarted bridge has.
  void Rebuild() {
    checks_ = std::make_unique<ScriptedCheckRunner>();
    checks_->exit_code = check_exit_code_;
    RolloutWorld world{&backend_, &routes_, &traffic_, checks_.get()};
    RolloutTimings timings;
    timings.ready_timeout_ms = 60'000;
    timings.integration_check_timeout_ms = 30'000;
    timings.drain_ms = 3'000;
    machine_ = std::make_unique<RolloutMachine>(world, canary::CanaryJudge(), timings,
                                                std::vector<RolloutServiceConfig>{UserService()},
                                                "127.0.0.1:4140");
  }

  void StartStable() {
    ASSERT_TRUE(machine_->EnsureStable("user", "v1", "", "").ok());
    while (!backend_.Inspect("user", "v1")->Ready()) {
    }
    log_.events.clear();
  }

  // Advances until a terminal stage (or max_ticks), one tick of simulated time each; keeps
  // every intermediate record (through a JSON round trip, as the store would).
  RolloutRecord Run(RolloutRecord r, int max_ticks = 2000) {
    for (int i = 0; i < max_ticks && !IsTerminal(r.stage); ++i) {
      now_ += kTickMs;
      r = machine_->Advance(r, now_);
      auto reloaded = RolloutRecord::FromJson(nlohmann::json::parse(r.ToJson().dump()));
      EXPECT_TRUE(reloaded.ok()) << reloaded.status().ToString();
      r = reloaded.value();
      trail_.push_back(r);
    }
    return r;
  }

  // The first record of each distinct (stage, phase, step) in the trail: one of each kind of
  // state a bridge could have stopped in.
  std::vector<RolloutRecord> DistinctStates() const {
    std::vector<RolloutRecord> out;
    std::set<std::string> seen;
    for (const RolloutRecord& r : trail_) {
      std::string key = std::string(StageName(r.stage)) + "/" + r.phase + "/" +
                        std::to_string(r.step_index) + (r.step_passed ? "/passed" : "");
      if (seen.insert(key).second) out.push_back(r);
    }
    return out;
  }

  std::vector<std::string> StagesOf(const RolloutRecord& r) {
    std::vector<std::string> out;
    for (const auto& h : r.history)
      out.push_back(h.stage + (h.step >= 0 ? std::to_string(h.step) : ""));
    return out;
  }

  // The largest weight any written policy gave the canary.
  uint32_t MaxCanaryWeightWritten() const {
    uint32_t max = 0;
    for (const auto& w : routes_.written) {
      auto it = w.find("v2");
      if (it != w.end()) max = std::max(max, it->second);
    }
    return max;
  }

  EventLog log_;
  InMemoryBackend backend_{&log_};
  InMemoryRoutes routes_{&log_};
  SimulatedTraffic traffic_{&routes_, "user", "v1"};
  int check_exit_code_ = 0;
  std::unique_ptr<ScriptedCheckRunner> checks_;
  std::unique_ptr<RolloutMachine> machine_;
  int64_t now_ = kStart;
  std::vector<RolloutRecord> trail_;
};

TEST_F(RolloutMachineTest, GoodCanaryIsPromotedThroughEveryStep) {
  StartStable();
  traffic_.requests_per_read = 1000;
  traffic_.error_rate = {{"v1", 0.01}, {"v2", 0.01}};
  RolloutOptions options;
  options.integration_check = "./check.sh";
  RolloutRecord r = Run(NewRollout(options));

  ASSERT_EQ(r.stage, RolloutStage::kPromoted) << r.final_reason << " / " << r.last_error;
  EXPECT_EQ(StagesOf(r),
            (std::vector<std::string>{"test_starting", "integration_check", "canary0", "canary1",
                                      "canary2", "canary3", "promoting", "promoted"}));
  // Every step ended on a PASS, whose report carries the judge's inputs.
  std::set<int> passed;
  for (const auto& v : r.verdicts) {
    if (v.verdict == "PASS") {
      passed.insert(v.step);
      EXPECT_GE(v.report["input"]["canary"]["requests"].get<uint64_t>(), 200u) << v.report.dump();
      EXPECT_EQ(v.weight, r.options.steps[v.step]);
    }
  }
  EXPECT_EQ(passed, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(r.verdict_counts["FAIL"], 0u);
  // The weights walked 0 -> 1 -> 5 -> 25 -> 50 -> 100, and the old version is gone.
  std::vector<uint32_t> canary_weights;
  for (const auto& w : routes_.written) canary_weights.push_back(w.count("v2") ? w.at("v2") : 0);
  EXPECT_EQ(canary_weights, (std::vector<uint32_t>{0, 1, 5, 25, 50, 100, 100}));
  EXPECT_EQ(routes_.policies.at("user").weights(), (canary::VersionWeights{{"v2", 100}}));
  EXPECT_FALSE(backend_.Has("user", "v1"));
  ASSERT_TRUE(backend_.Has("user", "v2"));
  EXPECT_EQ(backend_.groups.at({"user", "v2"}).desired, 3u);
  // Weight 0 was out before the new version was deployed; the old one removed only after all
  // weight had moved.
  ASSERT_GE(log_.IndexOf("weights v1=100 v2=0"), 0);
  EXPECT_LT(log_.IndexOf("weights v1=100 v2=0"), log_.IndexOf("deploy v2 x3"));
  EXPECT_LT(log_.IndexOf("weights v1=0 v2=100"), log_.IndexOf("remove v1"));
  // The integration check got the service, version and proxy.
  ASSERT_EQ(checks_->started.size(), 1u);
  EXPECT_EQ(checks_->started[0].command, "./check.sh");
  EXPECT_EQ(checks_->started[0].env.at("CANARYMESH_SERVICE"), "user");
  EXPECT_EQ(checks_->started[0].env.at("CANARYMESH_VERSION"), "v2");
  EXPECT_EQ(checks_->started[0].env.at("CANARYMESH_PROXY"), "127.0.0.1:4140");
  EXPECT_EQ(r.CurrentCanaryWeight(), 100u);
}

TEST_F(RolloutMachineTest, BadCanaryIsRolledBackAtTheFirstStep) {
  StartStable();
  traffic_.requests_per_read = 1000;
  traffic_.error_rate = {{"v1", 0.01}, {"v2", 0.05}};
  RolloutRecord r = Run(NewRollout());

  ASSERT_EQ(r.stage, RolloutStage::kRolledBack) << r.final_reason;
  EXPECT_EQ(StagesOf(r),
            (std::vector<std::string>{"test_starting", "canary0", "rolling_back", "rolled_back"}));
  ASSERT_FALSE(r.verdicts.empty());
  const VerdictEntry& fail = r.verdicts.back();
  EXPECT_EQ(fail.verdict, "FAIL");
  EXPECT_EQ(fail.step, 0);
  EXPECT_GT(fail.report["input"]["canary"]["errors"].get<uint64_t>(), 0u);
  EXPECT_NE(r.final_reason.find("judge FAIL"), std::string::npos) << r.final_reason;
  EXPECT_EQ(MaxCanaryWeightWritten(), 1u);  // it never got past the first step
  EXPECT_EQ(routes_.policies.at("user").weights(), (canary::VersionWeights{{"v1", 100}}));
  EXPECT_FALSE(backend_.Has("user", "v2"));
  EXPECT_TRUE(backend_.Has("user", "v1"));
  EXPECT_LT(log_.IndexOf("weights v1=100"), log_.IndexOf("remove v2"));
}

TEST_F(RolloutMachineTest, FailingIntegrationCheckStopsBeforeAnyOrdinaryTraffic) {
  check_exit_code_ = 3;
  Rebuild();
  StartStable();
  RolloutOptions options;
  options.integration_check = "false";
  RolloutRecord r = Run(NewRollout(options));

  ASSERT_EQ(r.stage, RolloutStage::kRolledBack);
  EXPECT_EQ(StagesOf(r), (std::vector<std::string>{"test_starting", "integration_check",
                                                   "rolling_back", "rolled_back"}));
  EXPECT_EQ(MaxCanaryWeightWritten(), 0u);
  EXPECT_EQ(traffic_.served["v2"], 0u);
  EXPECT_EQ(r.check_output, "check output, exit 3");
  EXPECT_NE(r.final_reason.find("exit 3"), std::string::npos);
  EXPECT_FALSE(backend_.Has("user", "v2"));
  EXPECT_TRUE(r.verdicts.empty());
}

TEST_F(RolloutMachineTest, StepWithoutEnoughTrafficTimesOutAndFailsSafely) {
  StartStable();
  traffic_.requests_per_read = 20;  // 1% of it: the judge never gets 200 canary requests
  RolloutOptions options;
  options.step_timeout_ms = 20'000;
  RolloutRecord r = Run(NewRollout(options));

  ASSERT_EQ(r.stage, RolloutStage::kFailed);
  EXPECT_NE(r.final_reason.find("timed out"), std::string::npos) << r.final_reason;
  EXPECT_EQ(r.verdicts.size(), 1u);  // only the latest NEED_MORE_DATA look is kept
  EXPECT_EQ(r.verdicts[0].verdict, "NEED_MORE_DATA");
  EXPECT_GT(r.verdict_counts["NEED_MORE_DATA"], 10u);
  EXPECT_EQ(routes_.policies.at("user").weights(), (canary::VersionWeights{{"v1", 100}}));
  EXPECT_FALSE(backend_.Has("user", "v2"));
}

TEST_F(RolloutMachineTest, StepGatesHoldAPassedStep) {
  StartStable();
  traffic_.requests_per_read = 1000;
  RolloutOptions options;
  options.steps = {10};
  options.min_step_duration_ms = 30'000;
  RolloutRecord r = Run(NewRollout(options));
  ASSERT_EQ(r.stage, RolloutStage::kPromoted);
  const auto& canary = r.history[1];
  const auto& promoting = r.history[2];
  ASSERT_EQ(promoting.stage, "promoting");
  EXPECT_GE(promoting.at_ms - canary.at_ms, 30'000);
}

TEST_F(RolloutMachineTest, ManualGateWaitsForPromote) {
  StartStable();
  traffic_.requests_per_read = 1000;
  RolloutOptions options;
  options.steps = {20};
  options.pause_before_promote = true;
  RolloutRecord r = Run(NewRollout(options), 200);
  ASSERT_EQ(r.stage, RolloutStage::kAwaitingPromotion);
  EXPECT_EQ(routes_.policies.at("user").weights(),
            (canary::VersionWeights{{"v1", 80}, {"v2", 20}}));
  EXPECT_TRUE(backend_.Has("user", "v1"));
  r.promote_requested = true;
  r = Run(r);
  EXPECT_EQ(r.stage, RolloutStage::kPromoted);
  EXPECT_EQ(r.history[r.history.size() - 2].note, "promoted by user");
}

TEST_F(RolloutMachineTest, AbortFromEveryStageRollsBack) {
  StartStable();
  traffic_.requests_per_read = 1000;
  RolloutOptions options;
  options.integration_check = "./check.sh";
  options.pause_before_promote = true;
  options.instances = 1;                       // so that promoting has to scale up
  RolloutRecord r = Run(NewRollout(options));  // stops at the gate
  ASSERT_EQ(r.stage, RolloutStage::kAwaitingPromotion);
  r.promote_requested = true;
  r = Run(r);
  ASSERT_EQ(r.stage, RolloutStage::kPromoted);
  const std::vector<RolloutRecord> trail = DistinctStates();

  std::set<std::string> covered;
  for (const RolloutRecord& at : trail) {
    if (IsTerminal(at.stage) || at.stage == RolloutStage::kRollingBack) continue;
    const bool past_return = at.stage == RolloutStage::kPromoting &&
                             (at.phase == "remove_old" || at.phase == "finalize");
    // The world as it was at that record: both versions deployed, old policy.
    backend_.groups.clear();
    ASSERT_TRUE(machine_->EnsureStable("user", "v1", "", "").ok());
    ASSERT_TRUE(backend_.Deploy(GroupSpecFor(UserService(), "v2", "", "", 3)).ok());
    RolloutRecord aborted = at;
    aborted.abort_requested = true;
    Rebuild();
    now_ = at.updated_ms;
    aborted = Run(aborted);
    covered.insert(std::string(StageName(at.stage)) + "/" + at.phase);
    if (past_return) {
      EXPECT_EQ(aborted.stage, RolloutStage::kPromoted) << at.phase;
    } else {
      EXPECT_EQ(aborted.stage, RolloutStage::kAborted) << StageName(at.stage) << "/" << at.phase;
      EXPECT_EQ(aborted.final_reason, "aborted by user");
      EXPECT_EQ(routes_.policies.at("user").weights(), (canary::VersionWeights{{"v1", 100}}));
      EXPECT_FALSE(backend_.Has("user", "v2"));
      EXPECT_TRUE(backend_.Has("user", "v1"));
    }
  }
  for (const char* must :
       {"test_starting/", "integration_check/", "canary/", "canary/judging", "awaiting_promotion/",
        "promoting/scale", "promoting/draining", "promoting/remove_old"}) {
    EXPECT_TRUE(covered.count(must)) << must;
  }
}

// A bridge that restarts picks the record up where it was and finishes the rollout, whatever
// stage it stopped in, even when the engine lost the new version meanwhile (the local backend
// loses its processes with the bridge).
TEST_F(RolloutMachineTest, ResumesFromEveryRecordedStage) {
  StartStable();
  traffic_.requests_per_read = 1000;
  RolloutOptions options;
  options.integration_check = "./check.sh";
  options.instances = 1;
  RolloutRecord r = Run(NewRollout(options));
  ASSERT_EQ(r.stage, RolloutStage::kPromoted);
  const std::vector<RolloutRecord> trail = DistinctStates();

  std::set<std::string> covered;
  for (const RolloutRecord& at : trail) {
    if (IsTerminal(at.stage)) continue;
    const bool old_removed = at.stage == RolloutStage::kPromoting && at.phase == "finalize";
    backend_.groups.clear();
    if (!old_removed) {
      ASSERT_TRUE(machine_->EnsureStable("user", "v1", "", "").ok());
    }
    if (at.stage != RolloutStage::kTestStarting) {
      ASSERT_TRUE(backend_.Deploy(GroupSpecFor(UserService(), "v2", "", "", 1)).ok());
    }
    Rebuild();
    now_ = at.updated_ms;
    RolloutRecord resumed = Run(at);
    EXPECT_EQ(resumed.stage, RolloutStage::kPromoted)
        << "from " << StageName(at.stage) << "/" << at.phase << ": " << resumed.final_reason;
    EXPECT_EQ(routes_.policies.at("user").weights(), (canary::VersionWeights{{"v2", 100}}));
    EXPECT_FALSE(backend_.Has("user", "v1"));
    covered.insert(std::string(StageName(at.stage)) + "/" + at.phase);
  }
  for (const char* must :
       {"test_starting/", "integration_check/", "canary/", "canary/judging", "promoting/",
        "promoting/scale", "promoting/draining", "promoting/remove_old", "promoting/finalize"}) {
    EXPECT_TRUE(covered.count(must)) << must;
  }

  // Mid-canary with the new version gone from the engine: it is deployed again.
  for (const RolloutRecord& at : trail) {
    if (at.stage != RolloutStage::kCanary || at.phase != "judging") continue;
    backend_.groups.clear();
    ASSERT_TRUE(machine_->EnsureStable("user", "v1", "", "").ok());
    Rebuild();
    now_ = at.updated_ms;
    RolloutRecord resumed = Run(at);
    EXPECT_EQ(resumed.stage, RolloutStage::kPromoted) << resumed.final_reason;
    break;
  }
}

TEST_F(RolloutMachineTest, ResumingARollbackFinishesIt) {
  StartStable();
  traffic_.requests_per_read = 1000;
  traffic_.error_rate = {{"v1", 0.0}, {"v2", 0.10}};
  RolloutRecord r = Run(NewRollout());
  ASSERT_EQ(r.stage, RolloutStage::kRolledBack);
  for (const RolloutRecord& at : DistinctStates()) {
    if (at.stage != RolloutStage::kRollingBack) continue;
    ASSERT_TRUE(backend_.Deploy(GroupSpecFor(UserService(), "v2", "", "", 3)).ok());
    Rebuild();
    now_ = at.updated_ms;
    RolloutRecord resumed = Run(at);
    EXPECT_EQ(resumed.stage, RolloutStage::kRolledBack) << at.phase;
    EXPECT_FALSE(backend_.Has("user", "v2"));
  }
}

TEST_F(RolloutMachineTest, StableVersionNotRunningFailsWithoutTouchingAnything) {
  RolloutRecord r = Run(NewRollout());
  EXPECT_EQ(r.stage, RolloutStage::kFailed);
  EXPECT_NE(r.final_reason.find("not running"), std::string::npos);
  EXPECT_TRUE(routes_.written.empty());
  EXPECT_TRUE(backend_.groups.empty());
}

TEST_F(RolloutMachineTest, NewVersionNeverReadyTimesOut) {
  StartStable();
  backend_.never_ready = true;
  RolloutRecord r = Run(NewRollout(), 200);
  EXPECT_EQ(r.stage, RolloutStage::kFailed);
  EXPECT_NE(r.final_reason.find("not ready after 60s"), std::string::npos) << r.final_reason;
  EXPECT_FALSE(backend_.Has("user", "v2"));
}

TEST_F(RolloutMachineTest, EngineRefusingTheSpecFailsTheRollout) {
  StartStable();
  backend_.next_error = Status::InvalidArgument("422: invalid app definition");
  // The first tick only learns the stable's size; the second deploys.
  RolloutRecord r = machine_->Advance(NewRollout(), now_ += kTickMs);
  backend_.next_error = Status::InvalidArgument("422: invalid app definition");
  r = machine_->Advance(r, now_ += kTickMs);
  EXPECT_EQ(r.stage, RolloutStage::kRollingBack);
  EXPECT_NE(r.final_reason.find("422"), std::string::npos);
  r = Run(r);
  EXPECT_EQ(r.stage, RolloutStage::kFailed);
}

TEST_F(RolloutMachineTest, EngineFailureOnTheGroupRollsBack) {
  StartStable();
  RolloutRecord r = machine_->Advance(NewRollout(), now_ += kTickMs);
  r = machine_->Advance(r, now_ += kTickMs);
  ASSERT_TRUE(backend_.Has("user", "v2"));
  backend_.groups.at({"user", "v2"}).failure = "ProgressDeadlineExceeded";
  r = machine_->Advance(r, now_ += kTickMs);
  EXPECT_EQ(r.stage, RolloutStage::kRollingBack);
  EXPECT_NE(r.final_reason.find("ProgressDeadlineExceeded"), std::string::npos);
}

TEST_F(RolloutMachineTest, TransientErrorsAreRecordedAndRetried) {
  StartStable();
  traffic_.requests_per_read = 1000;
  RolloutRecord r = machine_->Advance(NewRollout(), now_ += kTickMs);
  routes_.next_error = Status::Unavailable("zookeeper: connection loss");
  r = machine_->Advance(r, now_ += kTickMs);
  EXPECT_EQ(r.stage, RolloutStage::kTestStarting);
  EXPECT_NE(r.last_error.find("connection loss"), std::string::npos);
  EXPECT_FALSE(backend_.Has("user", "v2"));  // no deploy before the weights are out
  traffic_.next_error = Status::Unavailable("no sidecar answered");
  r = Run(r);
  EXPECT_EQ(r.stage, RolloutStage::kPromoted);
  EXPECT_TRUE(r.last_error.empty());
}

TEST_F(RolloutMachineTest, UnsatisfiablePlacementIsRecordedNotRefused) {
  StartStable();
  backend_.unsatisfiable = {"hostname:UNIQUE cannot hold for 3 instances on one machine"};
  traffic_.requests_per_read = 1000;
  RolloutRecord r = Run(NewRollout());
  EXPECT_EQ(r.stage, RolloutStage::kPromoted);
  EXPECT_EQ(r.warnings, backend_.unsatisfiable);
}

TEST_F(RolloutMachineTest, SidecarRestartMidStepCountsItsNewTrafficOnly) {
  StartStable();
  traffic_.requests_per_read = 1000;
  traffic_.error_rate = {{"v1", 0.01}, {"v2", 0.05}};
  RolloutRecord r = NewRollout();
  while (r.stage != RolloutStage::kCanary || r.phase != "judging")
    r = machine_->Advance(r, now_ += kTickMs);
  traffic_.RestartReporter("sidecar-a");
  r = Run(r);
  EXPECT_EQ(r.stage, RolloutStage::kRolledBack);
  for (const auto& v : r.verdicts) {
    const auto canary = v.report["input"]["canary"];
    EXPECT_LE(canary["errors"].get<uint64_t>(), canary["requests"].get<uint64_t>());
  }
}

TEST_F(RolloutMachineTest, TerminalRecordsDoNotChange) {
  RolloutRecord r = NewRollout();
  EnterStage(r, RolloutStage::kRolledBack, kStart, "done");
  RolloutRecord after = machine_->Advance(r, kStart + 5000);
  EXPECT_EQ(after.ToJson(), r.ToJson());
  EXPECT_TRUE(log_.events.empty());
}

}  // namespace
}  // namespace canarymesh::bridge
