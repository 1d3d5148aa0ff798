#include "scheduler-bridge/local/local_state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "scheduler-bridge/local/process_probe.h"

namespace canarymesh::bridge {

LocalStateStore::LocalStateStore(const std::string& state_dir)
    : state_dir_(state_dir),
      state_path_(state_dir + "/local-backend.json"),
      lock_path_(state_dir + "/lock") {}

LocalStateStore::~LocalStateStore() {
  if (dirty_) (void)Save();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock for the next owner
  lock_fd_ = -1;
}

Status LocalStateStore::TakeOwnership() {
  if (lock_fd_ >= 0) return Status::Ok();
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("open " + lock_path_ + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::Unavailable("state_dir " + state_dir_ +
                               " is owned by another local backend (pid " + pid +
                               "); this one adopts its instances when that one exits");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    LOG_WARN << "local backend: cannot record our pid in " << lock_path_ << ": "
             << std::strerror(errno);
  }
  lock_fd_ = fd;
  Status adopted = Adopt();
  if (!adopted.ok()) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    return adopted;
  }
  return Status::Ok();
}

Status LocalStateStore::Adopt() {
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
  dirty_ = true;
  return Save();
}

Status LocalStateStore::Save() {
  Status written = WriteFileAtomically(state_path_, SerializeLocalState(state_));
  if (!written.ok()) {
    LOG_ERROR << "local backend: state not saved: " << written.message();
    dirty_ = true;  // the supervisor retries
    return written;
  }
  dirty_ = false;
  return written;
}

}  // namespace canarymesh::bridge
