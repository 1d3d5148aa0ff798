#include "scheduler-bridge/local/local_backend.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "core/clock.h"
#include "core/logging.h"
#include "scheduler-bridge/local/local_placement.h"
#include "scheduler-bridge/local/process_probe.h"

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
  backend->supervisor_ = std::thread([b = backend.get()] { b->SuperviseLoop(); });
  backend->health_ = std::thread([b = backend.get()] { b->HealthLoop(); });
  return backend;
}

LocalBackend::LocalBackend(LocalBackendConfig config)
    : config_(std::move(config)),
      state_path_(config_.state_dir + "/local-backend.json"),
      lock_path_(config_.state_dir + "/lock"),
      hostname_(LocalHostname()) {}

LocalBackend::~LocalBackend() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  if (health_.joinable()) health_.join();
  std::lock_guard lock(mu_);
  if (state_dirty_) (void)SaveStateLocked();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock for the next owner
  lock_fd_ = -1;
}

bool LocalBackend::OwnsStateDir() {
  std::lock_guard lock(mu_);
  return lock_fd_ >= 0;
}

Status LocalBackend::EnsureOwnedLocked() {
  if (lock_fd_ >= 0) return Status::Ok();
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("open " + lock_path_ + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::Unavailable("state_dir " + config_.state_dir +
                               " is owned by another local backend (pid " + pid +
                               "); this one adopts its instances when that one exits");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    LOG_WARN << "local backend: cannot record our pid in " << lock_path_ << ": "
             << std::strerror(errno);
  }
  lock_fd_ = fd;
  Status adopted = AdoptStateLocked();
  if (!adopted.ok()) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    return adopted;
  }
  changed_.notify_all();
  return Status::Ok();
}

Status LocalBackend::AdoptStateLocked() {
  auto text = ReadFileIfExists(state_path_);
  if (!text.ok()) return text.status();
  const std::string boot_id = BootId();
  if (!text.value().has_value()) {
    state_ = LocalState{boot_id, {}};
    return Status::Ok();
  }
  auto parsed = ParseLocalState(**text);
  if (!parsed.ok()) {
    return Status::Internal(state_path_ + ": " + parsed.status().message() +
                            " (it lists processes that may still run: fix it or move it aside)");
  }
  LocalState state = std::move(parsed.value());
  const bool rebooted = state.boot_id != boot_id;
  const int64_t now = SteadyMillis();
  size_t instances = 0;
  for (auto& [key, group] : state.groups) {
    for (LocalInstance& inst : group.instances) {
      ++instances;
      if (rebooted) {  // pids from another boot belong to strangers now
        inst.process = {};
        inst.announcer = {};
      }
      // Deadlines restart from now; a process that is not ours any more shows up as ended on
      // the first tick (ProbeProcess compares start times) and is restarted like a crash.
      inst.runtime = InstanceRuntime{};
      inst.runtime.generation = 1;
      inst.runtime.phase_started_ms = now;
      inst.runtime.next_check_ms = now;
      inst.runtime.announcer_started_ms = now;
      if (inst.phase == InstancePhase::kBackoff) inst.runtime.deadline_ms = now;
    }
  }
  state.boot_id = boot_id;
  LOG_INFO << "local backend: adopted " << instances << " instances in " << state.groups.size()
           << " groups from " << state_path_
           << (rebooted ? " (after a reboot: restarting them)" : "");
  state_ = std::move(state);
  state_dirty_ = true;
  return SaveStateLocked();
}

Status LocalBackend::SaveStateLocked() {
  Status written = WriteFileAtomically(state_path_, SerializeLocalState(state_));
  if (!written.ok()) {
    LOG_ERROR << "local backend: state not saved: " << written.message();
    state_dirty_ = true;  // the supervisor retries
    return written;
  }
  state_dirty_ = false;
  return written;
}

std::vector<std::string> LocalBackend::Unsatisfiable(const InstanceGroupSpec& spec) const {
  return LocalPlacementProblems(spec, hostname_);
}

Status LocalBackend::Deploy(const InstanceGroupSpec& spec) {
  if (Status valid = ValidateSpec(spec); !valid.ok()) return valid;
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  const GroupKey key{spec.service, spec.version};
  if (auto it = state_.groups.find(key); it != state_.groups.end()) {
    if (it->second.removing) {
      return Status::Unavailable(
          "group " + GroupName(spec.service, spec.version) +
          " is still being removed; deploy again once Inspect shows it gone");
    }
    return Status::Ok();  // idempotent: a resumed rollout deploys again
  }
  auto ports = AllocatePortsLocked(spec.instances);
  if (!ports.ok()) return ports.status();

  LocalGroup& group = state_.groups[key];
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
  Status saved = SaveStateLocked();
  for (LocalInstance& inst : group.instances) {
    Status started = StartInstanceLocked(group.spec, inst);
    if (!started.ok()) {
      OnInstanceEndedLocked(group, inst, "did not start: " + started.message(), now);
      continue;
    }
    (void)StartAnnouncerLocked(group.spec, inst, now);
  }
  LOG_INFO << "local backend: deployed " << GroupName(spec.service, spec.version) << " with "
           << spec.instances << " instances";
  Status saved_again = SaveStateLocked();
  return saved.ok() ? saved_again : saved;
}

Status LocalBackend::Scale(const std::string& service, const std::string& version,
                           uint32_t instances) {
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  const GroupKey key{service, version};
  auto it = state_.groups.find(key);
  if (it == state_.groups.end() || it->second.removing) {
    return Status::NotFound("no local group " + GroupName(service, version));
  }
  LocalGroup& group = it->second;
  std::vector<LocalInstance*> active;
  for (LocalInstance& inst : group.instances) {
    if (!IsStopping(inst)) active.push_back(&inst);
  }
  const int64_t now = SteadyMillis();
  if (instances > active.size()) {
    auto ports = AllocatePortsLocked(instances - active.size());
    if (!ports.ok()) return ports.status();
    group.spec.instances = instances;
    for (uint16_t port : ports.value()) {
      LocalInstance& inst = group.instances.emplace_back();
      inst.index = group.next_index++;
      inst.port = port;
      inst.runtime.phase_started_ms = now;
      Status started = StartInstanceLocked(group.spec, inst);
      if (!started.ok()) {
        OnInstanceEndedLocked(group, inst, "did not start: " + started.message(), now);
        continue;
      }
      (void)StartAnnouncerLocked(group.spec, inst, now);
    }
    LOG_INFO << "local backend: scaled " << GroupName(service, version) << " up to " << instances;
    return SaveStateLocked();
  }
  group.spec.instances = instances;
  std::vector<uint32_t> stopping;
  for (size_t i = instances; i < active.size(); ++i) {  // the newest are last
    BeginStopLocked(*active[i]);
    stopping.push_back(active[i]->index);
  }
  Status saved = SaveStateLocked();
  if (stopping.empty()) return saved;
  LOG_INFO << "local backend: scaling " << GroupName(service, version) << " down to " << instances;
  changed_.notify_all();
  return WaitUntilStopped(lock, key, stopping, group.spec.stop_grace_period_ms);
}

Status LocalBackend::Remove(const std::string& service, const std::string& version) {
  std::unique_lock lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  const GroupKey key{service, version};
  auto it = state_.groups.find(key);
  if (it == state_.groups.end()) return Status::Ok();
  LocalGroup& group = it->second;
  const uint32_t grace = group.spec.stop_grace_period_ms;
  group.removing = true;
  std::vector<uint32_t> stopping;
  for (LocalInstance& inst : group.instances) {
    if (!IsStopping(inst)) BeginStopLocked(inst);
    stopping.push_back(inst.index);
  }
  if (group.instances.empty()) state_.groups.erase(it);
  Status saved = SaveStateLocked();
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
  auto remaining = [&]() {
    std::vector<uint32_t> left;
    auto it = state_.groups.find(key);
    if (it == state_.groups.end()) return left;
    for (const LocalInstance& inst : it->second.instances) {
      for (uint32_t index : indices) {
        if (inst.index == index) left.push_back(index);
      }
    }
    return left;
  };
  bool done = changed_.wait_for(lock, std::chrono::milliseconds(budget),
                                [&] { return stopping_ || lock_fd_ < 0 || remaining().empty(); });
  if (done && remaining().empty()) return Status::Ok();
  return Status::Unavailable(GroupName(key.first, key.second) + ": " +
                             std::to_string(remaining().size()) +
                             " instances still stopping; the supervisor keeps at it");
}

Result<GroupStatus> LocalBackend::Inspect(const std::string& service, const std::string& version) {
  std::lock_guard lock(mu_);
  if (Status owned = EnsureOwnedLocked(); !owned.ok()) return owned;
  GroupStatus status;
  auto it = state_.groups.find({service, version});
  if (it == state_.groups.end()) return status;
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
  auto it = state_.groups.find({service, version});
  if (it == state_.groups.end())
    return Status::NotFound("no local group " + GroupName(service, version));
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
    detail.log_path = LogPath(it->second.spec, inst.index, ".log");
    out.push_back(std::move(detail));
  }
  return out;
}

}  // namespace canarymesh::bridge
