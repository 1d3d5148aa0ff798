// The local backend's record of what it runs: per group (service + version) the spec and, per
// instance, its port, process and announcer identities, restarts and lifecycle phase. Written as
// one JSON file under state_dir after every change (temp file + fsync + rename), so a bridge that
// starts on the same state_dir (after this one was SIGKILLed) adopts the processes. Runtime-only
// fields (deadlines, health counters) are not persisted. Thread-compatible: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/local/process_spawn.h"

namespace canarymesh::bridge {

// One instance's lifecycle; the supervisor moves it along (see local_supervisor.cc).
enum class InstancePhase {
  kStarting,     // process started, not yet healthy, within its grace period
  kRunning,      // passed a health check since it (re)started
  kBackoff,      // process ended; restarts at restart_at
  kRestartKill,  // unhealthy past its limits: SIGTERM sent, SIGKILL at the deadline, then restart
  kFailed,       // crashed more than max_consecutive_restarts times in a row: left stopped
  kDraining,     // being stopped: announcer told to withdraw; instance SIGTERMed after the drain
  kStopping,     // being stopped: instance SIGTERMed, SIGKILL at the deadline, then forgotten
};

const char* InstancePhaseName(InstancePhase phase);
std::optional<InstancePhase> ParseInstancePhase(const std::string& name);

// Not persisted: rebuilt from "now" when the state is loaded.
struct InstanceRuntime {
  uint64_t generation = 0;       // bumped per (re)start, so a late health result is not misapplied
  int64_t phase_started_ms = 0;  // steady clock
  int64_t deadline_ms = 0;       // phase-specific: restart time, drain end, SIGKILL time
  bool term_sent = false;
  bool drain_started = false;  // kDraining: the announcer is gone and the drain delay runs
  std::string kill_reason;     // kRestartKill: why, for last_exit
  bool healthy = false;
  uint32_t check_failures = 0;  // consecutive
  int64_t next_check_ms = 0;
  int64_t announcer_started_ms = 0;
  int64_t announcer_restart_at_ms = 0;  // 0: no restart pending
  uint32_t announcer_consecutive_exits = 0;
};

struct LocalInstance {
  uint32_t index = 0;  // {instance}: 0, 1, 2, ... in start order; kept across restarts
  uint16_t port = 0;
  ProcessIdentity process;    // pid 0: not running (backoff, failed)
  ProcessIdentity announcer;  // pid 0: none (announce: self, or stopped)
  InstancePhase phase = InstancePhase::kStarting;
  int64_t started_unix_ms = 0;       // of the current process
  uint32_t restarts = 0;             // all restarts, for status
  uint32_t consecutive_crashes = 0;  // since it was last healthy; over the limit -> kFailed
  uint32_t announcer_restarts = 0;
  std::string last_exit;  // how the previous process ended, e.g. "exit status 1"
  std::string failure;    // why it is kFailed
  InstanceRuntime runtime;
};

struct LocalGroup {
  InstanceGroupSpec spec;  // spec.instances is the desired count
  bool removing = false;   // Remove() began: every instance is being stopped
  uint32_t next_index = 0;
  std::vector<LocalInstance> instances;  // ascending index: the newest last
};

using GroupKey = std::pair<std::string, std::string>;  // service, version

struct LocalState {
  std::string boot_id;  // pids recorded under another boot are not ours
  std::map<GroupKey, LocalGroup> groups;
};

std::string SerializeLocalState(const LocalState& state);
Result<LocalState> ParseLocalState(const std::string& json_text);

// Writes `path`.tmp, fsyncs it, renames it over `path`: readers see the old or the new file.
Status WriteFileAtomically(const std::string& path, const std::string& data);
// The file's contents, nullopt when it does not exist.
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace canarymesh::bridge
