#include "scheduler-bridge/local/process_probe.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace canarymesh::bridge {

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  ProcStat stat;
  std::string field;
  // After ')' the fields start at number 3 (state); starttime is number 22.
  for (int number = 3; number <= 22 && rest >> field; ++number) {
    if (number == 3) stat.state = field.empty() ? '?' : field[0];
    if (number == 22) {
      stat.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
      return stat;
    }
  }
  return std::nullopt;
}

ProcessProbe ProbeProcess(const ProcessIdentity& id) {
  ProcessProbe probe;
  std::optional<ProcStat> stat = ReadProcStat(id.pid);
  if (!stat.has_value() || stat->start_ticks != id.start_ticks) return probe;  // kGone
  if (stat->state != 'Z' && stat->state != 'X') {
    probe.state = ProcessProbe::State::kRunning;
    return probe;
  }
  ::kill(-id.pid, SIGKILL);  // leftovers of its group, e.g. children of a shell
  probe.state = ProcessProbe::State::kExited;
  int status = 0;
  pid_t reaped = ::waitpid(id.pid, &status, WNOHANG);
  if (reaped == id.pid) probe.wait_status = status;
  return probe;
}

bool SignalProcessGroup(const ProcessIdentity& id, int signal) {
  std::optional<ProcStat> stat = ReadProcStat(id.pid);
  if (!stat.has_value() || stat->start_ticks != id.start_ticks) return false;
  if (::kill(-id.pid, signal) == 0) return true;
  // Not a group leader (cannot happen for what SpawnDetached started, but cheap to allow).
  return ::kill(id.pid, signal) == 0;
}

std::string DescribeWaitStatus(const std::optional<int>& wait_status) {
  if (!wait_status.has_value()) return "exit status unknown";
  int status = *wait_status;
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

std::string BootId() {
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(file, id);
  return id;
}

}  // namespace canarymesh::bridge
