#include "scheduler-bridge/rollout/bridge_service.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/clock.h"
#include "core/logging.h"
#include "scheduler-bridge/rollout/bridge_config.h"

namespace canarymesh::bridge {
namespace {

CommandOutcome Error(int status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

bool IsVersionName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// When a record reached its terminal stage (its last transition), for "newest promoted".
int64_t FinishedAt(const RolloutRecord& r) {
  return r.history.empty() ? r.updated_ms : r.history.back().at_ms;
}

// Reads the request's rollout options over the service's defaults; errors name the field.
Status ReadOptions(const nlohmann::json& req, RolloutOptions* o) {
  try {
    if (req.contains("steps")) o->steps = req["steps"].get<std::vector<uint32_t>>();
    if (req.contains("pause_before_promote"))
      o->pause_before_promote = req["pause_before_promote"].get<bool>();
    if (req.contains("min_step_requests"))
      o->min_step_requests = req["min_step_requests"].get<uint64_t>();
    if (req.contains("min_step_duration_ms"))
      o->min_step_duration_ms = req["min_step_duration_ms"].get<uint64_t>();
    if (req.contains("step_timeout_ms"))
      o->step_timeout_ms = req["step_timeout_ms"].get<uint64_t>();
    if (req.contains("integration_check"))
      o->integration_check = req["integration_check"].get<std::string>();
    if (req.contains("instances")) o->instances = req["instances"].get<uint32_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad field type: ") + e.what());
  }
  if (o->instances > 10'000) return Status::InvalidArgument("instances: at most 10000");
  return ValidateRolloutOptions(*o, "");
}

}  // namespace

nlohmann::json RolloutSummaryJson(const RolloutRecord& r) {
  return {{"id", r.id},
          {"service", r.service},
          {"version", r.version},
          {"baseline_version", r.baseline_version},
          {"stage", StageName(r.stage)},
          {"step_index", r.step_index},
          {"steps", r.options.steps},
          {"canary_weight", r.CurrentCanaryWeight()},
          {"final_reason", r.final_reason},
          {"last_error", r.last_error},
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms}};
}

BridgeService::BridgeService(RolloutStore& store, Leadership& leadership,
                             const RolloutMachine& machine, uint32_t tick_interval_ms)
    : store_(store),
      leadership_(leadership),
      machine_(machine),
      tick_interval_ms_(tick_interval_ms) {}

BridgeService::~BridgeService() { Stop(); }

void BridgeService::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BridgeService::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BridgeService::Loop() {
  pthread_setname_np(pthread_self(), "cm-bridge-tick");
  std::unique_lock lock(loop_mu_);
  while (!stopping_) {
    lock.unlock();
    Tick(UnixMillis());
    lock.lock();
    loop_cv_.wait_for(lock, std::chrono::milliseconds(tick_interval_ms_),
                      [this] { return stopping_; });
  }
}

void BridgeService::Tick(int64_t now) {
  ticks_++;
  const bool leader = leadership_.IsLeader();
  if (leader != was_leader_) {
    LOG_INFO << "bridge " << leadership_.SelfId()
             << (leader ? ": leading" : ": following " + leadership_.LeaderId());
    was_leader_ = leader;
    stable_ensured_.clear();
  }
  if (!leader) return;
  auto listed = store_.List();
  if (!listed.ok()) {
    store_errors_++;
    LOG_WARN << "bridge: cannot list rollouts: " << listed.status().message();
    return;
  }
  std::vector<RolloutRecord> records;
  std::vector<int32_t> versions;
  for (const StoredRecord& stored : listed.value()) {
    auto r = RolloutRecord::FromJson(stored.record);
    if (!r.ok()) {
      LOG_WARN << "bridge: skipping unreadable rollout " << stored.id << ": "
               << r.status().message();
      continue;
    }
    records.push_back(std::move(r.value()));
    versions.push_back(stored.version);
  }
  EnsureStableVersions(records);
  for (size_t i = 0; i < records.size(); ++i) {
    const RolloutRecord& before = records[i];
    if (IsTerminal(before.stage)) continue;
    if (!leadership_.IsLeader()) return;  // lost it mid-pass: stop acting at once
    RolloutRecord after = machine_.Advance(before, now);
    after.updated_ms = before.updated_ms;
    if (after.ToJson() == before.ToJson()) continue;  // nothing happened: no write
    after.updated_ms = now;
    auto written = store_.CompareAndSet(after.id, after.ToJson(), versions[i]);
    if (!written.ok()) {
      // Someone (an API command, another bridge) wrote first: the next tick redoes this step,
      // which is safe because every action is idempotent.
      conflicts_++;
      LOG_DEBUG << "bridge: rollout " << after.id << " not written: " << written.status().message();
    }
  }
}

StableVersion BridgeService::StableFrom(const RolloutServiceConfig& svc,
                                        const std::vector<RolloutRecord>& records) {
  StableVersion stable{svc.stable_version, svc.artifact, svc.image};
  int64_t newest = -1;
  for (const RolloutRecord& r : records) {
    if (r.service == svc.name && r.stage == RolloutStage::kPromoted && FinishedAt(r) > newest) {
      newest = FinishedAt(r);
      stable = {r.version, r.artifact, r.image};
    }
  }
  return stable;
}

Result<StableVersion> BridgeService::CurrentStable(const std::string& service) {
  const RolloutServiceConfig* svc = machine_.FindService(service);
  if (svc == nullptr) return Status::NotFound("no service " + service + " in the bridge's config");
  auto listed = store_.List();
  if (!listed.ok()) return listed.status();
  std::vector<RolloutRecord> records;
  for (const StoredRecord& stored : listed.value()) {
    auto r = RolloutRecord::FromJson(stored.record);
    if (r.ok()) records.push_back(std::move(r.value()));
  }
  return StableFrom(*svc, records);
}

void BridgeService::EnsureStableVersions(const std::vector<RolloutRecord>& records) {
  std::set<std::string> busy;
  for (const RolloutRecord& r : records) {
    if (!IsTerminal(r.stage)) busy.insert(r.service);
  }
  for (const RolloutServiceConfig& svc : machine_.services()) {
    if (stable_ensured_[svc.name] || busy.count(svc.name)) continue;
    const StableVersion stable = StableFrom(svc, records);
    Status s = machine_.EnsureStable(svc.name, stable.version, stable.artifact, stable.image);
    if (s.ok()) {
      stable_ensured_[svc.name] = true;
      LOG_INFO << "bridge: " << svc.name << " runs its stable version " << stable.version;
    } else {
      LOG_WARN << "bridge: cannot start " << svc.name << " " << stable.version << ": "
               << s.message();
    }
  }
}

CommandOutcome BridgeService::NotLeader() const {
  return {503,
          {{"error", "this bridge is not the leader; send changes to the leader"},
           {"leader", leadership_.LeaderId()},
           {"self", leadership_.SelfId()}}};
}

CommandOutcome BridgeService::Create(const nlohmann::json& req, int64_t now) {
  if (!leadership_.IsLeader()) return NotLeader();
  if (!req.is_object()) return Error(400, "expected a JSON object");
  static const std::set<std::string> kKnown = {"service",
                                               "version",
                                               "artifact",
                                               "image",
                                               "instances",
                                               "steps",
                                               "pause_before_promote",
                                               "min_step_requests",
                                               "min_step_duration_ms",
                                               "step_timeout_ms",
                                               "integration_check"};
  for (const auto& [key, value] : req.items()) {
    if (!kKnown.count(key)) return Error(400, "unknown field " + key);
  }
  if (!req.contains("service") || !req["service"].is_string())
    return Error(400, "service: required (a string)");
  if (!req.contains("version") || !req["version"].is_string())
    return Error(400, "version: required (a string)");
  RolloutRecord r;
  r.service = req["service"].get<std::string>();
  r.version = req["version"].get<std::string>();
  const RolloutServiceConfig* svc = machine_.FindService(r.service);
  if (svc == nullptr) return Error(400, "service: " + r.service + " is not in the bridge's config");
  if (!IsVersionName(r.version)) return Error(400, "version: must be 1-63 of [A-Za-z0-9._-]");
  for (const char* key : {"artifact", "image"}) {
    if (req.contains(key) && !req[key].is_string())
      return Error(400, std::string(key) + ": expected a string");
  }
  r.artifact = req.value("artifact", std::string());
  r.image = req.value("image", std::string());
  r.options = svc->defaults;
  if (Status s = ReadOptions(req, &r.options); !s.ok()) return Error(400, s.message());

  std::lock_guard lock(create_mu_);
  auto listed = store_.List();
  if (!listed.ok()) return Error(503, "rollout store: " + listed.status().message());
  std::vector<RolloutRecord> records;
  for (const StoredRecord& stored : listed.value()) {
    auto existing = RolloutRecord::FromJson(stored.record);
    if (!existing.ok()) continue;
    if (existing->service == r.service && !IsTerminal(existing->stage)) {
      return {409,
              {{"error", "rollout " + existing->id + " of " + r.service + " is in progress (" +
                             std::string(StageName(existing->stage)) +
                             "); one rollout per service at a time"},
               {"rollout", existing->id}}};
    }
    records.push_back(std::move(existing.value()));
  }
  const StableVersion stable = StableFrom(*svc, records);
  if (stable.version == r.version)
    return Error(409, r.version + " is already the stable version of " + r.service);
  r.baseline_version = stable.version;
  r.baseline_artifact = stable.artifact;
  r.baseline_image = stable.image;
  r.id = r.service + "-" + r.version + "-" + std::to_string(now);
  r.created_ms = now;
  r.updated_ms = now;
  EnterStage(r, RolloutStage::kTestStarting, now,
             "requested: " + r.baseline_version + " -> " + r.version + " on " +
                 std::to_string(r.options.steps.size()) + " canary steps");
  auto written = store_.CompareAndSet(r.id, r.ToJson(), -1);
  if (!written.ok()) return Error(503, "rollout store: " + written.status().message());
  nlohmann::json body = RolloutSummaryJson(r);
  return {201, std::move(body)};
}

CommandOutcome BridgeService::Modify(
    const std::string& id,
    const std::function<std::optional<CommandOutcome>(RolloutRecord&)>& change) {
  if (!leadership_.IsLeader()) return NotLeader();
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto stored = store_.Get(id);
    if (!stored.ok()) return Error(503, "rollout store: " + stored.status().message());
    if (!stored.value()) return Error(404, "no rollout " + id);
    auto r = RolloutRecord::FromJson(stored.value()->record);
    if (!r.ok()) return Error(500, r.status().message());
    if (auto refused = change(r.value())) return *refused;
    auto written = store_.CompareAndSet(id, r->ToJson(), stored.value()->version);
    if (written.ok()) return {200, RolloutSummaryJson(r.value())};
    if (written.status().message().find("conflict") == std::string::npos) {
      return Error(503, "rollout store: " + written.status().message());
    }
  }
  return Error(503, "rollout " + id + " kept changing; try again");
}

CommandOutcome BridgeService::Promote(const std::string& id) {
  return Modify(id, [](RolloutRecord& r) -> std::optional<CommandOutcome> {
    if (IsTerminal(r.stage))
      return Error(409,
                   "rollout " + r.id + " has finished (" + std::string(StageName(r.stage)) + ")");
    if (r.stage == RolloutStage::kRollingBack || r.abort_requested) {
      return Error(409, "rollout " + r.id + " is rolling back");
    }
    r.promote_requested = true;
    return std::nullopt;
  });
}

CommandOutcome BridgeService::Abort(const std::string& id) {
  return Modify(id, [](RolloutRecord& r) -> std::optional<CommandOutcome> {
    if (IsTerminal(r.stage))
      return Error(409,
                   "rollout " + r.id + " has finished (" + std::string(StageName(r.stage)) + ")");
    if (r.stage == RolloutStage::kPromoting && (r.phase == "remove_old" || r.phase == "finalize")) {
      return Error(409, "rollout " + r.id + " is removing the old version: too late to abort");
    }
    r.abort_requested = true;
    return std::nullopt;
  });
}

CommandOutcome BridgeService::Get(const std::string& id) {
  auto stored = store_.Get(id);
  if (!stored.ok()) return Error(503, "rollout store: " + stored.status().message());
  if (!stored.value()) return Error(404, "no rollout " + id);
  return {200, stored.value()->record};
}

CommandOutcome BridgeService::List() {
  auto listed = store_.List();
  if (!listed.ok()) return Error(503, "rollout store: " + listed.status().message());
  std::vector<RolloutRecord> records;
  for (const StoredRecord& stored : listed.value()) {
    auto r = RolloutRecord::FromJson(stored.record);
    if (r.ok()) records.push_back(std::move(r.value()));
  }
  std::sort(records.begin(), records.end(), [](const RolloutRecord& a, const RolloutRecord& b) {
    return a.created_ms > b.created_ms;
  });
  nlohmann::json out = nlohmann::json::array();
  for (const RolloutRecord& r : records) out.push_back(RolloutSummaryJson(r));
  return {200,
          {{"rollouts", std::move(out)},
           {"leader", leadership_.LeaderId()},
           {"self", leadership_.SelfId()}}};
}

}  // namespace canarymesh::bridge
