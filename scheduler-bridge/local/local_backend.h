// LocalBackend: the ClusterBackend that runs instances as processes on this machine (the
// embedded default), a facade over the launcher, the supervisor and the state store. Thread-safe.
//
// Each instance is started from the group's command template (argv split without a shell, see
// local_command_template.h) in its own session, with a companion `canarymesh announce` process
// that keeps it in the ServerSet while its health check passes, so that neither depends on the
// bridge's process or ZooKeeper session: both survive the bridge being SIGKILLed
// (local_launcher.h). What runs is recorded in <state_dir>/local-backend.json; a LocalBackend on
// the same state_dir adopts it (checking pid and start time, so recycled pids are never adopted).
// Only one LocalBackend owns a state_dir at a time (flock on <state_dir>/lock): another one waits
// in the background and adopts when the owner dies, and its calls fail with Unavailable meanwhile
// (local_state_store.h).
//
// A background supervisor thread restarts crashed instances (exponential backoff, counted; a
// crash loop past max_consecutive_restarts fails the group), and a health thread checks each
// instance itself (spec.health, HTTP or TCP) for Inspect() (local_supervisor.h). Deploy and
// scale-up return once the processes are started; Remove and scale-down block until the stopped
// instances are gone (announcer stopped -> drain_delay_ms -> SIGTERM -> SIGKILL after
// stop_grace_period_ms). One mutex, held here and by the supervisor's threads, guards it all.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/local/local_backend_config.h"
#include "scheduler-bridge/local/local_launcher.h"
#include "scheduler-bridge/local/local_state.h"
#include "scheduler-bridge/local/local_state_store.h"
#include "scheduler-bridge/local/local_supervisor.h"

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

  // Both need mu_ held.
  Status EnsureOwnedLocked();
  Status WaitUntilStopped(std::unique_lock<std::mutex>& lock, const GroupKey& key,
                          const std::vector<uint32_t>& indices, uint32_t stop_grace_ms);

  const LocalBackendConfig config_;
  const std::string hostname_;
  const LocalLauncher launcher_;

  std::mutex mu_;
  std::condition_variable changed_;  // state changed (instances gone, owner changed) or stopping
  LocalStateStore store_;            // guarded by mu_
  LocalSupervisor supervisor_;       // declared last: its threads stop before the rest goes
};

}  // namespace canarymesh::bridge
