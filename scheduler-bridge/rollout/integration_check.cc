#include "scheduler-bridge/rollout/integration_check.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace canarymesh::bridge {
namespace {

constexpr size_t kOutputTailBytes = 4096;

std::string FileTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      size > std::streamoff(kOutputTailBytes) ? size - std::streamoff(kOutputTailBytes) : 0;
  in.seekg(start);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string SafeFileName(const std::string& key) {
  std::string out;
  for (char c : key)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out;
}

}  // namespace

ProcessIntegrationCheckRunner::ProcessIntegrationCheckRunner(std::string work_dir)
    : work_dir_(std::move(work_dir)) {
  if (work_dir_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    work_dir_ = tmp && *tmp ? tmp : "/tmp";
  }
  ::mkdir(work_dir_.c_str(), 0700);  // EEXIST is fine; a real failure shows at Start
}

ProcessIntegrationCheckRunner::~ProcessIntegrationCheckRunner() {
  std::lock_guard lock(mutex_);
  for (auto& [key, run] : runs_) {
    KillAndReap(run);
    ::unlink(run.output_path.c_str());
  }
}

Status ProcessIntegrationCheckRunner::Start(const std::string& key,
                                            const IntegrationCheckRequest& request, Run* run) {
  run->output_path = work_dir_ + "/canarymesh-check-" + SafeFileName(key) + "-" +
                     std::to_string(::getpid()) + ".log";
  // Environment: ours, with the request's variables replacing any of the same name.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    if (!request.env.count(name)) env_strings.push_back(std::move(entry));
  }
  for (const auto& [name, value] : request.env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, run->output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so that a timeout kills the command's children too.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);

  std::string sh = "/bin/sh", dash_c = "-c", command = request.command;
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Status::IoError("integration check: cannot start /bin/sh: " +
                           std::string(std::strerror(rc)));
  run->pid = pid;
  return Status::Ok();
}

Result<IntegrationCheckProgress> ProcessIntegrationCheckRunner::Poll(
    const std::string& key, const IntegrationCheckRequest& request) {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    Run run;
    if (Status s = Start(key, request, &run); !s.ok()) return s;
    it = runs_.emplace(key, std::move(run)).first;
  }
  Run& run = it->second;
  if (run.progress.finished) return run.progress;
  int wstatus = 0;
  const pid_t done = ::waitpid(run.pid, &wstatus, WNOHANG);
  if (done == 0) return run.progress;  // still running
  if (done < 0) {
    run.progress.finished = true;
    run.progress.exit_code = 127;
    run.progress.output_tail =
        "integration check: lost track of the process: " + std::string(std::strerror(errno));
  } else {
    run.progress.finished = true;
    run.progress.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    run.progress.output_tail = FileTail(run.output_path);
  }
  run.pid = -1;
  // The command's own children may linger in its group; they are not the check's result.
  return run.progress;
}

void ProcessIntegrationCheckRunner::KillAndReap(Run& run) {
  if (run.pid <= 0) return;
  ::kill(-run.pid, SIGKILL);
  ::waitpid(run.pid, nullptr, 0);
  run.pid = -1;
}

void ProcessIntegrationCheckRunner::Forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(key);
  if (it == runs_.end()) return;
  KillAndReap(it->second);
  ::unlink(it->second.output_path.c_str());
  runs_.erase(it);
}

}  // namespace canarymesh::bridge
