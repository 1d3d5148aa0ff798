// The bridge holding a LocalBackend is SIGKILLed mid-rollout: its instances and their ServerSet
// members must live on, and a new LocalBackend on the same state_dir adopts and can remove them.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tests/scheduler-bridge/local/local_backend_test_support.h"

namespace canarymesh::bridge::testing {
namespace {

using namespace std::chrono_literals;
using ::canarymesh::testing::TestProcess;
using ::canarymesh::testing::WaitUntil;

TEST_F(LocalBackendTest, InstancesAndMembersSurviveTheBridgeBeingKilled) {
  const LocalBackendConfig config = Config();
  const std::string yaml_path = dir_ + "/local.yaml";
  {
    std::ofstream yaml(yaml_path);
    yaml << "host: 127.0.0.1\n"
         << "port_range: " << config.port_min << "-" << config.port_max << "\n"
         << "state_dir: " << config.state_dir << "\n"
         << "log_dir: " << config.log_dir << "\n"
         << "announce: {zookeeper: {connect: \"" << config.zookeeper.connect
         << "\", session_timeout_ms: " << config.zookeeper.session_timeout_ms << "}}\n"
         << "canarymesh_binary: " << CANARYMESH_BINARY << "\n"
         << "drain_delay_ms: 300\nrestart_backoff_min_ms: 100\nsupervise_interval_ms: 50\n";
  }
  const std::string artifact =
      std::string(SAMPLE_BINARY) + " --listen 127.0.0.1:{port} --version {version}";
  TestProcess holder;
  ASSERT_TRUE(
      holder.Spawn({HOLDER_BINARY, yaml_path, "user", "v2", "2", serverset_path_, artifact}).ok());
  auto line = holder.ReadLine(120s);
  ASSERT_TRUE(line.has_value()) << "holder did not get ready; exit: "
                                << holder.Wait(1s).value_or(-1000) << " (-1000: still running)";
  ASSERT_EQ(*line, "ready");

  // What the dead bridge left in its state file.
  auto text = ReadFileIfExists(config.state_dir + "/local-backend.json");
  ASSERT_TRUE(text.ok() && text->has_value());
  auto state = ParseLocalState(**text);
  ASSERT_TRUE(state.ok()) << state.status().message();
  const std::vector<LocalInstance> recorded = state->groups.at({"user", "v2"}).instances;
  ASSERT_EQ(recorded.size(), 2u);
  std::vector<uint16_t> ports;
  for (const LocalInstance& inst : recorded) {
    tracked_.push_back(inst.process);
    tracked_.push_back(inst.announcer);
    ports.push_back(inst.port);
  }
  ASSERT_TRUE(WaitMembers(ports, "v2"));
  auto members_before = Members();

  holder.Kill(SIGKILL);
  ASSERT_TRUE(holder.Wait(60s).has_value());
  for (const LocalInstance& inst : recorded) {
    EXPECT_TRUE(Running(inst.process.pid));
    EXPECT_TRUE(Running(inst.announcer.pid));
  }
  // The members belong to the announcers' sessions, not the dead bridge's: they stay. Give a
  // session expiry's worth of time a chance to (wrongly) remove them before looking.
  std::this_thread::sleep_for(
      std::chrono::milliseconds(config.zookeeper.session_timeout_ms + 1000));
  EXPECT_EQ(Members(), members_before);

  auto successor = MakeBackend(config);
  ASSERT_TRUE(successor);
  ASSERT_TRUE(WaitReady(*successor, "v2", 2));
  auto adopted = Details(*successor, "v2");
  ASSERT_EQ(adopted.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(adopted[i].pid, recorded[i].process.pid);
    EXPECT_EQ(adopted[i].announcer_pid, recorded[i].announcer.pid);
    EXPECT_EQ(adopted[i].restarts, 0u);
  }
  ASSERT_TRUE(successor->Remove("user", "v2").ok());
  for (const LocalInstance& inst : recorded) {
    EXPECT_FALSE(Running(inst.process.pid));
    EXPECT_FALSE(Running(inst.announcer.pid));
  }
  EXPECT_TRUE(Members().empty());
}

}  // namespace
}  // namespace canarymesh::bridge::testing
