#include "core/config.h"

#include <gtest/gtest.h>

#include <vector>

namespace canarymesh {
namespace {

const char* kGood = R"(
workers: 2
admin: {listen: "127.0.0.1:9990", token: secret}
listeners:
  - {name: edge, listen: "127.0.0.1:4140", strip_overrides: true}
timeouts: {connect_ms: 250, request_ms: 2000}
services:
  - name: user
    hosts: [user, user.local]
    versions:
      v1: ["127.0.0.1:8081", "127.0.0.1:8082"]
      v2: ["127.0.0.1:8091"]
    route: {weights: {v1: 95, v2: 5}, sticky_header: x-user-id}
)";

TEST(ConfigTest, ParsesAFullConfig) {
  auto cfg = ParseProxyConfig(kGood, "good.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->workers, 2u);
  EXPECT_EQ(cfg->admin.token, "secret");
  ASSERT_EQ(cfg->listeners.size(), 1u);
  EXPECT_TRUE(cfg->listeners[0].strip_overrides);
  EXPECT_EQ(cfg->timeouts.connect_ms, 250u);
  EXPECT_EQ(cfg->timeouts.client_idle_ms, 60000u);  // default kept
  ASSERT_EQ(cfg->services.size(), 1u);
  EXPECT_EQ(cfg->services[0].versions.at("v1").size(), 2u);
  ASSERT_TRUE(cfg->services[0].route.has_value());
  EXPECT_EQ(cfg->services[0].route->weights.at("v2"), 5u);
  EXPECT_EQ(cfg->services[0].route->sticky_header, "x-user-id");
}

struct BadCase {
  const char* yaml;
  const char* expected_fragment;
};

class ConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrorTest, NamesFileAndField) {
  auto cfg = ParseProxyConfig(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("bad.yaml"), std::string::npos) << cfg.status().message();
  EXPECT_NE(cfg.status().message().find(GetParam().expected_fragment), std::string::npos)
      << cfg.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Bad, ConfigErrorTest,
    ::testing::Values(
        BadCase{"listeners: [{listen: '127.0.0.1:1'}]\n", "services"},
        BadCase{"services: []\n", "listeners"},
        BadCase{"listeners: [{listen: 'nope'}]\nservices: []\n", "listeners[0].listen"},
        BadCase{"listeners: [{listen: '127.0.0.1:1'}]\nservices:\n  - name: a\n    versions: {v1: "
                "['127.0.0.1:99999']}\n",
                "services[0].versions.v1[0]"},
        BadCase{"listeners: [{listen: '127.0.0.1:1'}]\nservices:\n  - name: a\n    verisons: {}\n",
                "services[0].verisons"},
        BadCase{"listeners: [{listen: '127.0.0.1:1'}]\ntimeouts: {connect_ms: x}\nservices: []\n",
                "timeouts.connect_ms"},
        BadCase{"listeners: [{listen: '127.0.0.1:1'}]\nservices:\n  - name: a\n  - name: a\n",
                "services[0]"},
        BadCase{"listeners: [\n", "YAML error"}));

// Every error also says where in the file the field is, as file:line:column.
TEST(ConfigTest, ErrorsGiveTheFieldsLineAndColumn) {
  const std::string listeners = "listeners: [{listen: '127.0.0.1:1'}]\n";
  struct Case {
    std::string yaml;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {listeners + "timeouts: {connect_ms: x}\nservices: []\n",
            "bad.yaml: timeouts.connect_ms: expected an integer, got 'x' (at bad.yaml:2:24)"},
           {listeners + "services:\n  - name: a\n    verisons: {}\n",
            "bad.yaml: services[0].verisons: unknown field (known: hosts, name, path_prefix, "
            "route, serverset, thrift, versions) (at bad.yaml:4:5)"},
           {"workers: 300\n" + listeners + "services: []\n",
            "bad.yaml: workers: must be between 0 and 256 (at bad.yaml:1:10)"},
           {listeners + "services:\n  - name: a\n    versions: {v1: ['127.0.0.1:1']}\n" +
                "  - name: b\n    versions: {v1: ['127.0.0.1:2']}\n" +
                "  - name: c\n    versions: {v1: ['127.0.0.1:3']}\n    thrift: {http_path: /x}\n" +
                "  - name: d\n    versions: {v1: ['127.0.0.1:4']}\n    thrift: {http_path: /x}\n",
            "bad.yaml: services[3].thrift.http_path: path '/x' is used by another service "
            "(at bad.yaml:12:25)"},
           {listeners + "services:\n  - versions: {v1: ['127.0.0.1:1']}\n",
            "bad.yaml: services[0].name: required (at bad.yaml:3:5)"},
           {"listeners: [\n",
            "bad.yaml: YAML error: end of sequence flow not found (at bad.yaml:2:1)"},
       }) {
    auto cfg = ParseProxyConfig(c.yaml, "bad.yaml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_EQ(cfg.status().message(), c.message) << c.yaml;
  }
}

TEST(ConfigTest, MissingFileIsAnError) {
  auto cfg = LoadProxyConfigFile("/nonexistent/proxy.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("/nonexistent/proxy.yaml"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh
