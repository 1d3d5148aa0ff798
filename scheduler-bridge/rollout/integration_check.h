// IntegrationCheckRunner: runs a rollout's integration check command without blocking the
// rollout loop. The state machine calls Poll() on every tick: the first call starts the command,
// later calls report whether it still runs or how it ended. A bridge that restarts mid-check has
// no record of the process, so the check simply runs again: checks must be safe to repeat.
// ProcessIntegrationCheckRunner runs `/bin/sh -c COMMAND` in its own process group with the
// rollout's environment (CANARYMESH_SERVICE, CANARYMESH_VERSION, CANARYMESH_PROXY, ...), output
// to a temporary file whose tail is kept. Thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <string>

#include "core/status.h"

namespace canarymesh::bridge {

struct IntegrationCheckRequest {
  std::string command;
  std::map<std::string, std::string> env;  // added to the bridge's own environment
};

struct IntegrationCheckProgress {
  bool finished = false;
  int exit_code = 0;        // when finished; 128 + signal if it was killed by one
  std::string output_tail;  // last few KB of stdout+stderr, when finished
};

class IntegrationCheckRunner {
 public:
  virtual ~IntegrationCheckRunner() = default;
  // Starts the check named `key` unless it runs or has finished; reports its progress. A
  // finished check is reported until Forget(key).
  virtual Result<IntegrationCheckProgress> Poll(const std::string& key,
                                                const IntegrationCheckRequest& request) = 0;
  // Kills the check if it still runs (timeout, abort) and forgets it.
  virtual void Forget(const std::string& key) = 0;
};

class ProcessIntegrationCheckRunner : public IntegrationCheckRunner {
 public:
  // Output files go under `work_dir` (created if missing); empty = $TMPDIR or /tmp.
  explicit ProcessIntegrationCheckRunner(std::string work_dir = "");
  ~ProcessIntegrationCheckRunner() override;  // kills checks still running
  ProcessIntegrationCheckRunner(const ProcessIntegrationCheckRunner&) = delete;
  ProcessIntegrationCheckRunner& operator=(const ProcessIntegrationCheckRunner&) = delete;

  Result<IntegrationCheckProgress> Poll(const std::string& key,
                                        const IntegrationCheckRequest& request) override;
  void Forget(const std::string& key) override;

 private:
  struct Run {
    pid_t pid = -1;
    std::string output_path;
    IntegrationCheckProgress progress;
  };
  Status Start(const std::string& key, const IntegrationCheckRequest& request, Run* run);
  static void KillAndReap(Run& run);

  std::string work_dir_;
  std::mutex mutex_;
  std::map<std::string, Run> runs_;
};

}  // namespace canarymesh::bridge
