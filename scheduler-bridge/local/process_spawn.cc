#include "scheduler-bridge/local/process_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "scheduler-bridge/local/process_probe.h"

extern char** environ;

namespace canarymesh::bridge {
namespace {

// Closes a posix_spawn attribute/action object on every path out.
struct SpawnObjects {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnObjects() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnObjects() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

Status Errno(const std::string& what, int error) {
  return Status::IoError(what + ": " + std::strerror(error));
}

}  // namespace

Result<std::string> ResolveProgram(const std::string& program) {
  if (program.empty()) return Status::InvalidArgument("empty program name");
  if (program.find('/') != std::string::npos) {
    struct stat st {};
    if (::stat(program.c_str(), &st) != 0) return Errno(program, errno);
    if (!S_ISREG(st.st_mode) || ::access(program.c_str(), X_OK) != 0) {
      return Status::InvalidArgument(program + ": not an executable file");
    }
    return program;
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return Status::InvalidArgument(program + ": not found in PATH");
}

std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const char* eq = std::strchr(*entry, '=');
    if (eq == nullptr) continue;
    if (overrides.count(std::string(*entry, eq - *entry)) != 0) continue;
    env.emplace_back(*entry);
  }
  for (const auto& [name, value] : overrides) env.push_back(name + "=" + value);
  return env;
}

Result<ProcessIdentity> SpawnDetached(const SpawnRequest& request) {
  if (request.argv.empty()) return Status::InvalidArgument("spawn: empty argv");
  auto program = ResolveProgram(request.argv[0]);
  if (!program.ok()) return program.status();

  // Opened here with O_CLOEXEC and dup'ed onto 1 and 2 in the child: no other copy leaks.
  int log_fd = ::open(request.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Errno("open " + request.log_path, errno);

  SpawnObjects objects;
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  // POSIX_SPAWN_SETSID: glibc >= 2.26. The bridge may block SIGTERM for sigwait() and ignore
  // SIGPIPE; the instance must start with neither.
  posix_spawnattr_setflags(&objects.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&objects.attr, &no_signals);
  posix_spawnattr_setsigdefault(&objects.attr, &all_signals);
  posix_spawn_file_actions_addopen(&objects.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&objects.actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&objects.actions, log_fd, 2);
  // Descriptors opened without O_CLOEXEC by any library in the bridge (sockets, the state lock)
  // must not live on in an instance that outlives the bridge.
  posix_spawn_file_actions_addclosefrom_np(&objects.actions, 3);

  std::vector<char*> argv;
  for (const std::string& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program.value().c_str(), &objects.actions, &objects.attr,
                         argv.data(), envp.data());
  ::close(log_fd);
  if (rc != 0) return Errno("spawn " + program.value(), rc);

  ProcessIdentity identity{pid, 0};
  auto stat = ReadProcStat(pid);
  if (stat.has_value()) identity.start_ticks = stat->start_ticks;
  // No stat: it already ended and someone reaped it; start_ticks 0 never matches a live process,
  // so the supervisor sees it as gone and restarts it.
  return identity;
}

}  // namespace canarymesh::bridge
