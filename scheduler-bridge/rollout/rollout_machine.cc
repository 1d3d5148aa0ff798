#include "scheduler-bridge/rollout/rollout_machine.h"

#include <algorithm>
#include <utility>

#include "core/logging.h"
#include "scheduler-bridge/rollout/rollout_samples.h"

namespace canarymesh::bridge {
namespace {

// Phases inside a stage; "" is always the stage's first.
constexpr const char* kJudging = "judging";
constexpr const char* kScale = "scale";
constexpr const char* kShift = "shift";
constexpr const char* kDraining = "draining";
constexpr const char* kRemoveOld = "remove_old";
constexpr const char* kFinalize = "finalize";
constexpr const char* kRemoveNew = "remove_new";

void EnterPhase(RolloutRecord& r, std::string phase, int64_t now) {
  r.phase = std::move(phase);
  r.phase_since_ms = now;
}

// Time since `since`; 0 when the clock reads earlier (another bridge's clock ran ahead).
uint64_t Elapsed(int64_t now, int64_t since) {
  return now > since ? static_cast<uint64_t>(now - since) : 0;
}

std::string Seconds(uint64_t ms) { return std::to_string(ms / 1000) + "s"; }

std::string GroupSummary(const GroupStatus& g) {
  return std::to_string(g.running) + " running, " + std::to_string(g.healthy) + " healthy of " +
         std::to_string(g.desired) + (g.deploying ? ", engine still deploying" : "");
}

// Deploy errors the engine will repeat however often it is asked (a spec it refuses).
bool Permanent(const Status& s) { return s.code() == Status::Code::kInvalidArgument; }

}  // namespace

void EnterStage(RolloutRecord& r, RolloutStage stage, int64_t now, std::string note, int step) {
  r.stage = stage;
  r.stage_entered_ms = now;
  r.phase.clear();
  r.phase_since_ms = now;
  r.last_error.clear();
  r.history.push_back({std::string(StageName(stage)), step, now, std::move(note)});
  LOG_INFO << "rollout " << r.id << ": " << StageName(stage)
           << (step >= 0 ? " step " + std::to_string(step) : "") << " (" << r.history.back().note
           << ")";
}

void BeginRollback(RolloutRecord& r, RolloutStage outcome, std::string reason, int64_t now) {
  r.rollback_outcome = outcome;
  r.final_reason = reason;
  EnterStage(r, RolloutStage::kRollingBack, now, std::move(reason));
}

RolloutMachine::RolloutMachine(RolloutWorld world, canary::CanaryJudge judge,
                               RolloutTimings timings, std::vector<RolloutServiceConfig> services,
                               std::string proxy_address)
    : world_(world),
      judge_(std::move(judge)),
      timings_(timings),
      services_(std::move(services)),
      proxy_address_(std::move(proxy_address)) {}

const RolloutServiceConfig* RolloutMachine::FindService(const std::string& name) const {
  for (const auto& s : services_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

RolloutRecord RolloutMachine::Advance(const RolloutRecord& record, int64_t now) const {
  RolloutRecord r = record;
  if (IsTerminal(r.stage)) return r;
  const RolloutServiceConfig* svc = FindService(r.service);

  // A user's abort wins over anything else the stage would do, until the old version is being
  // removed: from then on going back is no longer possible.
  const bool past_return =
      r.stage == RolloutStage::kPromoting && (r.phase == kRemoveOld || r.phase == kFinalize);
  if (r.abort_requested && r.stage != RolloutStage::kRollingBack && !past_return) {
    world_.checks->Forget(r.id);
    BeginRollback(r, RolloutStage::kAborted, "aborted by user", now);
  } else if (svc == nullptr && r.stage != RolloutStage::kRollingBack &&
             r.stage != RolloutStage::kPromoting) {
    BeginRollback(r, RolloutStage::kFailed,
                  "service " + r.service + " is no longer in the bridge's config", now);
  } else {
    switch (r.stage) {
      case RolloutStage::kTestStarting:
        TestStarting(r, *svc, now);
        break;
      case RolloutStage::kIntegrationCheck:
        IntegrationCheck(r, now);
        break;
      case RolloutStage::kCanary:
        Canary(r, svc, now);
        break;
      case RolloutStage::kAwaitingPromotion:
        AwaitingPromotion(r, now);
        break;
      case RolloutStage::kPromoting:
        Promoting(r, svc, now);
        break;
      case RolloutStage::kRollingBack:
        RollingBack(r, svc, now);
        break;
      default:
        break;
    }
  }
  r.updated_ms = now;
  return r;
}

Status RolloutMachine::EnsureStable(const std::string& service, const std::string& version,
                                    const std::string& artifact, const std::string& image) const {
  const RolloutServiceConfig* svc = FindService(service);
  if (svc == nullptr) return Status::NotFound("no service " + service + " in the bridge's config");
  return world_.backend->Deploy(GroupSpecFor(*svc, version, artifact, image, svc->instances));
}

Status RolloutMachine::EnsureWeights(const std::string& service, canary::VersionWeights weights,
                                     std::vector<std::string> order, int64_t now) const {
  auto current = world_.routes->Read(service);
  if (!current.ok()) return current.status();
  canary::StickyKeySource sticky;
  if (current.value()) sticky = current.value()->sticky();
  auto wanted = canary::RoutePolicy::Create(std::move(weights), sticky, std::move(order),
                                            canary::PolicySource::kZooKeeper, now);
  if (!wanted.ok()) return wanted.status();
  if (current.value() && current.value()->SameRouting(wanted.value())) return Status::Ok();
  return world_.routes->Write(service, wanted.value());
}

Status RolloutMachine::EnsureGroups(const RolloutRecord& r, const RolloutServiceConfig* svc,
                                    bool baseline, bool canary) const {
  if (svc == nullptr) return Status::Ok();
  if (baseline && !(r.baseline_artifact.empty() && r.baseline_image.empty() &&
                    svc->artifact.empty() && svc->image.empty())) {
    Status s =
        world_.backend->Deploy(GroupSpecFor(*svc, r.baseline_version, r.baseline_artifact,
                                            r.baseline_image, std::max(r.stable_instances, 1u)));
    if (!s.ok()) return s;
  }
  if (canary) {
    const uint32_t n = r.options.instances ? r.options.instances : std::max(r.stable_instances, 1u);
    return world_.backend->Deploy(GroupSpecFor(*svc, r.version, r.artifact, r.image, n));
  }
  return Status::Ok();
}

// test_starting: learn the stable's size (first tick), then every tick: weights with the new
// version at 0, Deploy (a no-op once it exists), Inspect until Ready.
void RolloutMachine::TestStarting(RolloutRecord& r, const RolloutServiceConfig& svc,
                                  int64_t now) const {
  if (r.stable_instances == 0) {
    auto stable = world_.backend->Inspect(r.service, r.baseline_version);
    if (!stable.ok()) {
      r.last_error = "inspect " + r.baseline_version + ": " + stable.status().message();
      return;
    }
    if (!stable->exists) {
      r.final_reason = "the stable version " + r.baseline_version + " of " + r.service +
                       " is not running on " + world_.backend->Name() + ": nothing to compare with";
      EnterStage(r, RolloutStage::kFailed, now, r.final_reason);
      return;
    }
    r.stable_instances = std::max(stable->desired, 1u);
    const uint32_t n = r.options.instances ? r.options.instances : r.stable_instances;
    r.warnings =
        world_.backend->Unsatisfiable(GroupSpecFor(svc, r.version, r.artifact, r.image, n));
    for (const auto& w : world_.backend->Unsatisfiable(
             GroupSpecFor(svc, r.version, r.artifact, r.image, r.stable_instances))) {
      if (std::find(r.warnings.begin(), r.warnings.end(), w) == r.warnings.end())
        r.warnings.push_back(w);
    }
    return;
  }
  // The weights first: the new instances must find weight 0 when they announce themselves.
  if (Status s = EnsureWeights(r.service, {{r.baseline_version, 100}, {r.version, 0}},
                               {r.baseline_version}, now);
      !s.ok()) {
    r.last_error = "route weights: " + s.message();
    return;
  }
  if (Status s = EnsureGroups(r, &svc, false, true); !s.ok()) {
    if (Permanent(s)) {
      BeginRollback(r, RolloutStage::kFailed, "deploy " + r.version + ": " + s.message(), now);
    } else {
      r.last_error = "deploy " + r.version + ": " + s.message();
    }
    return;
  }
  auto group = world_.backend->Inspect(r.service, r.version);
  if (!group.ok()) {
    r.last_error = "inspect " + r.version + ": " + group.status().message();
    return;
  }
  if (!group->failure.empty()) {
    BeginRollback(r, RolloutStage::kFailed, r.version + " cannot start: " + group->failure, now);
    return;
  }
  if (group->Ready()) {
    if (r.options.integration_check.empty()) {
      r.step_index = 0;
      EnterStage(r, RolloutStage::kCanary, now,
                 "ready (" + GroupSummary(*group) + "), no integration check", 0);
    } else {
      EnterStage(r, RolloutStage::kIntegrationCheck, now, "ready (" + GroupSummary(*group) + ")");
    }
    return;
  }
  r.last_error.clear();
  if (Elapsed(now, r.stage_entered_ms) > timings_.ready_timeout_ms) {
    BeginRollback(r, RolloutStage::kFailed,
                  r.version + " not ready after " + Seconds(timings_.ready_timeout_ms) + ": " +
                      GroupSummary(*group),
                  now);
  }
}

void RolloutMachine::IntegrationCheck(RolloutRecord& r, int64_t now) const {
  IntegrationCheckRequest request;
  request.command = r.options.integration_check;
  request.env = {
      {"CANARYMESH_SERVICE", r.service},
      {"CANARYMESH_VERSION", r.version},
      {"CANARYMESH_BASELINE_VERSION", r.baseline_version},
      {"CANARYMESH_PROXY", proxy_address_},
      {"CANARYMESH_ROLLOUT_ID", r.id},
      {"CANARYMESH_OVERRIDE_HEADER", "x-canary-version: " + r.service + "=" + r.version}};
  auto progress = world_.checks->Poll(r.id, request);
  if (!progress.ok()) {
    r.last_error = "integration check: " + progress.status().message();
  } else if (progress->finished) {
    r.check_output = progress->output_tail;
    world_.checks->Forget(r.id);
    if (progress->exit_code == 0) {
      r.step_index = 0;
      EnterStage(r, RolloutStage::kCanary, now, "integration check passed", 0);
    } else {
      BeginRollback(r, RolloutStage::kRolledBack,
                    "integration check failed (exit " + std::to_string(progress->exit_code) + ")",
                    now);
    }
    return;
  }
  if (Elapsed(now, r.stage_entered_ms) > timings_.integration_check_timeout_ms) {
    world_.checks->Forget(r.id);
    BeginRollback(
        r, RolloutStage::kFailed,
        "integration check still running after " + Seconds(timings_.integration_check_timeout_ms),
        now);
  }
}

void RolloutMachine::Canary(RolloutRecord& r, const RolloutServiceConfig* svc, int64_t now) const {
  if (r.step_index < 0 || static_cast<size_t>(r.step_index) >= r.options.steps.size()) {
    BeginRollback(r, RolloutStage::kFailed,
                  "canary step " + std::to_string(r.step_index) + " does not exist", now);
    return;
  }
  const uint32_t weight = r.options.steps[r.step_index];
  if (Status s = EnsureGroups(r, svc, true, true); !s.ok()) {
    r.last_error = "deploy: " + s.message();
    return;
  }
  if (Status s = EnsureWeights(r.service, {{r.baseline_version, 100 - weight}, {r.version, weight}},
                               {r.version, r.baseline_version}, now);
      !s.ok()) {
    r.last_error = "route weights: " + s.message();
    return;
  }
  if (r.phase.empty()) {
    // The step starts once its weights are out: what the sidecars counted so far is history.
    auto metrics = world_.metrics->Read(r.service);
    if (!metrics.ok()) {
      r.last_error = "metrics: " + metrics.status().message();
      return;
    }
    r.step_start_metrics = StepStartJson(metrics.value(), r.baseline_version, r.version);
    r.step_passed = false;
    r.last_error.clear();
    EnterPhase(r, kJudging, now);
    return;
  }
  auto group = world_.backend->Inspect(r.service, r.version);
  if (group.ok() && !group->failure.empty()) {
    BeginRollback(r, RolloutStage::kFailed, r.version + " failed on the engine: " + group->failure,
                  now);
    return;
  }
  JudgeStep(r, now);
}

void RolloutMachine::JudgeStep(RolloutRecord& r, int64_t now) const {
  const uint32_t weight = r.options.steps[r.step_index];
  const uint64_t in_step_ms = Elapsed(now, r.phase_since_ms);
  const std::string step_name = "step " + std::to_string(r.step_index + 1) + "/" +
                                std::to_string(r.options.steps.size()) + " (" +
                                std::to_string(weight) + "%)";
  auto timed_out = [&] { return in_step_ms > r.options.step_timeout_ms; };

  auto metrics = world_.metrics->Read(r.service);
  if (!metrics.ok()) {
    r.last_error = "metrics: " + metrics.status().message();
    if (timed_out()) {
      BeginRollback(r, RolloutStage::kFailed,
                    step_name + ": no metrics for " + Seconds(r.options.step_timeout_ms), now);
    }
    return;
  }
  auto input =
      JudgeInputSince(r.step_start_metrics, metrics.value(), r.baseline_version, r.version);
  if (!input.ok()) {
    r.last_error = "metrics at step start: " + input.status().message();
    return;
  }
  r.last_error.clear();

  if (!r.step_passed) {
    auto report = judge_.Judge(input.value());
    if (!report.ok()) {
      r.last_error = "judge: " + report.status().message();
      return;
    }
    VerdictEntry entry;
    entry.step = r.step_index;
    entry.weight = weight;
    entry.at_ms = now;
    entry.verdict = std::string(canary::VerdictName(report->verdict));
    entry.reason = report->reason;
    entry.report = report->ToJson();
    entry.report["unreachable_reporters"] = metrics->unreachable;
    entry.report["reporters"] = metrics->by_reporter.size();
    r.verdict_counts[entry.verdict]++;
    // Only the latest undecided look of a step is kept: the decided ones are what matter.
    if (!r.verdicts.empty() && r.verdicts.back().step == r.step_index &&
        r.verdicts.back().verdict == canary::VerdictName(canary::Verdict::kNeedMoreData)) {
      r.verdicts.back() = std::move(entry);
    } else {
      r.verdicts.push_back(std::move(entry));
    }
    if (report->verdict == canary::Verdict::kFail) {
      BeginRollback(r, RolloutStage::kRolledBack, step_name + ": judge FAIL: " + report->reason,
                    now);
      return;
    }
    if (report->verdict == canary::Verdict::kPass) r.step_passed = true;
  }
  const bool gates_met = in_step_ms >= r.options.min_step_duration_ms &&
                         input->canary.requests >= r.options.min_step_requests;
  if (r.step_passed && gates_met) {
    if (static_cast<size_t>(r.step_index) + 1 < r.options.steps.size()) {
      r.step_index++;
      r.step_passed = false;
      r.step_start_metrics = nlohmann::json::object();
      EnterPhase(r, "", now);
      r.history.push_back({std::string(StageName(RolloutStage::kCanary)), r.step_index, now,
                           "weight " + std::to_string(r.options.steps[r.step_index]) + "%"});
      LOG_INFO << "rollout " << r.id << ": canary step " << r.step_index << " at "
               << r.options.steps[r.step_index] << "%";
    } else if (r.options.pause_before_promote && !r.promote_requested) {
      EnterStage(r, RolloutStage::kAwaitingPromotion, now,
                 "all canary steps passed; waiting for `rollout promote`");
    } else {
      EnterStage(r, RolloutStage::kPromoting, now, "all canary steps passed");
    }
    return;
  }
  if (timed_out()) {
    const std::string why =
        r.step_passed
            ? "judge passed but the step's gates (" + std::to_string(input->canary.requests) +
                  " of " + std::to_string(r.options.min_step_requests) + " requests) were not met"
            : "no verdict: " + r.verdicts.back().reason;
    BeginRollback(r, RolloutStage::kFailed,
                  step_name + " timed out after " + Seconds(r.options.step_timeout_ms) + ": " + why,
                  now);
  }
}

void RolloutMachine::AwaitingPromotion(RolloutRecord& r, int64_t now) const {
  const uint32_t weight = r.options.steps.empty() ? 0 : r.options.steps.back();
  if (Status s = EnsureWeights(r.service, {{r.baseline_version, 100 - weight}, {r.version, weight}},
                               {r.version, r.baseline_version}, now);
      !s.ok()) {
    r.last_error = "route weights: " + s.message();
    return;
  }
  if (r.promote_requested) EnterStage(r, RolloutStage::kPromoting, now, "promoted by user");
}

void RolloutMachine::Promoting(RolloutRecord& r, const RolloutServiceConfig* svc,
                               int64_t now) const {
  const uint32_t target = std::max(r.stable_instances, 1u);
  if (r.phase.empty() || r.phase == kScale) {
    if (r.phase.empty()) EnterPhase(r, kScale, now);
    Status s = world_.backend->Scale(r.service, r.version, target);
    if (s.code() == Status::Code::kNotFound && svc != nullptr) {
      s = world_.backend->Deploy(GroupSpecFor(*svc, r.version, r.artifact, r.image, target));
    }
    if (!s.ok()) {
      r.last_error = "scale " + r.version + " to " + std::to_string(target) + ": " + s.message();
      return;
    }
    auto group = world_.backend->Inspect(r.service, r.version);
    if (!group.ok()) {
      r.last_error = "inspect " + r.version + ": " + group.status().message();
      return;
    }
    r.last_error.clear();
    if (!group->failure.empty()) {
      BeginRollback(r, RolloutStage::kFailed, "scaling " + r.version + " failed: " + group->failure,
                    now);
    } else if (group->Ready() && group->desired == target) {
      EnterPhase(r, kShift, now);
    } else if (Elapsed(now, r.phase_since_ms) > timings_.ready_timeout_ms) {
      BeginRollback(r, RolloutStage::kFailed,
                    r.version + " not ready at " + std::to_string(target) + " instances after " +
                        Seconds(timings_.ready_timeout_ms) + ": " + GroupSummary(*group),
                    now);
    }
    return;
  }
  if (r.phase == kShift || r.phase == kDraining) {
    // The baseline keeps weight 0 while it drains: header traffic may still ask for it.
    if (Status s =
            EnsureWeights(r.service, {{r.version, 100}, {r.baseline_version, 0}}, {r.version}, now);
        !s.ok()) {
      r.last_error = "route weights: " + s.message();
      return;
    }
    r.last_error.clear();
    if (r.phase == kShift) {
      EnterPhase(r, kDraining, now);
    } else if (Elapsed(now, r.phase_since_ms) >= timings_.drain_ms) {
      EnterPhase(r, kRemoveOld, now);
    }
    return;
  }
  if (r.phase == kRemoveOld) {
    Status s = world_.backend->Remove(r.service, r.baseline_version);
    auto group =
        s.ok() ? world_.backend->Inspect(r.service, r.baseline_version) : Result<GroupStatus>(s);
    if (!group.ok()) {
      r.last_error = "remove " + r.baseline_version + ": " + group.status().message();
      return;
    }
    r.last_error.clear();
    if (!group->exists) EnterPhase(r, kFinalize, now);
    return;
  }
  // finalize: the old version is gone, so the policy stops naming it.
  if (Status s = EnsureWeights(r.service, {{r.version, 100}}, {r.version}, now); !s.ok()) {
    r.last_error = "route weights: " + s.message();
    return;
  }
  r.final_reason = r.version + " promoted: it serves all of " + r.service + "'s traffic";
  EnterStage(r, RolloutStage::kPromoted, now, r.final_reason);
}

void RolloutMachine::RollingBack(RolloutRecord& r, const RolloutServiceConfig* svc,
                                 int64_t now) const {
  if (r.phase.empty() || r.phase == kDraining) {
    // Weight back at once; the baseline is brought back first if the engine lost it.
    if (Status s = EnsureGroups(r, svc, true, false); !s.ok())
      r.last_error = "deploy baseline: " + s.message();
    if (Status s = EnsureWeights(r.service, {{r.baseline_version, 100}}, {r.baseline_version}, now);
        !s.ok()) {
      r.last_error = "route weights: " + s.message();
      return;
    }
    if (r.phase.empty()) {
      world_.checks->Forget(r.id);
      EnterPhase(r, kDraining, now);
    } else if (Elapsed(now, r.phase_since_ms) >= timings_.drain_ms) {
      EnterPhase(r, kRemoveNew, now);
    }
    return;
  }
  Status s = world_.backend->Remove(r.service, r.version);
  auto group = s.ok() ? world_.backend->Inspect(r.service, r.version) : Result<GroupStatus>(s);
  if (!group.ok()) {
    r.last_error = "remove " + r.version + ": " + group.status().message();
    return;
  }
  if (group->exists) return;
  EnterStage(r, r.rollback_outcome, now, r.final_reason.empty() ? "rolled back" : r.final_reason);
}

}  // namespace canarymesh::bridge
