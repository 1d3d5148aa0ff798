// Interoperability with kazoo (python3-kazoo), a ZooKeeper client nobody here wrote: members
// written by it in Finagle's format are found by ServerSetWatcher, and members written by the
// Announcer pass its independent ServerSet validation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/announcer.h"
#include "discovery/serverset_watcher.h"
#include "discovery/zk_ops.h"
#include "discovery/zk_session.h"
#include "tests/discovery/local_health_server.h"
#include "tests/discovery/recording_listener.h"
#include "tests/integration/zk_server.h"

namespace canarymesh {
namespace {

using namespace std::chrono_literals;
using testing::TestProcess;
using testing::WaitUntil;

std::string Script(const std::string& name) {
  return std::string(CANARYMESH_DISCOVERY_SCRIPTS) + "/" + name;
}

class KazooInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    auto session = ZkSession::Create(server_.client_config());
    ASSERT_TRUE(session.ok());
    session_ = std::move(session.value());
    ASSERT_TRUE(session_->WaitConnected(30s));
  }

  testing::ZkServer server_;
  std::unique_ptr<ZkSession> session_;
};

TEST_F(KazooInteropTest, WatcherFindsFinagleMembersWrittenByKazoo) {
  testing::RecordingListener listener;
  ServiceConfig by_service_endpoint;
  by_service_endpoint.name = "user";
  by_service_endpoint.serverset.path = "/finagle/user";
  ServiceConfig by_http = by_service_endpoint;
  by_http.name = "user-http";
  by_http.serverset.endpoint = "http";
  ServerSetWatcher watcher(*session_, {by_service_endpoint, by_http}, listener);
  watcher.Start();

  TestProcess kazoo;
  ASSERT_TRUE(
      kazoo
          .Spawn({CANARYMESH_PYTHON, Script("discovery_kazoo_write_members.py"), "--zk",
                  server_.connect_string(), "--path", "/finagle/user", "--member",
                  "host=10.0.1.1,port=9090,status=ALIVE,version=v1,http=8080,shard=0", "--member",
                  "host=10.0.1.2,port=9090,status=ALIVE,version=v2,http=8080,shard=1", "--member",
                  "host=10.0.1.3,port=9090,status=STARTING,version=v2,http=8080", "--member",
                  "host=10.0.1.4,port=9090,status=ALIVE"},
                 "", /*stdin_pipe=*/true)
          .ok());
  auto ready = kazoo.ReadLine(60s);
  ASSERT_TRUE(ready.has_value()) << "kazoo script did not start";
  ASSERT_EQ(ready->rfind("ready /finagle/user/member_", 0), 0u) << *ready;

  ASSERT_TRUE(WaitUntil([&] {
    return listener.LatestText("user") ==
           "default=[10.0.1.4:9090] v1=[10.0.1.1:9090] v2=[10.0.1.2:9090]";
  })) << listener.LatestText("user");
  // Selecting the "http" additional endpoint; member 4 has none, so it is skipped and counted.
  ASSERT_TRUE(WaitUntil([&] {
    return listener.LatestText("user-http") == "v1=[10.0.1.1:8080] v2=[10.0.1.2:8080]";
  })) << listener.LatestText("user-http");
  // The http view can match before member 4 has been read (members arrive one by one), so wait
  // for the count rather than read it at once.
  ASSERT_TRUE(WaitUntil([&] { return watcher.Stats().bad_members >= 1; }));
  EXPECT_EQ(watcher.Stats().bad_members, 1u);
  EXPECT_EQ(listener.Latest("user")->versions.at("v2")[0].shard, 1);
  EXPECT_EQ(listener.Latest("user")->versions.at("default")[0].shard, -1);

  // The script closes its session: ZooKeeper deletes the ephemeral members; a real empty follows.
  kazoo.CloseStdin();
  auto exit_code = kazoo.Wait(60s);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return listener.LatestText("user").empty(); }))
      << listener.LatestText("user");
  watcher.Stop();
}

TEST_F(KazooInteropTest, AnnouncedMemberIsProperServerSetJsonForKazoo) {
  testing::LocalHealthServer health;
  ASSERT_TRUE(health.ok());
  AnnouncerOptions options;
  options.path = "/finagle/billing";
  options.member.service_endpoint = {"10.0.2.5", 9090};
  options.member.additional_endpoints["http"] = {"10.0.2.5", 8080};
  options.member.shard = 3;
  options.member.metadata["version"] = "v7";
  options.health_check.kind = HealthCheckConfig::Kind::kHttp;
  options.health_check.port = health.port();
  options.check_interval = 100ms;
  Announcer announcer(*session_, options);
  ASSERT_TRUE(announcer.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return announcer.Stats().announced; }));

  TestProcess kazoo;
  ASSERT_TRUE(
      kazoo
          .Spawn({CANARYMESH_PYTHON, Script("discovery_kazoo_check_members.py"), "--zk",
                  server_.connect_string(), "--path", "/finagle/billing", "--expect-count", "1"})
          .ok());
  auto line = kazoo.ReadLine(60s);
  auto exit_code = kazoo.Wait(60s);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0) << "kazoo found the member invalid (see stderr above)";
  ASSERT_TRUE(line.has_value());
  auto summary = nlohmann::json::parse(*line, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << *line;
  EXPECT_EQ(summary["path"], announcer.Stats().member_path);
  EXPECT_EQ(summary["host"], "10.0.2.5");
  EXPECT_EQ(summary["port"], 9090);
  EXPECT_EQ(summary["status"], "ALIVE");
  EXPECT_EQ(summary["shard"], 3);
  EXPECT_EQ(summary["version"], "v7");
  EXPECT_EQ(summary["endpoints"]["http"], nlohmann::json::array({"10.0.2.5", 8080}));
  EXPECT_EQ(summary["ephemeral"], true);

  ASSERT_TRUE(announcer.Stop().ok());
}

TEST_F(KazooInteropTest, KazooCheckerRejectsMalformedMembers) {
  // The checker must be able to fail, or the test above proves nothing.
  ASSERT_TRUE(ZkEnsurePath(*session_, "/finagle/bad").ok());
  ASSERT_TRUE(ZkCreate(*session_, "/finagle/bad/member_",
                       R"({"serviceEndpoint":{"host":"10.0.0.1","port":0},"status":"UP"})",
                       ZnodeMode::kEphemeralSequential)
                  .ok());
  TestProcess kazoo;
  ASSERT_TRUE(kazoo
                  .Spawn({CANARYMESH_PYTHON, Script("discovery_kazoo_check_members.py"), "--zk",
                          server_.connect_string(), "--path", "/finagle/bad"})
                  .ok());
  while (kazoo.ReadLine(60s)) {
  }
  auto exit_code = kazoo.Wait(60s);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 1);
}

}  // namespace
}  // namespace canarymesh
