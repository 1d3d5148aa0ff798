#include "scheduler-bridge/local/local_backend.h"

#include <unistd.h>

#include <climits>
#include <filesystem>

#include "core/clock.h"
#include "core/logging.h"
#include "scheduler-bridge/local/local_placement.h"
#include "scheduler-bridge/local/process_spawn.h"

namespace canarymesh::bridge {
namespace {

std::string GroupName(const std::string& service, const std::string& version) {
  return service + "/" + version;
}

bool IsStopping(const LocalInstance& inst) {
  return inst.phase == InstancePhase::kDraining || inst.phase == InstancePhase::kStopping;
}

std::string SelfExecutable() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  return std::string(path, static_cast<size_t>(n));
}

Status MakeDirectory(const std::string& dir, const char* field) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return Status::IoError(std::string(field) + ": cannot create " + dir + ": " + error.message());
  if (::access(dir.c_str(), W_OK) != 0) {
    return Status::IoError(std::string(field) + ": " + dir + " is not writable");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::Create(LocalBackendConfig config) {
  if (Status valid = ValidateLocalBackendConfig(config); !valid.ok()) return valid;
  if (config.log_dir.empty()) config.log_dir = config.state_dir + "/logs";
  if (config.announce_mode == LocalBackendConfig::AnnounceMode::kCompanion) {
    if (config.zookeeper.connect.empty()) {
      return Status::InvalidArgument(
          "announce.zookeeper.connect: required to announce instances (or announce: self)");
    }
    if (config.canarymesh_binary.empty()) config.canarymesh_binary = SelfExecutable();
    auto binary = ResolveProgram(config.canarymesh_binary);
    if (!binary.ok())
      return Status::InvalidArgument("canarymesh_binary: " + binary.status().message());
    config.canarymesh_binary = binary.value();
  }
  if (Status made = MakeDirectory(config.state_dir, "state_dir"); !made.ok()) return made;
  if (Status made = MakeDirectory(config.log_dir, "log_dir"); !made.ok()) return made;

  std::unique_ptr<LocalBackend> backend(new LocalBackend(std::move(config)));
  {
    std::lock_guard lock(backend->mu_);
    Status owned = backend->EnsureOwnedLocked();
    // Unavailable: another owner is alive; the supervisor keeps trying. Anything else (a state
    // file we cannot read) needs an operator.
    if (!owned.ok() && owned.code() != Status::Code::kUnavailable) return owned;
  }
  backend->supervisor_.Start();
  return backend;
}

LocalBackend::LocalBackend(LocalBackendConfig config)
    : config_(std::move(config)),
      hostname_(LocalHostname()),
      launcher_(config_),
      store_(config_.state_dir),
      supervisor_(config_, launcher_, store_, mu_, changed_) {}

// The supervisor's threads stop first; the store then saves what they changed last and releases
// state_dir.
LocalBackend::~LocalBackend() { supervisor_.Stop(); }

bool LocalBackend::OwnsStateDir() {
  std::lock_guard lock(mu_);
  return store_.owned();
}

Status LocalBackend::EnsureOwnedLocked() {
  if (store_.owned()) return Status::Ok();
  Status owned = store_.TakeOwnership();
  if (owned.ok()) changed_.notify_all();
  return owned;
}

std::vector<std::string> LocalBackend::Unsatisfiable(const InstanceGroupSpec& spec) const {
  return LocalPlacementProblems(spec, hostname_);
}

Status LocalBackend::Deploy(const InstanceGroupSpec& spec) {
  if (Status valid = launcher_.ValidateSpec(spec); !valid.ok()) return valid;
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  auto& groups = store_.state().groups;
  const GroupKey key{spec.service, spec.version};
  if (auto it = groups.find(key); it != groups.end()) {
    if (it->second.removing) {
      return Status::Unavailable(
          "group " + GroupName(spec.service, spec.version) +
          " is still being removed; deploy again once Inspect shows it gone");
    }
    return Status::Ok();  // idempotent: a resumed rollout deploys again
  }
  auto ports = launcher_.AllocatePorts(store_.state(), spec.instances);
  if (!ports.ok()) return ports.status();

  LocalGroup& group = groups[key];
  group.spec = spec;
  const int64_t now = SteadyMillis();
  for (uint16_t port : ports.value()) {
    LocalInstance inst;
    inst.index = group.next_index++;
    inst.port = port;
    inst.runtime.phase_started_ms = now;
    group.instances.push_back(std::move(inst));
  }
  // Recorded before anything starts, then again with the pids: a bridge killed in between finds
  // instances without a process and starts them.
  Status saved = store_.Save();
  for (LocalInstance& inst : group.instances) supervisor_.LaunchLocked(group, inst, now);
  LOG_INFO << "local backend: deployed " << GroupName(spec.service, spec.version) << " with "
           << spec.instances << " instances";
  Status saved_again = store_.Save();
  return saved.ok() ? saved_again : saved;
}

Status LocalBackend::Scale(const std::string& service, const std::string& version,
                           uint32_t instances) {
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  auto& groups = store_.state().groups;
  const GroupKey key{service, version};
  auto it = groups.find(key);
  if (it == groups.end() || it->second.removing) {
    return Status::NotFound("no local group " + GroupName(service, version));
  }
  LocalGroup& group = it->second;
  std::vector<LocalInstance*> active;
  for (LocalInstance& inst : group.instances) {
    if (!IsStopping(inst)) active.push_back(&inst);
  }
  const int64_t now = SteadyMillis();
  if (instances > active.size()) {
    auto ports = launcher_.AllocatePorts(store_.state(), instances - active.size());
    if (!ports.ok()) return ports.status();
    group.spec.instances = instances;
    for (uint16_t port : ports.value()) {
      LocalInstance& inst = group.instances.emplace_back();
      inst.index = group.next_index++;
      inst.port = port;
      inst.runtime.phase_started_ms = now;
      supervisor_.LaunchLocked(group, inst, now);
    }
    LOG_INFO << "local backend: scaled " << GroupName(service, version) << " up to " << instances;
    return store_.Save();
  }
  group.spec.instances = instances;
  std::vector<uint32_t> stopping;
  for (size_t i = instances; i < active.size(); ++i) {  // the newest are last
    supervisor_.BeginStopLocked(*active[i]);
    stopping.push_back(active[i]->index);
  }
  Status saved = store_.Save();
  if (stopping.empty()) return saved;
  LOG_INFO << "local backend: scaling " << GroupName(service, version) << " down to " << instances;
  changed_.notify_all();
  return WaitUntilStopped(lock, key, stopping, group.spec.stop_grace_period_ms);
}

Status LocalBackend::Remove(const std::string& service, const std::string& version) {
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  auto& groups = store_.state().groups;
  const GroupKey key{service, version};
  auto it = groups.find(key);
  if (it == groups.end()) return Status::Ok();
  LocalGroup& group = it->second;
  const uint32_t grace = group.spec.stop_grace_period_ms;
  group.removing = true;
  std::vector<uint32_t> stopping;
  for (LocalInstance& inst : group.instances) {
    if (!IsStopping(inst)) supervisor_.BeginStopLocked(inst);
    stopping.push_back(inst.index);
  }
  if (group.instances.empty()) groups.erase(it);
  Status saved = store_.Save();
  LOG_INFO << "local backend: removing " << GroupName(service, version);
  changed_.notify_all();
  Status stopped = stopping.empty() ? Status::Ok() : WaitUntilStopped(lock, key, stopping, grace);
  return stopped.ok() ? saved : stopped;
}

Status LocalBackend::WaitUntilStopped(std::unique_lock<std::mutex>& lock, const GroupKey& key,
                                      const std::vector<uint32_t>& indices,
                                      uint32_t stop_grace_ms) {
  // Announcer: SIGTERM, SIGKILL after the grace; drain; instance: SIGTERM, SIGKILL after the
  // grace; plus a few supervisor ticks and slack for a loaded machine.
  const int64_t budget = int64_t{config_.drain_delay_ms} + 2 * int64_t{stop_grace_ms} +
                         10 * int64_t{config_.supervise_interval_ms} + 10'000;
  const auto& groups = store_.state().groups;
  auto remaining = [&]() {
    std::vector<uint32_t> left;
    auto it = groups.find(key);
    if (it == groups.end()) return left;
    for (const LocalInstance& inst : it->second.instances) {
      for (uint32_t index : indices) {
        if (inst.index == index) left.push_back(index);
      }
    }
    return left;
  };
  bool done = changed_.wait_for(lock, std::chrono::milliseconds(budget), [&] {
    return supervisor_.StoppingLocked() || !store_.owned() || remaining().empty();
  });
  if (done && remaining().empty()) return Status::Ok();
  return Status::Unavailable(GroupName(key.first, key.second) + ": " +
                             std::to_string(remaining().size()) +
                             " instances still stopping; the supervisor keeps at it");
}

Result<GroupStatus> LocalBackend::Inspect(const std::string& service, const std::string& version) {
  std::lock_guard lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  auto& groups = store_.state().groups;
  GroupStatus status;
  auto it = groups.find({service, version});
  if (it == groups.end()) return status;
  const LocalGroup& group = it->second;
  status.exists = true;
  status.desired = group.removing ? 0 : group.spec.instances;
  uint32_t active = 0;
  for (const LocalInstance& inst : group.instances) {
    InstanceStatus out;
    out.id = group.spec.service + "-" + group.spec.version + "-" + std::to_string(inst.index) +
             "@" + std::to_string(inst.process.pid);
    out.host = config_.host;
    out.port = inst.port;
    const bool alive = inst.process.pid != 0 && (inst.phase == InstancePhase::kStarting ||
                                                 inst.phase == InstancePhase::kRunning);
    out.healthy = alive && inst.phase == InstancePhase::kRunning && inst.runtime.healthy;
    out.state = InstancePhaseName(inst.phase);
    if (!IsStopping(inst)) ++active;
    if (alive) ++status.running;
    if (out.healthy) ++status.healthy;
    if (inst.phase != InstancePhase::kRunning && inst.phase != InstancePhase::kFailed) {
      status.deploying = true;
    }
    if (!inst.failure.empty()) {
      status.failure += (status.failure.empty() ? "" : "; ") + inst.failure;
    }
    status.instances.push_back(std::move(out));
  }
  if (active != status.desired || group.removing) status.deploying = true;
  return status;
}

Result<std::vector<LocalInstanceDetail>> LocalBackend::Instances(const std::string& service,
                                                                 const std::string& version) {
  std::lock_guard lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  auto& groups = store_.state().groups;
  auto it = groups.find({service, version});
  if (it == groups.end()) return Status::NotFound("no local group " + GroupName(service, version));
  std::vector<LocalInstanceDetail> out;
  for (const LocalInstance& inst : it->second.instances) {
    LocalInstanceDetail detail;
    detail.index = inst.index;
    detail.port = inst.port;
    detail.pid = inst.process.pid;
    detail.announcer_pid = inst.announcer.pid;
    detail.phase = InstancePhaseName(inst.phase);
    detail.healthy = inst.phase == InstancePhase::kRunning && inst.runtime.healthy;
    detail.restarts = inst.restarts;
    detail.announcer_restarts = inst.announcer_restarts;
    detail.last_exit = inst.last_exit;
    detail.failure = inst.failure;
    detail.log_path = launcher_.LogPath(it->second.spec, inst.index, ".log");
    out.push_back(std::move(detail));
  }
  return out;
}

}  // namespace canarymesh::bridge
