// LocalSupervisor: the local backend's two background threads, which keep its instances to
// their phases (restarts with backoff, stop signals on deadlines) and run their health checks.
// Thread-safe under the backend's mutex: both threads take it; *Locked callers must hold it.
//
// The phases (local_state.h) and the transitions between them are listed in local_supervisor.cc.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/local/local_backend_config.h"
#include "scheduler-bridge/local/local_launcher.h"
#include "scheduler-bridge/local/local_state.h"
#include "scheduler-bridge/local/local_state_store.h"

namespace canarymesh::bridge {

class LocalSupervisor {
 public:
  // All references must outlive the supervisor. `mu` guards `store`; `changed` is notified
  // when instances are gone or the owner changed, and wakes the supervisor for a tick at once.
  LocalSupervisor(const LocalBackendConfig& config, const LocalLauncher& launcher,
                  LocalStateStore& store, std::mutex& mu, std::condition_variable& changed);
  ~LocalSupervisor();  // Stop()
  LocalSupervisor(const LocalSupervisor&) = delete;
  LocalSupervisor& operator=(const LocalSupervisor&) = delete;

  void Start();
  // Tells both threads to stop and joins them; the caller must not hold `mu`.
  void Stop();
  bool StoppingLocked() const { return stopping_; }

  // Starts a new instance and its announcer; an instance that does not start counts as a crash
  // (backoff, then a restart).
  void LaunchLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms);
  // Scale down / Remove: the ticks withdraw the announcer, wait out the drain, stop the
  // instance and erase it.
  void BeginStopLocked(LocalInstance& inst);

 private:
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
  Status StartInstanceLocked(const InstanceGroupSpec& spec, LocalInstance& inst);
  Status StartAnnouncerLocked(const InstanceGroupSpec& spec, LocalInstance& inst, int64_t now_ms);
  void RetireLocked(ProcessIdentity& process, uint32_t grace_ms, int64_t now_ms);
  void ReapRetiredLocked(int64_t now_ms);
  uint32_t BackoffMs(uint32_t consecutive) const;

  const LocalBackendConfig& config_;
  const LocalLauncher& launcher_;
  LocalStateStore& store_;
  std::mutex& mu_;
  std::condition_variable& changed_;

  bool stopping_ = false;
  struct Retired {
    ProcessIdentity process;
    int64_t kill_at_ms;
  };
  std::vector<Retired> retired_;  // processes told to stop that we still reap or SIGKILL

  std::thread supervisor_;
  std::thread health_;
};

}  // namespace canarymesh::bridge
