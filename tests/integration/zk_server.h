// Test harness for ZooKeeper-backed tests: ZkServer runs a real Apache ZooKeeper (Debian's package)
// on a free loopback port with its own temporary data dir, and can be stopped and started again on
// the same port and data (for outage tests). Also: forced session expiry, a child process with
// pipes (for the kazoo interop scripts) and a polling wait. Not thread-safe: use from the test
// thread.
#pragma once

#include <sys/types.h>
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "tests/support/loopback.h"  // PickFreePort
#include "tests/support/wait.h"      // WaitUntil

namespace canarymesh::testing {

// A child process killed with the test: it gets SIGKILL if the test process dies first.
class TestProcess {
 public:
  TestProcess() = default;
  ~TestProcess();  // kills it if still running
  TestProcess(const TestProcess&) = delete;
  TestProcess& operator=(const TestProcess&) = delete;

  // `output_path` empty: stdout is a pipe for ReadLine and stderr is inherited; otherwise both go
  // to that file. With `stdin_pipe` the child's stdin stays open until CloseStdin().
  Status Spawn(const std::vector<std::string>& argv, const std::string& output_path = "",
               bool stdin_pipe = false);
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);  // nullopt: EOF/timeout
  void CloseStdin();
  // Exit code, or -signal; nullopt if it did not exit in time.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Kill(int signal);
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

class ZkServer {
 public:
  ZkServer();   // creates the data dir; does not start
  ~ZkServer();  // kills the server and removes its directory
  ZkServer(const ZkServer&) = delete;
  ZkServer& operator=(const ZkServer&) = delete;

  // Starts (or restarts on the same port and data) and waits until it answers ruok with imok
  // and srvr with its mode (it then accepts sessions).
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  void Stop();  // SIGTERM, SIGKILL after 10 s; returns once the process is gone
  bool running();

  uint16_t port() const { return port_; }
  std::string connect_string() const { return "127.0.0.1:" + std::to_string(port_); }
  // Short timeouts so that outage tests run in seconds (the server allows 1 s minimum here).
  ZooKeeperConfig client_config(uint32_t session_timeout_ms = 4000) const;
  std::string log_tail(size_t bytes = 4000) const;

 private:
  Status WriteConfig();
  std::string FourLetterWord(const char* word);
  bool Serving();

  std::string dir_;
  uint16_t port_ = 0;
  TestProcess process_;
};

// The Java classpath for ZooKeeperServerMain: conf dir, the zookeeper jar, an slf4j binding.
Result<std::string> ZooKeeperClasspath(const std::string& conf_dir);

// Expires a session the standard way: attach a second client with the same id and password, then
// close it; repeated until the server refuses the id as expired. The original client learns of
// the expiry when it next talks to the server.
Status ExpireZkSession(const std::string& connect_string, const clientid_t& id,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace canarymesh::testing
