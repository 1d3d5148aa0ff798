// Starting detached processes for the local backend: each one in its own session (setsid), so it
// is its own process-group leader, has no controlling terminal and survives the bridge being
// killed; stdout and stderr appended to a log file, stdin from /dev/null, signals unblocked and at
// their defaults, no descriptor but 0-2 inherited. Uses posix_spawn (no fork of a threaded
// process), so exec failures come back as errors. Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge {

// A process as we started it: the pid plus its start time (clock ticks since boot, field 22 of
// /proc/<pid>/stat), so that a recycled pid is never mistaken for ours.
struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  bool operator==(const ProcessIdentity&) const = default;
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is run as given if it holds a '/', else found in PATH
  std::vector<std::string> env;   // the complete environment, "NAME=value" each
  std::string log_path;           // created if missing, appended to
};

Result<ProcessIdentity> SpawnDetached(const SpawnRequest& request);

// The absolute path `program` would run as: as given when it holds a '/', else the first
// executable match in $PATH. An error says why not (missing, not executable).
Result<std::string> ResolveProgram(const std::string& program);

// This process's environment with `overrides` set (replacing same-named entries).
std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& overrides);

}  // namespace canarymesh::bridge
