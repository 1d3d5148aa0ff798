#include "tests/scheduler-bridge/local/local_backend_test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "discovery/serverset_member.h"
#include "discovery/zk_ops.h"
#include "scheduler-bridge/local/process_probe.h"

namespace canarymesh::bridge::testing {

using namespace std::chrono_literals;
using ::canarymesh::testing::WaitUntil;

::canarymesh::testing::ZkServer* LocalBackendTest::zk_ = nullptr;

void LocalBackendTest::SetUpTestSuite() {
  zk_ = new ::canarymesh::testing::ZkServer();
  Status started = zk_->Start();
  ASSERT_TRUE(started.ok()) << started.message();
}

void LocalBackendTest::TearDownTestSuite() {
  delete zk_;
  zk_ = nullptr;
}

void LocalBackendTest::SetUp() {
  ASSERT_NE(zk_, nullptr);
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  dir_ = std::filesystem::temp_directory_path() /
         ("cm-local-backend-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  serverset_path_ = "/discovery/" + name;
  auto session = ZkSession::Create(zk_->client_config());
  ASSERT_TRUE(session.ok()) << session.status().message();
  reader_ = std::move(session.value());
  ASSERT_TRUE(reader_->WaitConnected(30s));
}

bool LocalBackendTest::Running(pid_t pid) {
  auto stat = ReadProcStat(pid);
  return stat.has_value() && stat->state != 'Z' && stat->state != 'X';
}

void LocalBackendTest::TearDown() {
  // Everything the state file records, plus what the test saw: SIGKILL the groups, then reap.
  std::vector<ProcessIdentity> victims;
  auto text = ReadFileIfExists(dir_ + "/state/local-backend.json");
  if (text.ok() && text->has_value()) {
    auto state = ParseLocalState(**text);
    if (state.ok()) {
      for (const auto& [key, group] : state->groups) {
        for (const LocalInstance& inst : group.instances) {
          victims.push_back(inst.process);
          victims.push_back(inst.announcer);
        }
      }
    }
  }
  victims.insert(victims.end(), tracked_.begin(), tracked_.end());
  for (const ProcessIdentity& id : victims) SignalProcessGroup(id, SIGKILL);
  for (const ProcessIdentity& id : victims) {
    WaitUntil([&] { return ProbeProcess(id).state != ProcessProbe::State::kRunning; }, 30s);
  }
  reader_.reset();
  std::filesystem::remove_all(dir_);
}

LocalBackendConfig LocalBackendTest::Config() const {
  LocalBackendConfig config;
  config.host = "127.0.0.1";
  uint16_t base = ::canarymesh::testing::PickFreePort();
  config.port_min = base;
  config.port_max = static_cast<uint16_t>(std::min<uint32_t>(65535, base + 40u));
  config.state_dir = dir_ + "/state";
  config.log_dir = dir_ + "/logs";
  config.announce_mode = LocalBackendConfig::AnnounceMode::kCompanion;
  config.zookeeper = zk_->client_config();
  config.canarymesh_binary = CANARYMESH_BINARY;
  config.drain_delay_ms = 300;
  config.max_consecutive_restarts = 3;
  config.restart_backoff_min_ms = 100;
  config.restart_backoff_max_ms = 800;
  config.supervise_interval_ms = 50;
  return config;
}

InstanceGroupSpec LocalBackendTest::SampleSpec(const std::string& version,
                                               uint32_t instances) const {
  InstanceGroupSpec spec;
  spec.service = "user";
  spec.version = version;
  spec.artifact =
      std::string(SAMPLE_BINARY) +
      " --listen 127.0.0.1:{port} --version {version} --service {service} --instance {instance}";
  spec.instances = instances;
  spec.health.protocol = "http";
  spec.health.path = "/health";
  spec.health.interval_ms = 200;
  spec.health.timeout_ms = 5000;
  spec.health.grace_period_ms = 60'000;
  spec.health.max_consecutive_failures = 3;
  spec.serverset_path = serverset_path_;
  spec.stop_grace_period_ms = 10'000;
  return spec;
}

std::unique_ptr<LocalBackend> LocalBackendTest::MakeBackend(const LocalBackendConfig& config) {
  auto backend = LocalBackend::Create(config);
  EXPECT_TRUE(backend.ok()) << backend.status().message();
  return backend.ok() ? std::move(backend.value()) : nullptr;
}

std::map<uint16_t, std::string> LocalBackendTest::Members() {
  std::map<uint16_t, std::string> members;
  auto children = ZkGetChildren(*reader_, serverset_path_, false);
  if (!children.ok()) return members;
  for (const std::string& child : children.value()) {
    auto data = ZkGetData(*reader_, serverset_path_ + "/" + child, false);
    if (!data.ok()) continue;
    auto member = ParseServerSetMember(data->data);
    if (!member.ok()) continue;
    auto version = member->metadata.find("version");
    members[member->service_endpoint.port] =
        version == member->metadata.end() ? "" : version->second;
  }
  return members;
}

bool LocalBackendTest::WaitReady(LocalBackend& backend, const std::string& version,
                                 uint32_t count) {
  return WaitUntil(
      [&] {
        auto status = backend.Inspect("user", version);
        return status.ok() && status->Ready() && status->healthy == count;
      },
      90s);
}

bool LocalBackendTest::WaitMembers(const std::vector<uint16_t>& ports, const std::string& version) {
  std::map<uint16_t, std::string> expected;
  for (uint16_t port : ports) expected[port] = version;
  return WaitUntil([&] { return Members() == expected; }, 90s);
}

std::vector<LocalInstanceDetail> LocalBackendTest::Details(LocalBackend& backend,
                                                           const std::string& version) {
  auto details = backend.Instances("user", version);
  EXPECT_TRUE(details.ok()) << details.status().message();
  if (!details.ok()) return {};
  Track(details.value());
  return details.value();
}

void LocalBackendTest::Track(const std::vector<LocalInstanceDetail>& details) {
  for (const LocalInstanceDetail& d : details) {
    for (pid_t pid : {d.pid, d.announcer_pid}) {
      auto stat = pid != 0 ? ReadProcStat(pid) : std::nullopt;
      if (stat.has_value()) tracked_.push_back({pid, stat->start_ticks});
    }
  }
}

}  // namespace canarymesh::bridge::testing
