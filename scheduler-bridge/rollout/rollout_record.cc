#include "scheduler-bridge/rollout/rollout_record.h"

#include <array>
#include <utility>

namespace canarymesh::bridge {
namespace {

constexpr std::array<std::pair<RolloutStage, std::string_view>, 10> kStageNames = {{
    {RolloutStage::kTestStarting, "test_starting"},
    {RolloutStage::kIntegrationCheck, "integration_check"},
    {RolloutStage::kCanary, "canary"},
    {RolloutStage::kAwaitingPromotion, "awaiting_promotion"},
    {RolloutStage::kPromoting, "promoting"},
    {RolloutStage::kRollingBack, "rolling_back"},
    {RolloutStage::kPromoted, "promoted"},
    {RolloutStage::kRolledBack, "rolled_back"},
    {RolloutStage::kFailed, "failed"},
    {RolloutStage::kAborted, "aborted"},
}};

// Thrown only inside FromJson and turned into a Status there: a record is read off the data
// path, and one catch keeps the many field reads short.
struct FieldError {
  std::string field;
  std::string message;
};

template <typename T>
void Read(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FieldError{key, std::string("wrong type (") + it->type_name() + ")"};
  }
}

RolloutStage StageField(const nlohmann::json& j, const char* key, RolloutStage fallback) {
  std::string name;
  Read(j, key, &name);
  if (name.empty()) return fallback;
  auto stage = StageFromName(name);
  if (!stage) throw FieldError{key, "unknown stage '" + name + "'"};
  return *stage;
}

nlohmann::json OptionsJson(const RolloutOptions& o) {
  return {{"steps", o.steps},
          {"min_step_requests", o.min_step_requests},
          {"min_step_duration_ms", o.min_step_duration_ms},
          {"step_timeout_ms", o.step_timeout_ms},
          {"pause_before_promote", o.pause_before_promote},
          {"integration_check", o.integration_check},
          {"instances", o.instances}};
}

RolloutOptions OptionsFromJson(const nlohmann::json& j) {
  RolloutOptions o;
  if (!j.is_object()) throw FieldError{"options", "expected an object"};
  Read(j, "steps", &o.steps);
  Read(j, "min_step_requests", &o.min_step_requests);
  Read(j, "min_step_duration_ms", &o.min_step_duration_ms);
  Read(j, "step_timeout_ms", &o.step_timeout_ms);
  Read(j, "pause_before_promote", &o.pause_before_promote);
  Read(j, "integration_check", &o.integration_check);
  Read(j, "instances", &o.instances);
  return o;
}

}  // namespace

std::string_view StageName(RolloutStage stage) {
  for (const auto& [s, name] : kStageNames) {
    if (s == stage) return name;
  }
  return "unknown";
}

std::optional<RolloutStage> StageFromName(std::string_view name) {
  for (const auto& [s, n] : kStageNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(RolloutStage stage) {
  return stage == RolloutStage::kPromoted || stage == RolloutStage::kRolledBack ||
         stage == RolloutStage::kFailed || stage == RolloutStage::kAborted;
}

uint32_t RolloutRecord::CurrentCanaryWeight() const {
  switch (stage) {
    case RolloutStage::kCanary:
    case RolloutStage::kAwaitingPromotion:
      if (step_index >= 0 && static_cast<size_t>(step_index) < options.steps.size()) {
        return options.steps[step_index];
      }
      return 0;
    case RolloutStage::kPromoting:
      // Until the weights move ("scale" phase) the last step's share still holds.
      if (phase.empty() || phase == "scale") {
        return options.steps.empty() ? 0 : options.steps.back();
      }
      return 100;
    case RolloutStage::kPromoted:
      return 100;
    default:
      return 0;
  }
}

nlohmann::json RolloutRecord::ToJson() const {
  nlohmann::json history_json = nlohmann::json::array();
  for (const auto& h : history) {
    history_json.push_back(
        {{"stage", h.stage}, {"step", h.step}, {"at_ms", h.at_ms}, {"note", h.note}});
  }
  nlohmann::json verdicts_json = nlohmann::json::array();
  for (const auto& v : verdicts) {
    verdicts_json.push_back({{"step", v.step},
                             {"weight", v.weight},
                             {"at_ms", v.at_ms},
                             {"verdict", v.verdict},
                             {"reason", v.reason},
                             {"report", v.report}});
  }
  return {{"id", id},
          {"service", service},
          {"version", version},
          {"baseline_version", baseline_version},
          {"artifact", artifact},
          {"image", image},
          {"baseline_artifact", baseline_artifact},
          {"baseline_image", baseline_image},
          {"options", OptionsJson(options)},
          {"stable_instances", stable_instances},
          {"stage", StageName(stage)},
          {"step_index", step_index},
          {"canary_weight", CurrentCanaryWeight()},
          {"phase", phase},
          {"stage_entered_ms", stage_entered_ms},
          {"phase_since_ms", phase_since_ms},
          {"step_start_metrics", step_start_metrics},
          {"step_passed", step_passed},
          {"promote_requested", promote_requested},
          {"abort_requested", abort_requested},
          {"rollback_outcome", StageName(rollback_outcome)},
          {"history", std::move(history_json)},
          {"verdicts", std::move(verdicts_json)},
          {"verdict_counts", verdict_counts},
          {"warnings", warnings},
          {"check_output", check_output},
          {"final_reason", final_reason},
          {"last_error", last_error},
          {"created_ms", created_ms},
          {"updated_ms", updated_ms}};
}

Result<RolloutRecord> RolloutRecord::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("rollout record: expected a JSON object");
  RolloutRecord r;
  try {
    Read(j, "id", &r.id);
    Read(j, "service", &r.service);
    Read(j, "version", &r.version);
    Read(j, "baseline_version", &r.baseline_version);
    if (r.id.empty() || r.service.empty() || r.version.empty() || r.baseline_version.empty()) {
      throw FieldError{"id/service/version/baseline_version", "required"};
    }
    Read(j, "artifact", &r.artifact);
    Read(j, "image", &r.image);
    Read(j, "baseline_artifact", &r.baseline_artifact);
    Read(j, "baseline_image", &r.baseline_image);
    if (j.contains("options")) r.options = OptionsFromJson(j["options"]);
    Read(j, "stable_instances", &r.stable_instances);
    r.stage = StageField(j, "stage", RolloutStage::kTestStarting);
    Read(j, "step_index", &r.step_index);
    Read(j, "phase", &r.phase);
    Read(j, "stage_entered_ms", &r.stage_entered_ms);
    Read(j, "phase_since_ms", &r.phase_since_ms);
    if (j.contains("step_start_metrics") && j["step_start_metrics"].is_object()) {
      r.step_start_metrics = j["step_start_metrics"];
    }
    Read(j, "step_passed", &r.step_passed);
    Read(j, "promote_requested", &r.promote_requested);
    Read(j, "abort_requested", &r.abort_requested);
    r.rollback_outcome = StageField(j, "rollback_outcome", RolloutStage::kRolledBack);
    if (auto it = j.find("history"); it != j.end() && it->is_array()) {
      for (const auto& h : *it) {
        StageTransition t;
        Read(h, "stage", &t.stage);
        Read(h, "step", &t.step);
        Read(h, "at_ms", &t.at_ms);
        Read(h, "note", &t.note);
        r.history.push_back(std::move(t));
      }
    }
    if (auto it = j.find("verdicts"); it != j.end() && it->is_array()) {
      for (const auto& v : *it) {
        VerdictEntry e;
        Read(v, "step", &e.step);
        Read(v, "weight", &e.weight);
        Read(v, "at_ms", &e.at_ms);
        Read(v, "verdict", &e.verdict);
        Read(v, "reason", &e.reason);
        if (v.contains("report")) e.report = v["report"];
        r.verdicts.push_back(std::move(e));
      }
    }
    Read(j, "verdict_counts", &r.verdict_counts);
    Read(j, "warnings", &r.warnings);
    Read(j, "check_output", &r.check_output);
    Read(j, "final_reason", &r.final_reason);
    Read(j, "last_error", &r.last_error);
    Read(j, "created_ms", &r.created_ms);
    Read(j, "updated_ms", &r.updated_ms);
  } catch (const FieldError& e) {
    return Status::InvalidArgument("rollout record " + (r.id.empty() ? "" : r.id + " ") + "field " +
                                   e.field + ": " + e.message);
  }
  return r;
}

}  // namespace canarymesh::bridge
