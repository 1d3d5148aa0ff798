// RolloutRecord: everything about one rollout that must outlive the bridge advancing it: what
// is rolled out, its options, the stage it is in (with the sub-phase and timers a restarted
// bridge needs to continue), every stage transition, every judge verdict with its full report,
// backend warnings and the final reason. Stored as JSON through RolloutStore (CAS on each
// change). A plain value: thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge {

enum class RolloutStage {
  kTestStarting,       // new version deployed at weight 0, waiting until it is ready
  kIntegrationCheck,   // the check command runs against it through the test header
  kCanary,             // weighted steps, judged at each (step_index)
  kAwaitingPromotion,  // manual gate: waits for `rollout promote`
  kPromoting,          // scale up, move all weight, drain, remove the old version
  kRollingBack,        // weight back to the baseline, remove the new version
  kPromoted,           // terminal
  kRolledBack,         // terminal: the judge or the check said no
  kFailed,             // terminal: rolled back because something else went wrong (timeouts, engine)
  kAborted,            // terminal: rolled back because a user asked
};

std::string_view StageName(RolloutStage stage);
std::optional<RolloutStage> StageFromName(std::string_view name);
bool IsTerminal(RolloutStage stage);

// Per-rollout choices; defaults come from the service's config, then the request.
struct RolloutOptions {
  std::vector<uint32_t> steps = {1, 5, 25, 50};  // canary weight in percent, increasing, < 100
  uint64_t min_step_requests = 0;                // canary requests before a step may end
  uint64_t min_step_duration_ms = 0;             // and time spent in it
  uint64_t step_timeout_ms = 600'000;            // no decision by then -> roll back (failed)
  bool pause_before_promote = false;             // manual gate
  std::string integration_check;                 // shell command; empty = none
  uint32_t instances = 0;                        // new version's test instances; 0 = the stable's
};

struct StageTransition {
  std::string stage;  // StageName
  int step = -1;      // canary step index, -1 outside the canary stage
  int64_t at_ms = 0;  // Unix ms
  std::string note;
};

struct VerdictEntry {
  int step = 0;
  uint32_t weight = 0;
  int64_t at_ms = 0;
  std::string verdict;  // PASS, FAIL, NEED_MORE_DATA
  std::string reason;
  nlohmann::json report;  // JudgeReport::ToJson() plus the reporters that did not answer
};

struct RolloutRecord {
  std::string id;
  std::string service;
  std::string version;           // the new version
  std::string baseline_version;  // the stable version it is compared with and replaces
  std::string artifact;
  std::string image;
  std::string baseline_artifact;  // to bring the baseline back if its group is gone
  std::string baseline_image;
  RolloutOptions options;
  uint32_t stable_instances = 0;  // the baseline's size, learned on the first tick

  RolloutStage stage = RolloutStage::kTestStarting;
  int step_index = -1;  // canary step, -1 before the first
  std::string phase;    // sub-phase within the stage ("" = its start)
  int64_t stage_entered_ms = 0;
  int64_t phase_since_ms = 0;  // when `phase` was entered

  // The metrics at the start of the current canary step: reporter -> version -> snapshot JSON
  // (rollout_samples.h), so that a resumed bridge judges the same interval.
  nlohmann::json step_start_metrics = nlohmann::json::object();
  bool step_passed = false;  // the judge said PASS in this step; now only the gates remain

  bool promote_requested = false;
  bool abort_requested = false;
  // Where rolling_back ends: rolled_back, failed or aborted.
  RolloutStage rollback_outcome = RolloutStage::kRolledBack;

  std::vector<StageTransition> history;
  std::vector<VerdictEntry> verdicts;  // PASS/FAIL kept; only the latest NEED_MORE_DATA of a step
  std::map<std::string, uint64_t> verdict_counts;  // every verdict ever given, by name
  std::vector<std::string> warnings;               // e.g. ClusterBackend::Unsatisfiable lines
  std::string check_output;                        // tail of the integration check's output
  std::string final_reason;
  std::string last_error;  // the latest transient failure (engine unreachable, ...), "" when none
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  // The canary's share of ordinary traffic as the rollout intends it now, in percent.
  uint32_t CurrentCanaryWeight() const;

  nlohmann::json ToJson() const;
  // Errors name the field; unknown fields are ignored so that a newer bridge's records load.
  static Result<RolloutRecord> FromJson(const nlohmann::json& j);
};

}  // namespace canarymesh::bridge
