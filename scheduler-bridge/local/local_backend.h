// LocalBackend: the ClusterBackend that runs instances as processes on this machine (the
// embedded default). Each instance is started from the group's command template (argv split
// without a shell, see local_command_template.h) in its own session, with a companion
// `canarymesh announce` process that keeps it in the ServerSet while its health check passes, so
// that neither depends on the bridge's process or ZooKeeper session: both survive the bridge
// being SIGKILLed. What runs is recorded in <state_dir>/local-backend.json; a LocalBackend on the
// same state_dir adopts it (checking pid and start time, so recycled pids are never adopted).
// Only one LocalBackend owns a state_dir at a time (flock on <state_dir>/lock): another one waits
// in the background and adopts when the owner dies, and its calls fail with Unavailable meanwhile.
//
// A background supervisor thread restarts crashed instances (exponential backoff, counted; a
// crash loop past max_consecutive_restarts fails the group), and a health thread checks each
// instance itself (spec.health, HTTP or TCP) for Inspect(). Deploy and scale-up return once the
// processes are started; Remove and scale-down block until the stopped instances are gone
// (announcer stopped -> drain_delay_ms -> SIGTERM -> SIGKILL after stop_grace_period_ms).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/local/local_backend_config.h"
#include "scheduler-bridge/local/local_state.h"

namespace canarymesh::bridge {

// One instance as the local backend sees it; more than InstanceStatus carries.
struct LocalInstanceDetail {
  uint32_t index = 0;
  uint16_t port = 0;
  pid_t pid = 0;            // 0 while not running
  pid_t announcer_pid = 0;  // 0 when none
  std::string phase;        // InstancePhaseName
  bool healthy = false;
  uint32_t restarts = 0;
  uint32_t announcer_restarts = 0;
  std::string last_exit;
  std::string failure;
  std::string log_path;
};

class LocalBackend : public ClusterBackend {
 public:
  // Validates the config, creates state_dir and log_dir, starts the supervisor and health
  // threads. Ownership of state_dir is taken here when free, else later in the background.
  static Result<std::unique_ptr<LocalBackend>> Create(LocalBackendConfig config);
  // Stops supervising and releases state_dir; the instances keep running for the next owner.
  ~LocalBackend() override;
  LocalBackend(const LocalBackend&) = delete;
  LocalBackend& operator=(const LocalBackend&) = delete;

  std::string Name() const override { return "local"; }
  std::vector<std::string> Unsatisfiable(const InstanceGroupSpec& spec) const override;
  Status Deploy(const InstanceGroupSpec& spec) override;
  Status Scale(const std::string& service, const std::string& version, uint32_t instances) override;
  Result<GroupStatus> Inspect(const std::string& service, const std::string& version) override;
  Status Remove(const std::string& service, const std::string& version) override;

  // Every instance of the group, oldest first; NotFound when there is no such group.
  Result<std::vector<LocalInstanceDetail>> Instances(const std::string& service,
                                                     const std::string& version);
  bool OwnsStateDir();
  const LocalBackendConfig& config() const { return config_; }

 private:
  explicit LocalBackend(LocalBackendConfig config);

  // All *Locked methods need mu_ held.
  Status EnsureOwnedLocked();
  Status AdoptStateLocked();
  Status SaveStateLocked();
  Status WaitUntilStopped(std::unique_lock<std::mutex>& lock, const GroupKey& key,
                          const std::vector<uint32_t>& indices, uint32_t stop_grace_ms);

  // local_supervisor.cc: the lifecycle of one instance.
  void SuperviseLoop();
  void HealthLoop();
  void TickLocked(int64_t now_ms);
  bool TickInstanceLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms);  // false: erase
  void SuperviseAnnouncerLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms);
  void OnInstanceEndedLocked(LocalGroup& group, LocalInstance& inst, const std::string& how,
                             int64_t now_ms);
  void RespawnLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms);
  void BeginRestartKillLocked(LocalGroup& group, LocalInstance& inst, const std::string& why,
                              int64_t now_ms);
  void BeginStopLocked(LocalInstance& inst);
  void RetireLocked(ProcessIdentity& process, uint32_t grace_ms, int64_t now_ms);
  void ReapRetiredLocked(int64_t now_ms);
  uint32_t BackoffMs(uint32_t consecutive) const;

  // local_launch.cc: starting processes and choosing ports.
  Status ValidateSpec(const InstanceGroupSpec& spec) const;
  Status StartInstanceLocked(const InstanceGroupSpec& spec, LocalInstance& inst);
  Status StartAnnouncerLocked(const InstanceGroupSpec& spec, LocalInstance& inst, int64_t now_ms);
  Result<std::vector<uint16_t>> AllocatePortsLocked(size_t count) const;
  std::string LogPath(const InstanceGroupSpec& spec, uint32_t index, const char* suffix) const;
  std::string LogTail(const std::string& path) const;

  const LocalBackendConfig config_;
  const std::string state_path_;
  const std::string lock_path_;
  const std::string hostname_;

  std::mutex mu_;
  std::condition_variable changed_;  // state changed (instances gone, owner changed) or stopping
  bool stopping_ = false;
  int lock_fd_ = -1;  // >= 0: we own state_dir
  LocalState state_;
  bool state_dirty_ = false;  // a change the supervisor must still write
  struct Retired {
    ProcessIdentity process;
    int64_t kill_at_ms;
  };
  std::vector<Retired> retired_;  // processes told to stop that we still reap or SIGKILL

  std::thread supervisor_;
  std::thread health_;
};

}  // namespace canarymesh::bridge
