#include "router/route_table_publisher.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace canarymesh::router {
namespace {

const char* kConfig = R"(
listeners: [{listen: "127.0.0.1:1"}]
zookeeper: {connect: "127.0.0.1:2181"}
services:
  - name: user
    hosts: [user]
    versions:
      v2: ["127.0.0.1:9002"]
      v1: ["127.0.0.1:9001", "127.0.0.1:9003"]
  - name: search
    hosts: [search]
    serverset: {path: /discovery/search}
)";

class RouteTablePublisherTest : public ::testing::Test {
 protected:
  RouteTablePublisherTest()
      : config_(ParseProxyConfig(kConfig, "test.yaml").value()),
        publisher_(config_,
                   [this](const std::string& s, const std::string& v, const std::string& p) {
                     auto [it, added] =
                         keys_.emplace(s + "/" + v + "/" + p, static_cast<uint32_t>(keys_.size()));
                     return it->second;
                   }) {}

  static ServiceHostSetPtr HostSet(const std::string& service,
                                   std::map<std::string, std::vector<uint16_t>> versions) {
    auto set = std::make_shared<ServiceHostSet>();
    set->service = service;
    set->source = "zookeeper:/discovery/" + service;
    for (auto& [v, ports] : versions) {
      for (uint16_t port : ports) set->versions[v].push_back(Endpoint{"127.0.0.1", port, -1, "m"});
    }
    return set;
  }

  std::map<std::string, uint32_t> keys_;
  ProxyConfig config_;
  RouteTablePublisher publisher_;
};

TEST_F(RouteTablePublisherTest, StaticVersionsAreRoutable) {
  auto table = publisher_.Current();
  const ServiceRoute* user = table->Match("user", "/");
  ASSERT_NE(user, nullptr);
  ASSERT_EQ(user->versions.size(), 2u);
  EXPECT_EQ(user->versions[0].name, "v1");
  EXPECT_EQ(user->versions[0].instances.size(), 2u);
  EXPECT_EQ(user->live_instances, 3u);
  EXPECT_EQ(user->source, "static");
  EXPECT_NE(user->versions[0].stats_key, user->versions[1].stats_key);
  EXPECT_EQ(keys_.count("user/none/http"), 1u);
  // A discovery-only service exists but has nothing live until discovery reports.
  const ServiceRoute* search = table->Match("search", "/");
  ASSERT_NE(search, nullptr);
  EXPECT_EQ(search->live_instances, 0u);
}

TEST_F(RouteTablePublisherTest, HostSetsRepublishAndKeepInstanceIdentity) {
  uint64_t gen = publisher_.generation();
  auto before = publisher_.Current();
  std::shared_ptr<UpstreamInstance> v2_before =
      before->FindService("user")->versions[1].instances[0];

  publisher_.OnHostSet(HostSet("user", {{"v2", {9002}}, {"v3", {9004}}}));
  EXPECT_GT(publisher_.generation(), gen);
  auto after = publisher_.Current();
  const ServiceRoute* user = after->FindService("user");
  ASSERT_EQ(user->versions.size(), 3u);  // static v1, v2 merged with discovered v2, v3
  EXPECT_EQ(user->versions[1].instances.size(), 1u) << "the same address is not listed twice";
  EXPECT_EQ(user->versions[1].instances[0], v2_before) << "health must survive a snapshot swap";
  EXPECT_EQ(user->source, "static+zookeeper:/discovery/user");
  // The old snapshot is untouched.
  EXPECT_EQ(before->FindService("user")->versions.size(), 2u);
}

TEST_F(RouteTablePublisherTest, EmptyHostSetLeavesNoLiveInstance) {
  publisher_.OnHostSet(HostSet("search", {{"v1", {7001}}}));
  EXPECT_EQ(publisher_.Current()->FindService("search")->live_instances, 1u);
  publisher_.OnHostSet(HostSet("search", {}));
  const ServiceRoute* search = publisher_.Current()->FindService("search");
  EXPECT_EQ(search->live_instances, 0u);
  EXPECT_TRUE(search->versions.empty());
  EXPECT_TRUE(publisher_.Instances().size() == 3u) << "only the static user instances remain";
}

}  // namespace
}  // namespace canarymesh::router
