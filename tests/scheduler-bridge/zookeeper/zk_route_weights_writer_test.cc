// ZkRouteWeightsWriter against a real ZooKeeper: what is written is what the sidecars' znode
// holds and what is read back.
#include "scheduler-bridge/zookeeper/zk_route_weights_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/zk_ops.h"
#include "tests/integration/zk_server.h"

namespace canarymesh::bridge {
namespace {

using namespace std::chrono_literals;

canary::RoutePolicy Policy(uint32_t stable, uint32_t canary) {
  auto policy = canary::RoutePolicy::Create({{"v1", stable}, {"v2", canary}},
                                            {canary::StickyKeySource::Kind::kHeader, "x-user"},
                                            {"v2", "v1"}, canary::PolicySource::kAdmin, 1);
  EXPECT_TRUE(policy.ok()) << policy.status().message();
  return policy.value();
}

TEST(ZkRouteWeightsWriterTest, WrittenPolicyIsReadBackEqual) {
  canarymesh::testing::ZkServer server;
  Status started = server.Start();
  ASSERT_TRUE(started.ok()) << started.message();
  auto session = ZkSession::Create(server.client_config());
  ASSERT_TRUE(session.ok() && session.value()->WaitConnected(30s));
  ZkRouteWeightsWriter writer(*session.value(), "/cm/routes");
  EXPECT_EQ(writer.PathOf("user"), "/cm/routes/user");

  auto none = writer.Read("user");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none.value().has_value());

  for (uint32_t canary : {1u, 25u, 100u}) {
    canary::RoutePolicy written = Policy(100 - canary, canary);
    Status s = writer.Write("user", written);
    ASSERT_TRUE(s.ok()) << s.message();
    // The znode holds exactly the policy document the sidecars parse.
    auto raw = ZkGetData(*session.value(), "/cm/routes/user", false);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(nlohmann::json::parse(raw->data), written.ToJson());
    auto read = writer.Read("user");
    ASSERT_TRUE(read.ok() && read.value()) << read.status().message();
    EXPECT_TRUE(read.value()->SameRouting(written)) << read.value()->ToJson().dump();
    EXPECT_EQ(read.value()->WeightOf("v2"), canary);
    EXPECT_EQ(read.value()->source(), canary::PolicySource::kZooKeeper);
  }

  EXPECT_EQ(writer.Write("a/b", Policy(1, 1)).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(writer.Read("").status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(WritePersistentZnode(*session.value(), "/cm/routes/broken", "{\"weights\":7}").ok());
  auto broken = writer.Read("broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("/cm/routes/broken"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
