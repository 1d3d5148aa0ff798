#include "discovery/service_members.h"

#include <gtest/gtest.h>

namespace canarymesh {
namespace {

std::string Member(const std::string& host, int port, const std::string& status = "ALIVE",
                   const std::string& version = "", int http_port = 0) {
  std::string json =
      R"({"serviceEndpoint":{"host":")" + host + R"(","port":)" + std::to_string(port) + "}";
  if (http_port) {
    json += R"(,"additionalEndpoints":{"http":{"host":")" + host + R"(","port":)" +
            std::to_string(http_port) + "}}";
  }
  json += R"(,"status":")" + status + "\"";
  if (!version.empty()) json += R"(,"metadata":{"version":")" + version + "\"}";
  return json + "}";
}

ServiceConfig Service(const std::string& endpoint = "",
                      std::map<std::string, std::string> version_paths = {}) {
  ServiceConfig config;
  config.name = "user";
  config.serverset.path = "/discovery/user";
  config.serverset.endpoint = endpoint;
  config.serverset.version_paths = std::move(version_paths);
  return config;
}

std::string Text(const ServiceHostSet& set) {
  std::string text;
  for (const auto& [version, endpoints] : set.versions) {
    text += (text.empty() ? "" : " ") + version + "=";
    for (size_t i = 0; i < endpoints.size(); ++i) {
      text += (i ? "," : "") + endpoints[i].host + ":" + std::to_string(endpoints[i].port);
    }
  }
  return text;
}

TEST(ServiceMembersTest, IgnoresChildrenThatAreNotMembers) {
  ServiceMembers members(Service());
  auto unknown = members.SetChildren("/discovery/user", {"member_0000000002", "vector_0000000001",
                                                         "lock", "member_", "member_0000000001"});
  EXPECT_EQ(unknown, (std::vector<std::string>{"member_0000000001", "member_0000000002"}));
  EXPECT_FALSE(IsServerSetMemberName("member_"));
  EXPECT_TRUE(IsServerSetMemberName("member_0000000001"));
}

TEST(ServiceMembersTest, OnlyAliveMembersAreRoutable) {
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1", "member_2", "member_3"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.2", 80, "STARTING"));
  members.SetMemberData("/discovery/user", "member_3", Member("10.0.0.3", 80, "DEAD"));
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.1:80");
  EXPECT_EQ(members.bad_member_count(), 0u);
  EXPECT_EQ(members.member_count(), 3u);
}

TEST(ServiceMembersTest, VersionFromMetadataThenMappedPathThenDefault) {
  ServiceMembers members(Service("", {{"/discovery/user-canary", "v2"}}));
  EXPECT_EQ(members.paths(),
            (std::vector<std::string>{"/discovery/user", "/discovery/user-canary"}));
  members.SetChildren("/discovery/user", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80, "ALIVE", "v1"));
  members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.2", 80));
  members.SetChildren("/discovery/user-canary", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user-canary", "member_1", Member("10.0.0.3", 80));
  members.SetMemberData("/discovery/user-canary", "member_2",
                        Member("10.0.0.4", 80, "ALIVE", "v3"));
  EXPECT_EQ(Text(members.BuildHostSet()),
            "default=10.0.0.2:80 v1=10.0.0.1:80 v2=10.0.0.3:80 v3=10.0.0.4:80");
}

TEST(ServiceMembersTest, BadDataIsSkippedReportedOnceAndOthersStay) {
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  MemberDataResult bad = members.SetMemberData("/discovery/user", "member_2", "{oops");
  EXPECT_TRUE(bad.changed);
  EXPECT_FALSE(bad.problem.ok());
  EXPECT_EQ(members.bad_member_count(), 1u);
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.1:80");
  // The same bad bytes again (a re-read after reconnect) are not news.
  MemberDataResult again = members.SetMemberData("/discovery/user", "member_2", "{oops");
  EXPECT_FALSE(again.changed);
  EXPECT_TRUE(again.problem.ok());
  // Fixed data makes it routable.
  MemberDataResult fixed =
      members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.2", 80));
  EXPECT_TRUE(fixed.changed);
  EXPECT_TRUE(fixed.problem.ok());
  EXPECT_EQ(members.bad_member_count(), 0u);
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.1:80,10.0.0.2:80");
}

TEST(ServiceMembersTest, NamedEndpointIsUsedAndMembersWithoutItAreBad) {
  ServiceMembers members(Service("http"));
  members.SetChildren("/discovery/user", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 9090, "ALIVE", "", 8080));
  MemberDataResult missing =
      members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.2", 9090));
  EXPECT_FALSE(missing.problem.ok());
  EXPECT_NE(missing.problem.message().find("'http'"), std::string::npos);
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.1:8080");
}

TEST(ServiceMembersTest, RelistingForgetsVanishedMembersAndLateDataIsIgnored) {
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.2", 80));
  auto unknown = members.SetChildren("/discovery/user", {"member_2", "member_3"});
  EXPECT_EQ(unknown, std::vector<std::string>{"member_3"});
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.2:80");
  // Data read for member_1 before it vanished must not bring it back.
  MemberDataResult late =
      members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.9", 80));
  EXPECT_FALSE(late.changed);
  EXPECT_EQ(Text(members.BuildHostSet()), "default=10.0.0.2:80");
  members.RemoveMember("/discovery/user", "member_2");
  EXPECT_EQ(Text(members.BuildHostSet()), "");
}

TEST(ServiceMembersTest, SameHostPortTwiceInAVersionAppearsOnce) {
  // A restarted instance's new member shows up while the old session's one still lingers.
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1", "member_2"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  members.SetMemberData("/discovery/user", "member_2", Member("10.0.0.1", 80));
  ServiceHostSet set = members.BuildHostSet();
  ASSERT_EQ(set.versions["default"].size(), 1u);
  EXPECT_EQ(set.versions["default"][0].member, "/discovery/user/member_1");
}

TEST(ServiceMembersTest, AbsentPathHasNoMembers) {
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  EXPECT_TRUE(members.path_exists("/discovery/user"));
  members.SetAbsent("/discovery/user");
  EXPECT_FALSE(members.path_exists("/discovery/user"));
  EXPECT_TRUE(members.BuildHostSet().versions.empty());
}

TEST(ServiceMembersTest, SameHostsComparesEndpointsNotTimestamps) {
  ServiceMembers members(Service());
  members.SetChildren("/discovery/user", {"member_1"});
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 80));
  ServiceHostSet a = members.BuildHostSet();
  ServiceHostSet b = members.BuildHostSet();
  b.updated_unix_ms = 12345;
  EXPECT_TRUE(SameHosts(a, b));
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 81));
  EXPECT_FALSE(SameHosts(a, members.BuildHostSet()));
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 81, "ALIVE", "v2"));
  ServiceHostSet c = members.BuildHostSet();
  members.SetMemberData("/discovery/user", "member_1", Member("10.0.0.1", 81, "ALIVE", "v3"));
  EXPECT_FALSE(SameHosts(c, members.BuildHostSet()));
}

}  // namespace
}  // namespace canarymesh
