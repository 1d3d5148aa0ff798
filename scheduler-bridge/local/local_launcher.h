// LocalLauncher: starts the local backend's processes, an instance from its group's command
// template and its companion `canarymesh announce`, and checks specs and picks ports for them.
// Thread-safe: const after construction; AllocatePorts reads a LocalState the caller holds still.
//
// It records nothing: the supervisor (local_supervisor.h) keeps what was started and decides
// when to start it again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/local/local_backend_config.h"
#include "scheduler-bridge/local/local_state.h"
#include "scheduler-bridge/local/process_spawn.h"

namespace canarymesh::bridge {

class LocalLauncher {
 public:
  // `config` must outlive the launcher.
  explicit LocalLauncher(const LocalBackendConfig& config) : config_(config) {}

  // Whether the local backend can run `spec`: plain names, a command that expands and can be
  // found, a usable health check, and a ServerSet path when companions announce.
  Status ValidateSpec(const InstanceGroupSpec& spec) const;
  // `count` ports from the configured range that no instance in `state` holds and that look free.
  Result<std::vector<uint16_t>> AllocatePorts(const LocalState& state, size_t count) const;

  // Instance `index` of `spec` on `port`, in its own session, appending to its ".log".
  Result<ProcessIdentity> SpawnInstance(const InstanceGroupSpec& spec, uint32_t index,
                                        uint16_t port) const;
  // The `canarymesh announce` that keeps instance `index` (on `port`) in the ServerSet while its
  // health check passes, appending to its ".announce.log". For announce: companion only.
  Result<ProcessIdentity> SpawnAnnouncer(const InstanceGroupSpec& spec, uint32_t index,
                                         uint16_t port) const;

  // <log_dir>/<service>-<version>-<index><suffix>
  std::string LogPath(const InstanceGroupSpec& spec, uint32_t index, const char* suffix) const;
  // The last line of the log at `path` (read from its last 2 KiB), "" when there is none.
  static std::string LogTail(const std::string& path);

 private:
  const LocalBackendConfig& config_;
};

}  // namespace canarymesh::bridge
