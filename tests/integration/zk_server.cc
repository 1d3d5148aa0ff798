#include "tests/integration/zk_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

// Test binaries that start ZooKeeper sessions link this file, so the suppressions for the C
// client's known close-time leak live here (tests/run.sh sets only ASAN_OPTIONS). Explained in
// tests/discovery/zookeeper_client.lsan.supp, which holds the same list for other binaries.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:queue_session_event\n"
         "leak:libzookeeper_mt.so\n";
}

namespace canarymesh::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool FileExists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

}  // namespace

// ---- TestProcess ----

TestProcess::~TestProcess() {
  if (pid_ > 0) {
    Kill(SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  CloseStdin();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

Status TestProcess::Spawn(const std::vector<std::string>& argv, const std::string& output_path,
                          bool stdin_pipe) {
  if (pid_ > 0) return Status::Internal("process already running");
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  if (stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) return Status::IoError("pipe");
  if (output_path.empty() && ::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::IoError("pipe");
  int out_fd = -1;
  if (!output_path.empty()) {
    out_fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) return Status::IoError("open " + output_path + ": " + std::strerror(errno));
  }
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // Ctrl-C in a terminal hits the test only; the test kills us
    ::dup2(stdin_pipe ? in_pipe[0] : ::open("/dev/null", O_RDONLY), 0);
    if (out_fd >= 0) {
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
    } else {
      ::dup2(out_pipe[1], 1);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  if (stdin_pipe) {
    ::close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  if (out_fd >= 0) ::close(out_fd);
  if (output_path.empty()) {
    ::close(out_pipe[1]);
    stdout_fd_ = out_pipe[0];
  }
  return Status::Ok();
}

std::optional<std::string> TestProcess::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    if (stdout_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(stdout_fd_, buffer, sizeof(buffer));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return std::nullopt;
    }
    buffered_.append(buffer, static_cast<size_t>(n));
  }
}

void TestProcess::CloseStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<int> TestProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (done < 0 && errno != EINTR) {
      pid_ = -1;
      return std::nullopt;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void TestProcess::Kill(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

bool TestProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

// ---- ZkServer ----

Result<std::string> ZooKeeperClasspath(const std::string& conf_dir) {
  // zookeeper.jar's manifest names its own dependencies (jute, netty, slf4j-api, ...); the
  // logging binding is left to the application, and any one of these will do.
  const char* jars[] = {"/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar"};
  const char* bindings[] = {"/usr/share/java/slf4j-simple.jar", "/usr/share/java/slf4j-nop.jar",
                            "/usr/share/java/slf4j-jdk14.jar"};
  std::string classpath = conf_dir;
  bool found = false;
  for (const char* jar : jars) {
    if (FileExists(jar)) {
      classpath += std::string(":") + jar;
      found = true;
      break;
    }
  }
  if (!found) return Status::NotFound("zookeeper.jar not found; install the 'zookeeper' package");
  for (const char* binding : bindings) {
    if (FileExists(binding)) {
      classpath += std::string(":") + binding;
      break;
    }
  }
  if (const char* extra = std::getenv("CANARYMESH_ZK_CLASSPATH"); extra && *extra) {
    classpath += std::string(":") + extra;
  }
  return classpath;
}

ZkServer::ZkServer() {
  char pattern[] = "/tmp/cm-zk-XXXXXX";
  if (::mkdtemp(pattern) != nullptr) dir_ = pattern;
}

ZkServer::~ZkServer() {
  Stop();
  const char* keep = std::getenv("CANARYMESH_KEEP_ZK_DIR");  // for debugging: keep data and log
  if (!dir_.empty() && !(keep && *keep == '1')) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

ZooKeeperConfig ZkServer::client_config(uint32_t session_timeout_ms) const {
  ZooKeeperConfig config;
  config.connect = connect_string();
  config.session_timeout_ms = session_timeout_ms;
  return config;
}

Status ZkServer::WriteConfig() {
  std::ofstream out(dir_ + "/zoo.cfg", std::ios::trunc);
  out << "tickTime=500\n"
      << "minSessionTimeout=1000\n"
      << "maxSessionTimeout=60000\n"
      << "dataDir=" << dir_ << "/data\n"
      << "clientPort=" << port_ << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "admin.enableServer=false\n"
      << "4lw.commands.whitelist=ruok,srvr,mntr\n"
      << "maxClientCnxns=0\n";
  return out ? Status::Ok() : Status::IoError("cannot write " + dir_ + "/zoo.cfg");
}

std::string ZkServer::FourLetterWord(const char* word) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  std::string reply;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, word, 4, MSG_NOSIGNAL) == 4) {
    char buffer[512];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, n);
  }
  ::close(fd);
  return reply;
}

// `ruok` answers as soon as the socket is up; `srvr` reports a Mode only once the server
// accepts sessions. Clients connecting in between are dropped ("Host is down" in the C client).
bool ZkServer::Serving() {
  return FourLetterWord("ruok") == "imok" &&
         FourLetterWord("srvr").find("Mode: standalone") != std::string::npos;
}

Status ZkServer::Start(std::chrono::milliseconds timeout) {
  if (dir_.empty()) return Status::IoError("could not create a temporary directory");
  if (process_.running()) return Status::Ok();
  bool first_start = port_ == 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (first_start) port_ = PickFreePort();
    if (port_ == 0) return Status::IoError("no free loopback port");
    if (Status s = WriteConfig(); !s.ok()) return s;
    auto classpath = ZooKeeperClasspath(dir_);
    if (!classpath.ok()) return classpath.status();
    std::string java = "java";
    if (const char* home = std::getenv("JAVA_HOME"); home && *home)
      java = std::string(home) + "/bin/java";
    std::vector<std::string> argv = {java,
                                     "-Xms32m",
                                     "-Xmx256m",
                                     "-XX:+UseSerialGC",
                                     "-XX:TieredStopAtLevel=1",
                                     "-Djava.net.preferIPv4Stack=true",
                                     "-Dzookeeper.admin.enableServer=false",
                                     "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                                     "-cp",
                                     classpath.value(),
                                     "org.apache.zookeeper.server.ZooKeeperServerMain",
                                     dir_ + "/zoo.cfg"};
    if (Status s = process_.Spawn(argv, dir_ + "/zookeeper.log"); !s.ok()) return s;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && process_.running()) {
      if (Serving()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    bool port_taken = log_tail().find("Address already in use") != std::string::npos;
    Stop();
    if (!(first_start && port_taken)) {
      return Status::Unavailable("ZooKeeper did not answer ruok on port " + std::to_string(port_) +
                                 "; log tail:\n" + log_tail());
    }
  }
  return Status::Unavailable("ZooKeeper: no free port after 3 attempts");
}

void ZkServer::Stop() {
  if (!process_.running()) return;
  process_.Kill(SIGTERM);
  if (!process_.Wait(std::chrono::seconds(10))) {
    process_.Kill(SIGKILL);
    process_.Wait(std::chrono::seconds(10));
  }
}

bool ZkServer::running() { return process_.running(); }

std::string ZkServer::log_tail(size_t bytes) const {
  std::ifstream in(dir_ + "/zookeeper.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// ---- session expiry and waiting ----

namespace {

struct AttachState {
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;  // last session state seen: ZOO_CONNECTED_STATE or ZOO_EXPIRED_SESSION_STATE
};

void NoteSessionState(zhandle_t*, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  if (state != ZOO_CONNECTED_STATE && state != ZOO_EXPIRED_SESSION_STATE) return;
  auto* attach = static_cast<AttachState*>(context);
  {
    std::lock_guard lock(attach->mu);
    attach->state = state;
  }
  attach->cv.notify_all();
}

}  // namespace

Status ExpireZkSession(const std::string& connect_string, const clientid_t& id,
                       std::chrono::milliseconds timeout) {
  // The owner notices that its connection was taken over and reconnects within milliseconds,
  // taking the session back; a close sent after that is lost. So close the moment we are
  // attached, and repeat until attaching is refused because the session has expired.
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    AttachState attach;
    zhandle_t* zh =
        zookeeper_init(connect_string.c_str(), &NoteSessionState, 10000, &id, &attach, 0);
    if (zh == nullptr) return Status::Internal("zookeeper_init failed");
    int state;
    {
      std::unique_lock lock(attach.mu);
      attach.cv.wait_until(lock, deadline, [&] { return attach.state != 0; });
      state = attach.state;
    }
    bool moved = state == ZOO_CONNECTED_STATE && zoo_client_id(zh)->client_id != id.client_id;
    zookeeper_close(zh);  // when attached, this ends the session for its owner too
    if (state == ZOO_EXPIRED_SESSION_STATE) return Status::Ok();
    if (moved) return Status::Internal("server gave a different session id");
  }
  return Status::Unavailable("session did not expire before the deadline");
}

}  // namespace canarymesh::testing
