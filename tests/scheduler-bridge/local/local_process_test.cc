// SpawnDetached / ProbeProcess / SignalProcessGroup on real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "scheduler-bridge/local/local_port_allocator.h"
#include "scheduler-bridge/local/process_probe.h"
#include "scheduler-bridge/local/process_spawn.h"

namespace canarymesh::bridge {
namespace {

class LocalProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cm-process-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    for (const ProcessIdentity& id : started_) {
      SignalProcessGroup(id, SIGKILL);
      WaitEnded(id);
    }
    std::filesystem::remove_all(dir_);
  }

  ProcessIdentity Spawn(std::vector<std::string> argv,
                        std::map<std::string, std::string> env = {}) {
    auto id = SpawnDetached({std::move(argv), EnvironmentWith(env), dir_ + "/out.log"});
    EXPECT_TRUE(id.ok()) << id.status().message();
    if (id.ok()) started_.push_back(id.value());
    return id.ok() ? id.value() : ProcessIdentity{};
  }

  // Polls (no wall-clock assertion: a generous deadline only bounds a hang).
  ProcessProbe WaitEnded(const ProcessIdentity& id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    ProcessProbe probe = ProbeProcess(id);
    while (probe.state == ProcessProbe::State::kRunning &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      probe = ProbeProcess(id);
    }
    return probe;
  }

  std::string Log() {
    std::ifstream file(dir_ + "/out.log");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  std::string dir_;
  std::vector<ProcessIdentity> started_;
};

TEST_F(LocalProcessTest, RunsInItsOwnSessionWithOutputInTheLog) {
  ProcessIdentity id = Spawn({"/bin/sh", "-c", "echo out-$GREETING; echo err >&2; exec sleep 60"},
                             {{"GREETING", "hello"}});
  ASSERT_GT(id.pid, 0);
  EXPECT_GT(id.start_ticks, 0u);
  EXPECT_EQ(::getsid(id.pid), id.pid);
  EXPECT_EQ(::getpgid(id.pid), id.pid);
  EXPECT_NE(::getsid(id.pid), ::getsid(0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Log().find("err") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(Log().find("out-hello\n"), std::string::npos) << Log();
  EXPECT_NE(Log().find("err\n"), std::string::npos) << Log();
  EXPECT_EQ(ProbeProcess(id).state, ProcessProbe::State::kRunning);
}

TEST_F(LocalProcessTest, ExitStatusIsReaped) {
  ProcessIdentity id = Spawn({"/bin/sh", "-c", "exit 7"});
  ProcessProbe probe = WaitEnded(id);
  EXPECT_EQ(probe.state, ProcessProbe::State::kExited);
  EXPECT_EQ(DescribeWaitStatus(probe.wait_status), "exit status 7");
  EXPECT_EQ(ProbeProcess(id).state, ProcessProbe::State::kGone);  // reaped: the pid is free
}

TEST_F(LocalProcessTest, SignalReachesTheWholeGroup) {
  // The shell's child sleeps in the same group; killing the group ends both.
  ProcessIdentity id = Spawn({"/bin/sh", "-c", "sleep 60 & echo child=$!; wait"});
  pid_t child = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (child == 0 && std::chrono::steady_clock::now() < deadline) {
    std::string log = Log();
    size_t at = log.find("child=");
    if (at != std::string::npos && log.find('\n', at) != std::string::npos)
      child = std::atoi(log.c_str() + at + 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(child, 0);
  ASSERT_TRUE(SignalProcessGroup(id, SIGTERM));
  ProcessProbe probe = WaitEnded(id);
  EXPECT_EQ(probe.state, ProcessProbe::State::kExited);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::kill(child, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(::kill(child, 0), 0) << "the shell's child survived";
}

TEST_F(LocalProcessTest, StartsWithSignalsUnblockedAndNoInheritedDescriptors) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 3);
  ProcessIdentity id = Spawn({"/bin/sh", "-c", "ls /proc/$$/fd; echo listed; exec sleep 60"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Log().find("listed") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::istringstream fds(Log());
  std::string line;
  while (std::getline(fds, line)) {
    if (line == "listed") break;
    EXPECT_TRUE(line == "0" || line == "1" || line == "2") << "inherited fd " << line;
  }
  ::close(leaked);
  // SIGTERM was blocked in the parent; the child must still die of it.
  ASSERT_TRUE(SignalProcessGroup(id, SIGTERM));
  ProcessProbe probe = WaitEnded(id);
  EXPECT_EQ(DescribeWaitStatus(probe.wait_status).rfind("killed by signal 15", 0), 0u)
      << DescribeWaitStatus(probe.wait_status);
}

TEST_F(LocalProcessTest, ARecycledPidIsNotOurs) {
  ProcessIdentity id = Spawn({"/bin/sleep", "60"});
  ProcessIdentity impostor{id.pid, id.start_ticks + 1};  // same pid, different start time
  EXPECT_EQ(ProbeProcess(impostor).state, ProcessProbe::State::kGone);
  EXPECT_FALSE(SignalProcessGroup(impostor, SIGKILL));
  EXPECT_EQ(ProbeProcess(id).state, ProcessProbe::State::kRunning);  // untouched
  EXPECT_EQ(ProbeProcess(ProcessIdentity{}).state, ProcessProbe::State::kGone);
}

TEST_F(LocalProcessTest, MissingProgramIsAnError) {
  auto id = SpawnDetached({{"/no/such/program"}, EnvironmentWith({}), dir_ + "/out.log"});
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("/no/such/program"), std::string::npos);
  EXPECT_FALSE(ResolveProgram("no-such-program-anywhere").ok());
  auto sh = ResolveProgram("sh");
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh.value()[0], '/');
  EXPECT_FALSE(ResolveProgram(dir_).ok());  // a directory
}

TEST_F(LocalProcessTest, EnvironmentOverridesReplaceInheritedValues) {
  ::setenv("CM_PROCESS_TEST_VAR", "parent", 1);
  std::vector<std::string> env = EnvironmentWith({{"CM_PROCESS_TEST_VAR", "child"}});
  ::unsetenv("CM_PROCESS_TEST_VAR");
  int found = 0;
  for (const std::string& entry : env) {
    if (entry.rfind("CM_PROCESS_TEST_VAR=", 0) == 0) {
      ++found;
      EXPECT_EQ(entry, "CM_PROCESS_TEST_VAR=child");
    }
  }
  EXPECT_EQ(found, 1);
}

TEST(LocalPortAllocatorTest, SkipsTakenAndBusyPortsAndSaysWhenExhausted) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t busy = ntohs(addr.sin_port);
  EXPECT_FALSE(PortLooksFree(busy));
  auto none = PickFreePort(busy, busy, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("exhausted"), std::string::npos)
      << none.status().message();
  ::close(fd);
  EXPECT_FALSE(PickFreePort(busy, busy, {busy}).ok());  // ours
  auto free_port = PickFreePort(busy, busy, {});
  ASSERT_TRUE(free_port.ok()) << free_port.status().message();
  EXPECT_EQ(free_port.value(), busy);
}

}  // namespace
}  // namespace canarymesh::bridge
