// LocalBackend with real processes (canarymesh-sample as the instance, the real `canarymesh
// announce` as the companion) and a real ZooKeeper. No wall-clock assertions: every wait is a
// condition with a generous deadline.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "scheduler-bridge/local/local_port_allocator.h"
#include "scheduler-bridge/local/process_probe.h"
#include "tests/scheduler-bridge/local/local_backend_test_support.h"

namespace canarymesh::bridge::testing {
namespace {

using namespace std::chrono_literals;
using ::canarymesh::testing::WaitUntil;

std::vector<uint16_t> Ports(const std::vector<LocalInstanceDetail>& details) {
  std::vector<uint16_t> ports;
  for (const auto& d : details) ports.push_back(d.port);
  return ports;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST_F(LocalBackendTest, DeploysAnnouncedHealthyInstancesInTheirOwnSessions) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  EXPECT_EQ(backend->Name(), "local");
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));
  auto details = Details(*backend, "v2");
  ASSERT_EQ(details.size(), 2u);
  EXPECT_NE(details[0].port, details[1].port);
  for (const auto& d : details) {
    EXPECT_TRUE(Running(d.pid));
    EXPECT_TRUE(Running(d.announcer_pid));
    // Own session and group: a signal to the bridge's group or session does not reach them.
    EXPECT_EQ(::getsid(d.pid), d.pid);
    EXPECT_EQ(::getsid(d.announcer_pid), d.announcer_pid);
    EXPECT_NE(::getpgid(d.pid), ::getpgid(0));
    EXPECT_EQ(d.restarts, 0u);
  }
  EXPECT_TRUE(WaitMembers(Ports(details), "v2")) << "members: " << Members().size();

  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->desired, 2u);
  EXPECT_EQ(status->running, 2u);
  ASSERT_EQ(status->instances.size(), 2u);
  EXPECT_EQ(status->instances[0].host, "127.0.0.1");
  EXPECT_EQ(status->instances[0].state, "running");

  // Idempotent: deploying again (a resumed rollout) starts nothing new.
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  auto again = Details(*backend, "v2");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].pid, details[0].pid);
  EXPECT_EQ(again[1].pid, details[1].pid);

  auto missing = backend->Inspect("user", "v9");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(backend->Scale("user", "v9", 1).code(), Status::Code::kNotFound);
  EXPECT_TRUE(backend->Remove("user", "v9").ok());
}

TEST_F(LocalBackendTest, CrashedInstanceIsRestartedAndReannounced) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));
  auto before = Details(*backend, "v2");
  ASSERT_TRUE(WaitMembers(Ports(before), "v2"));

  ASSERT_EQ(::kill(before[0].pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto now = backend->Instances("user", "v2");
        return now.ok() && now->size() == 2 && (*now)[0].restarts == 1 && (*now)[0].pid != 0 &&
               (*now)[0].pid != before[0].pid;
      },
      60s));
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));
  auto after = Details(*backend, "v2");
  EXPECT_EQ(after[0].last_exit, "killed by signal 9 (Killed)");
  EXPECT_EQ(after[1].pid, before[1].pid);  // the other one was left alone
  EXPECT_EQ(after[1].restarts, 0u);
  EXPECT_FALSE(Running(before[0].pid));
  EXPECT_TRUE(WaitMembers(Ports(after), "v2"));
  EXPECT_NE(ReadFile(after[0].log_path).find("starting instance 0"), std::string::npos);
}

TEST_F(LocalBackendTest, CrashedAnnouncerIsRestarted) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 1)).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 1));
  auto before = Details(*backend, "v2");
  ASSERT_TRUE(WaitMembers(Ports(before), "v2"));
  ASSERT_EQ(::kill(before[0].announcer_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto now = backend->Instances("user", "v2");
        return now.ok() && (*now)[0].announcer_restarts == 1 && (*now)[0].announcer_pid != 0;
      },
      60s));
  auto after = Details(*backend, "v2");
  EXPECT_EQ(after[0].pid, before[0].pid);
  // The killed announcer's member lives until its session expires; the new one announces too.
  EXPECT_TRUE(WaitMembers(Ports(after), "v2"));
}

TEST_F(LocalBackendTest, ScalesUpAndDownStoppingTheNewestAfterTheirMembersAreGone) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));

  ASSERT_TRUE(backend->Scale("user", "v2", 3).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 3));
  auto three = Details(*backend, "v2");
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2].index, 2u);
  ASSERT_TRUE(WaitMembers(Ports(three), "v2"));

  ASSERT_TRUE(backend->Scale("user", "v2", 1).ok());
  // Scale down returns once the stopped instances are gone; their announcers deleted their
  // members before the instances were sent SIGTERM.
  auto members = Members();
  EXPECT_EQ(members.size(), 1u);
  EXPECT_EQ(members.count(three[0].port), 1u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_FALSE(Running(three[i].pid)) << "instance " << i;
    EXPECT_FALSE(Running(three[i].announcer_pid)) << "announcer " << i;
  }
  auto one = Details(*backend, "v2");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].index, 0u);
  EXPECT_EQ(one[0].pid, three[0].pid);
  ASSERT_TRUE(WaitReady(*backend, "v2", 1));
  auto stopped_log = ReadFile(three[2].log_path);
  EXPECT_FALSE(stopped_log.empty());
}

TEST_F(LocalBackendTest, RemoveStopsEverythingAndForgetsTheGroup) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));
  auto details = Details(*backend, "v2");
  ASSERT_TRUE(WaitMembers(Ports(details), "v2"));

  ASSERT_TRUE(backend->Remove("user", "v2").ok());
  for (const auto& d : details) {
    EXPECT_FALSE(Running(d.pid));
    EXPECT_FALSE(Running(d.announcer_pid));
  }
  EXPECT_TRUE(Members().empty());
  auto status = backend->Inspect("user", "v2");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->exists);
  EXPECT_TRUE(backend->Remove("user", "v2").ok());  // idempotent
  // The ports are free again.
  for (const auto& d : details) EXPECT_TRUE(PortLooksFree(d.port));
}

TEST_F(LocalBackendTest, NewBackendOnTheSameStateDirAdoptsAndRemoves) {
  const LocalBackendConfig config = Config();
  auto first = MakeBackend(config);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Deploy(SampleSpec("v2", 2)).ok());
  ASSERT_TRUE(WaitReady(*first, "v2", 2));
  auto before = Details(*first, "v2");
  ASSERT_TRUE(WaitMembers(Ports(before), "v2"));
  first.reset();  // the bridge goes away; its instances do not
  for (const auto& d : before) {
    EXPECT_TRUE(Running(d.pid));
    EXPECT_TRUE(Running(d.announcer_pid));
  }

  auto second = MakeBackend(config);
  ASSERT_TRUE(second);
  ASSERT_TRUE(WaitReady(*second, "v2", 2));
  auto adopted = Details(*second, "v2");
  ASSERT_EQ(adopted.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(adopted[i].pid, before[i].pid);
    EXPECT_EQ(adopted[i].announcer_pid, before[i].announcer_pid);
    EXPECT_EQ(adopted[i].restarts, 0u);
  }
  // Still supervised after adoption: a crash is noticed and repaired.
  ASSERT_EQ(::kill(adopted[1].pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto now = second->Instances("user", "v2");
        return now.ok() && (*now)[1].restarts == 1 && (*now)[1].pid != 0;
      },
      60s));
  ASSERT_TRUE(WaitReady(*second, "v2", 2));
  auto repaired = Details(*second, "v2");

  ASSERT_TRUE(second->Remove("user", "v2").ok());
  for (const auto& d : repaired) {
    EXPECT_FALSE(Running(d.pid));
    EXPECT_FALSE(Running(d.announcer_pid));
  }
  EXPECT_TRUE(Members().empty());
}

TEST_F(LocalBackendTest, RecycledPidIsNotAdopted) {
  const LocalBackendConfig config = Config();
  auto first = MakeBackend(config);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Deploy(SampleSpec("v2", 1)).ok());
  ASSERT_TRUE(WaitReady(*first, "v2", 1));
  auto before = Details(*first, "v2");
  first.reset();

  // Rewrite the record as if the pid now belonged to another process (different start time):
  // the new owner must treat the instance as gone and start its own, never signal that pid.
  const std::string path = config.state_dir + "/local-backend.json";
  auto text = ReadFileIfExists(path);
  ASSERT_TRUE(text.ok() && text->has_value());
  auto state = ParseLocalState(**text);
  ASSERT_TRUE(state.ok());
  LocalInstance& inst = state->groups.begin()->second.instances[0];
  inst.process.start_ticks += 1;
  const ProcessIdentity stranger{inst.process.pid, inst.process.start_ticks - 1};
  ASSERT_TRUE(WriteFileAtomically(path, SerializeLocalState(state.value())).ok());
  // The real process still holds the port; stop it ourselves so the replacement can bind.
  ASSERT_TRUE(SignalProcessGroup(stranger, SIGKILL));
  ASSERT_TRUE(
      WaitUntil([&] { return ProbeProcess(stranger).state != ProcessProbe::State::kRunning; }));

  auto second = MakeBackend(config);
  ASSERT_TRUE(second);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto now = second->Instances("user", "v2");
        return now.ok() && (*now)[0].restarts == 1 && (*now)[0].pid != 0;
      },
      60s));
  ASSERT_TRUE(WaitReady(*second, "v2", 1));
  auto after = Details(*second, "v2");
  EXPECT_EQ(after[0].last_exit, "exit status unknown");
  ASSERT_TRUE(second->Remove("user", "v2").ok());
}

TEST_F(LocalBackendTest, OnlyOneOwnerPerStateDir) {
  const LocalBackendConfig config = Config();
  auto first = MakeBackend(config);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Deploy(SampleSpec("v2", 1)).ok());
  auto second = MakeBackend(config);
  ASSERT_TRUE(second);
  EXPECT_TRUE(first->OwnsStateDir());
  EXPECT_FALSE(second->OwnsStateDir());
  auto refused = second->Inspect("user", "v2");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("owned by another local backend (pid " +
                                            std::to_string(::getpid())),
            std::string::npos)
      << refused.status().message();
  Track(Details(*first, "v2"));
  first.reset();
  // The waiting one takes over in the background once the owner is gone.
  ASSERT_TRUE(WaitUntil([&] { return second->OwnsStateDir(); }, 30s));
  ASSERT_TRUE(WaitReady(*second, "v2", 1));
  ASSERT_TRUE(second->Remove("user", "v2").ok());
}

TEST_F(LocalBackendTest, CommandThatExitsAtOnceEndsAsFailure) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v3", 1);
  spec.artifact = "/bin/sh -c 'echo cannot open config for {service} {version}; exit 3'";
  ASSERT_TRUE(backend->Deploy(spec).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto status = backend->Inspect("user", "v3");
        return status.ok() && !status->failure.empty();
      },
      90s));
  auto status = backend->Inspect("user", "v3");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->Ready());
  EXPECT_EQ(status->running, 0u);
  EXPECT_NE(status->failure.find("4 times in a row"), std::string::npos)
      << status->failure;  // 1 + 3 restarts
  EXPECT_NE(status->failure.find("exit status 3"), std::string::npos) << status->failure;
  EXPECT_NE(status->failure.find("cannot open config for user v3"), std::string::npos)
      << status->failure;
  auto details = Details(*backend, "v3");
  EXPECT_EQ(details[0].phase, "failed");
  EXPECT_EQ(details[0].restarts, 3u);
  EXPECT_EQ(details[0].announcer_pid, 0);  // nothing announces a dead instance
  ASSERT_TRUE(backend->Remove("user", "v3").ok());
  EXPECT_FALSE(backend->Inspect("user", "v3")->exists);
}

TEST_F(LocalBackendTest, InstanceNeverHealthyIsRestartedAfterItsGracePeriodThenFails) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v4", 1);
  spec.artifact = "/bin/sleep 600";  // runs, but never listens
  spec.health.protocol = "tcp";
  spec.health.grace_period_ms = 300;
  spec.stop_grace_period_ms = 2000;
  ASSERT_TRUE(backend->Deploy(spec).ok());
  auto status = backend->Inspect("user", "v4");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->deploying);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = backend->Inspect("user", "v4");
        return s.ok() && !s->failure.empty();
      },
      90s));
  status = backend->Inspect("user", "v4");
  EXPECT_NE(status->failure.find("not healthy within its grace period of 300 ms"),
            std::string::npos)
      << status->failure;
  ASSERT_TRUE(backend->Remove("user", "v4").ok());
}

TEST_F(LocalBackendTest, InstanceThatTurnsUnhealthyIsRestarted) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v6", 1);
  // Listens for a moment, then closes its socket but keeps running: only the check notices.
  spec.artifact =
      "/usr/bin/python3 -c \"import socket,time; s=socket.socket(); "
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', {port})); "
      "s.listen(); time.sleep(1); s.close(); time.sleep(600)\"";
  spec.health.protocol = "tcp";
  spec.stop_grace_period_ms = 2000;
  ASSERT_TRUE(backend->Deploy(spec).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto now = backend->Instances("user", "v6");
        return now.ok() && (*now)[0].restarts >= 1;
      },
      90s));
  auto details = Details(*backend, "v6");
  EXPECT_NE(details[0].last_exit.find("failed 3 health checks in a row"), std::string::npos)
      << details[0].last_exit;
  EXPECT_TRUE(details[0].failure.empty());
  ASSERT_TRUE(backend->Remove("user", "v6").ok());
}

TEST_F(LocalBackendTest, SelfAnnouncingInstancesGetNoCompanion) {
  LocalBackendConfig config = Config();
  config.announce_mode = LocalBackendConfig::AnnounceMode::kSelf;
  auto backend = MakeBackend(config);
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v7", 1);
  spec.artifact = "/bin/sh -c 'echo zk=$CANARYMESH_ZOOKEEPER; exec " + std::string(SAMPLE_BINARY) +
                  " --listen 127.0.0.1:{port} --version {version}'";
  ASSERT_TRUE(backend->Deploy(spec).ok());
  ASSERT_TRUE(WaitReady(*backend, "v7", 1));
  auto details = Details(*backend, "v7");
  EXPECT_EQ(details[0].announcer_pid, 0);
  EXPECT_NE(ReadFile(details[0].log_path).find("zk=" + config.zookeeper.connect),
            std::string::npos);
  EXPECT_TRUE(Members().empty());
  ASSERT_TRUE(backend->Remove("user", "v7").ok());
  EXPECT_FALSE(Running(details[0].pid));
}

TEST_F(LocalBackendTest, PortRangeExhaustedIsAClearErrorAndStartsNothing) {
  LocalBackendConfig config = Config();
  config.port_max = static_cast<uint16_t>(config.port_min + 1);
  auto backend = MakeBackend(config);
  ASSERT_TRUE(backend);
  Status refused = backend->Deploy(SampleSpec("v2", 3));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable);
  EXPECT_NE(refused.message().find("exhausted"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find(std::to_string(config.port_min) + "-" +
                                   std::to_string(config.port_max)),
            std::string::npos)
      << refused.message();
  EXPECT_FALSE(backend->Inspect("user", "v2")->exists);

  // Two fit (unless another program holds one of the two ports right now).
  if (!PortLooksFree(config.port_min) || !PortLooksFree(config.port_max)) GTEST_SKIP();
  ASSERT_TRUE(backend->Deploy(SampleSpec("v2", 2)).ok());
  Status more = backend->Scale("user", "v2", 3);
  EXPECT_EQ(more.code(), Status::Code::kUnavailable);
  EXPECT_NE(more.message().find("2 of its 2 ports are held by local instances"), std::string::npos)
      << more.message();
  ASSERT_TRUE(WaitReady(*backend, "v2", 2));
  Track(Details(*backend, "v2"));
  ASSERT_TRUE(backend->Remove("user", "v2").ok());
}

TEST_F(LocalBackendTest, InstancesGetTheirEnvironment) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v5", 1);
  spec.env = {{"CUSTOM", "yes"}, {"CANARYMESH_PORT", "overridden-by-the-backend"}};
  spec.artifact =
      "/bin/sh -c 'echo env port=$CANARYMESH_PORT service=$CANARYMESH_SERVICE "
      "version=$CANARYMESH_VERSION instance=$CANARYMESH_INSTANCE "
      "path=$CANARYMESH_SERVERSET_PATH custom=$CUSTOM; exec " +
      std::string(SAMPLE_BINARY) + " --listen 127.0.0.1:$CANARYMESH_PORT --version {version}'";
  ASSERT_TRUE(backend->Deploy(spec).ok());
  ASSERT_TRUE(WaitReady(*backend, "v5", 1));
  auto details = Details(*backend, "v5");
  const std::string expected = "env port=" + std::to_string(details[0].port) +
                               " service=user version=v5 instance=0 path=" + serverset_path_ +
                               " custom=yes";
  EXPECT_NE(ReadFile(details[0].log_path).find(expected), std::string::npos)
      << ReadFile(details[0].log_path);
  ASSERT_TRUE(backend->Remove("user", "v5").ok());
}

TEST_F(LocalBackendTest, BadSpecsAreRefusedWithTheField) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  struct Case {
    std::function<void(InstanceGroupSpec&)> change;
    const char* message_start;
  };
  const Case cases[] = {
      {[](InstanceGroupSpec& s) { s.artifact += " --x={prot}"; },
       "artifact: command: unknown placeholder {prot}"},
      {[](InstanceGroupSpec& s) { s.artifact = "/no/such/binary {port}"; },
       "artifact: /no/such/binary"},
      {[](InstanceGroupSpec& s) { s.artifact = "app | tee log"; },
       "artifact: command: unquoted '|'"},
      {[](InstanceGroupSpec& s) { s.artifact = ""; }, "artifact: command: empty"},
      {[](InstanceGroupSpec& s) { s.service = "../etc"; }, "service: '../etc'"},
      {[](InstanceGroupSpec& s) { s.version = "v2/x"; }, "version: 'v2/x'"},
      {[](InstanceGroupSpec& s) { s.health.protocol = "grpc"; }, "health.protocol: 'grpc'"},
      {[](InstanceGroupSpec& s) { s.serverset_path = ""; }, "serverset_path: ''"},
  };
  for (const Case& c : cases) {
    InstanceGroupSpec spec = SampleSpec("v2", 1);
    c.change(spec);
    Status refused = backend->Deploy(spec);
    ASSERT_FALSE(refused.ok()) << c.message_start;
    EXPECT_EQ(refused.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(refused.message().rfind(c.message_start, 0), 0u) << refused.message();
  }
  EXPECT_FALSE(backend->Inspect("user", "v2")->exists);
}

TEST_F(LocalBackendTest, UnsatisfiableConstraintsOneLineEach) {
  auto backend = MakeBackend(Config());
  ASSERT_TRUE(backend);
  InstanceGroupSpec spec = SampleSpec("v2", 3);
  EXPECT_TRUE(backend->Unsatisfiable(spec).empty());
  spec.constraints = {{"hostname", "UNIQUE", ""},
                      {"hostname", "CLUSTER", ""},
                      {"hostname", "BOGUS", ""},
                      {"rack", "IS", "r1"}};
  auto lines = backend->Unsatisfiable(spec);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("hostname:UNIQUE: 3 instances", 0), 0u) << lines[0];
  EXPECT_NE(lines[1].find("unknown operator 'BOGUS'"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("rack:IS:r1:", 0), 0u) << lines[2];
  spec.instances = 1;
  spec.constraints = {{"hostname", "UNIQUE", ""}};
  EXPECT_TRUE(backend->Unsatisfiable(spec).empty());
}

TEST_F(LocalBackendTest, ConfigErrorsAtCreate) {
  LocalBackendConfig config = Config();
  config.zookeeper.connect = "";
  auto no_zk = LocalBackend::Create(config);
  ASSERT_FALSE(no_zk.ok());
  EXPECT_EQ(no_zk.status().message().rfind("announce.zookeeper.connect: required", 0), 0u)
      << no_zk.status().message();
  config = Config();
  config.canarymesh_binary = "/no/such/canarymesh";
  auto no_binary = LocalBackend::Create(config);
  ASSERT_FALSE(no_binary.ok());
  EXPECT_EQ(no_binary.status().message().rfind("canarymesh_binary: ", 0), 0u)
      << no_binary.status().message();
  config = Config();
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/not-a-dir", "x").ok());
  config.state_dir = dir_ + "/not-a-dir/state";
  auto bad_dir = LocalBackend::Create(config);
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_EQ(bad_dir.status().message().rfind("state_dir: cannot create", 0), 0u)
      << bad_dir.status().message();
  // A corrupt state file is not silently replaced: it may list running processes.
  config = Config();
  std::filesystem::create_directories(config.state_dir);
  ASSERT_TRUE(WriteFileAtomically(config.state_dir + "/local-backend.json", "{garbage").ok());
  auto corrupt = LocalBackend::Create(config);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("move it aside"), std::string::npos)
      << corrupt.status().message();
  std::filesystem::remove(config.state_dir + "/local-backend.json");
}

}  // namespace
}  // namespace canarymesh::bridge::testing
