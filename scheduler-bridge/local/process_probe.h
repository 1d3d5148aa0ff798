// Looking at and signalling processes the local backend started, by ProcessIdentity (pid + start
// time), so that neither a check nor a signal ever reaches a process that merely reuses the pid.
// Works the same for our own children (reaped here with waitpid) and for processes adopted from
// a bridge that died (their parent is now init; we poll /proc). Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler-bridge/local/process_spawn.h"

namespace canarymesh::bridge {

struct ProcStat {
  char state = '?';  // R, S, D, Z (zombie), ...
  uint64_t start_ticks = 0;
};

// Fields 3 and 22 of /proc/<pid>/stat; nullopt when there is no such process.
std::optional<ProcStat> ReadProcStat(pid_t pid);

struct ProcessProbe {
  enum class State {
    kRunning,  // alive and still the process we started
    kExited,   // it ended; exit_status is known when we were its parent and reaped it here
    kGone,     // no such process any more, or the pid now belongs to a different process
  };
  State state = State::kGone;
  std::optional<int> wait_status;  // raw waitpid status
};

// Reaps the process if it is our zombie child. Before reaping, SIGKILLs what is left of its
// process group (the zombie still reserves the group id, so that signal cannot hit a stranger).
ProcessProbe ProbeProcess(const ProcessIdentity& id);

// Sends `signal` to the process group the process leads, if the process is still ours (running
// or a zombie). Returns whether it was sent.
bool SignalProcessGroup(const ProcessIdentity& id, int signal);

// "exit status 3", "killed by signal 9 (Killed)", or "exit status unknown".
std::string DescribeWaitStatus(const std::optional<int>& wait_status);

// /proc/sys/kernel/random/boot_id: pids and start times mean nothing across a reboot.
std::string BootId();

}  // namespace canarymesh::bridge
