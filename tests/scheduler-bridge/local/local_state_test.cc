#include "scheduler-bridge/local/local_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace canarymesh::bridge {
namespace {

LocalState SampleState() {
  LocalState state;
  state.boot_id = "boot-1";
  LocalGroup group;
  group.spec.service = "user";
  group.spec.version = "v2";
  group.spec.artifact = "app --port {port}";
  group.spec.instances = 2;
  group.spec.env = {{"A", "1"}};
  group.spec.serverset_path = "/discovery/user";
  group.spec.stop_grace_period_ms = 1234;
  group.spec.health.protocol = "tcp";
  group.spec.health.grace_period_ms = 999;
  group.next_index = 3;
  group.removing = true;
  LocalInstance inst;
  inst.index = 2;
  inst.port = 31002;
  inst.process = {4242, 777};
  inst.announcer = {4243, 778};
  inst.phase = InstancePhase::kDraining;
  inst.restarts = 4;
  inst.consecutive_crashes = 1;
  inst.announcer_restarts = 2;
  inst.last_exit = "exit status 3";
  inst.failure = "";
  group.instances.push_back(inst);
  state.groups[{"user", "v2"}] = group;
  return state;
}

TEST(LocalStateTest, RoundTrips) {
  LocalState state = SampleState();
  auto parsed = ParseLocalState(SerializeLocalState(state));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->boot_id, "boot-1");
  ASSERT_EQ(parsed->groups.size(), 1u);
  const LocalGroup& group = parsed->groups.at({"user", "v2"});
  EXPECT_EQ(group.spec.artifact, "app --port {port}");
  EXPECT_EQ(group.spec.instances, 2u);
  EXPECT_EQ(group.spec.env.at("A"), "1");
  EXPECT_EQ(group.spec.health.protocol, "tcp");
  EXPECT_EQ(group.spec.health.grace_period_ms, 999u);
  EXPECT_EQ(group.spec.stop_grace_period_ms, 1234u);
  EXPECT_TRUE(group.removing);
  EXPECT_EQ(group.next_index, 3u);
  ASSERT_EQ(group.instances.size(), 1u);
  const LocalInstance& inst = group.instances[0];
  EXPECT_EQ(inst.index, 2u);
  EXPECT_EQ(inst.port, 31002);
  EXPECT_EQ(inst.process, (ProcessIdentity{4242, 777}));
  EXPECT_EQ(inst.announcer, (ProcessIdentity{4243, 778}));
  EXPECT_EQ(inst.phase, InstancePhase::kDraining);
  EXPECT_EQ(inst.restarts, 4u);
  EXPECT_EQ(inst.consecutive_crashes, 1u);
  EXPECT_EQ(inst.announcer_restarts, 2u);
  EXPECT_EQ(inst.last_exit, "exit status 3");
}

TEST(LocalStateTest, BadFilesAreErrors) {
  EXPECT_FALSE(ParseLocalState("not json").ok());
  EXPECT_FALSE(ParseLocalState("{}").ok());
  EXPECT_FALSE(ParseLocalState(R"({"format": 99, "boot_id": "", "groups": []})").ok());
  std::string text = SerializeLocalState(SampleState());
  std::string bad_phase = text;
  bad_phase.replace(bad_phase.find("\"draining\""), 10, "\"sleeping\"");
  auto parsed = ParseLocalState(bad_phase);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("sleeping"), std::string::npos);
}

TEST(LocalStateTest, AtomicWriteAndRead) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("cm-local-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.json";
  auto missing = ReadFileIfExists(path);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  auto read = ReadFileIfExists(path);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_FALSE(WriteFileAtomically(dir + "/no/such/dir/file", "x").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace canarymesh::bridge
