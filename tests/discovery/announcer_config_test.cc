#include <gtest/gtest.h>

#include "core/config.h"
#include "discovery/announcer.h"

namespace canarymesh {
namespace {

const char* kBase = R"(
listeners: [{listen: "127.0.0.1:4140"}]
zookeeper: {connect: "127.0.0.1:2181"}
services:
  - {name: user, serverset: {path: /discovery/user, endpoint: http}}
)";

Result<ProxyConfig> Parse(const std::string& announce) {
  return ParseProxyConfig(std::string(kBase) + announce, "test.yaml");
}

TEST(AnnouncerConfigTest, FullAnnounceSectionBecomesAnnouncerOptions) {
  auto config = Parse(R"(
announce:
  path: /discovery/user
  host: 10.0.0.3
  port: 9090
  endpoints: {http: 8080, admin: 9990}
  shard: 4
  version: v2
  health_check: {kind: http, address: "127.0.0.1:8081", path: /ready, interval_ms: 500,
                 timeout_ms: 300, rise: 2, fall: 3}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->announce.has_value());
  auto options = AnnouncerOptionsFromConfig(*config->announce);
  ASSERT_TRUE(options.ok()) << options.status().message();
  EXPECT_EQ(options->path, "/discovery/user");
  EXPECT_EQ(options->member.service_endpoint, (ServerSetEndpoint{"10.0.0.3", 9090}));
  EXPECT_EQ(options->member.additional_endpoints.at("http"), (ServerSetEndpoint{"10.0.0.3", 8080}));
  EXPECT_EQ(options->member.additional_endpoints.at("admin"),
            (ServerSetEndpoint{"10.0.0.3", 9990}));
  EXPECT_EQ(options->member.shard, 4);
  EXPECT_EQ(options->member.metadata.at("version"), "v2");
  EXPECT_EQ(options->health_check.kind, HealthCheckConfig::Kind::kHttp);
  EXPECT_EQ(options->health_check.host, "127.0.0.1");
  EXPECT_EQ(options->health_check.port, 8081);
  EXPECT_EQ(options->health_check.http_path, "/ready");
  EXPECT_EQ(options->health_check.timeout.count(), 300);
  EXPECT_EQ(options->check_interval.count(), 500);
  EXPECT_EQ(options->rise, 2u);
  EXPECT_EQ(options->fall, 3u);
}

TEST(AnnouncerConfigTest, DefaultsCheckTheServicePortOverHttpOnLoopback) {
  auto config = Parse("announce: {path: /discovery/user, host: 10.0.0.3, port: 9090}\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  auto options = AnnouncerOptionsFromConfig(*config->announce);
  ASSERT_TRUE(options.ok()) << options.status().message();
  EXPECT_EQ(options->health_check.host, "127.0.0.1");
  EXPECT_EQ(options->health_check.port, 9090);
  EXPECT_EQ(options->health_check.http_path, "/health");
  EXPECT_FALSE(options->member.shard.has_value());
  EXPECT_TRUE(options->member.metadata.empty());
}

TEST(AnnouncerConfigTest, NoAnnounceSectionMeansNothingToAnnounce) {
  auto config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_FALSE(config->announce.has_value());
}

TEST(AnnouncerConfigTest, BadAnnounceSectionsNameTheField) {
  struct Case {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"announce: {host: h, port: 1}\n", "announce.path"},
      {"announce: {path: rel, host: h, port: 1}\n", "announce.path"},
      {"announce: {path: /a, port: 1}\n", "announce.host"},
      {"announce: {path: /a, host: h}\n", "announce.port"},
      {"announce: {path: /a, host: h, port: 70000}\n", "announce.port"},
      {"announce: {path: /a, host: h, port: 1, endpoints: {http: 0}}\n", "announce.endpoints.http"},
      {"announce: {path: /a, host: h, port: 1, shard: x}\n", "announce.shard"},
      {"announce: {path: /a, host: h, port: 1, health_check: {kind: udp}}\n",
       "announce.health_check.kind"},
      {"announce: {path: /a, host: h, port: 1, health_check: {path: ready}}\n",
       "announce.health_check.path"},
      {"announce: {path: /a, host: h, port: 1, health_check: {address: nope}}\n",
       "announce.health_check.address"},
      {"announce: {path: /a, host: h, port: 1, color: red}\n", "announce.color"},
  };
  for (const auto& c : cases) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.status().message().find(c.field), std::string::npos)
        << c.yaml << " -> " << config.status().message();
  }
  auto no_zookeeper = ParseProxyConfig(
      "listeners: [{listen: \"127.0.0.1:4140\"}]\n"
      "services: [{name: a, versions: {v1: [\"127.0.0.1:1\"]}}]\n"
      "announce: {path: /a, host: h, port: 1}\n",
      "test.yaml");
  ASSERT_FALSE(no_zookeeper.ok());
  EXPECT_NE(no_zookeeper.status().message().find("needs zookeeper.connect"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh
