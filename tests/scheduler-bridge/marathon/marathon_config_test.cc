#include "scheduler-bridge/marathon/marathon_config.h"

#include <gtest/gtest.h>

namespace canarymesh::bridge {
namespace {

Result<MarathonBackendConfig> Parse(const std::string& text) {
  return MarathonBackendConfigFromYaml(YAML::Load(text));
}

TEST(MarathonConfigTest, ReadsEverySetting) {
  auto config = Parse(R"(
url: https://marathon.example:8443/service/marathon
app_id_prefix: /prod/canarymesh
auth: {user: bridge, password: pw}
ca_file: /etc/ssl/dcos-ca.crt
connect_timeout_ms: 700
request_timeout_ms: 9000
force_scale_when_locked: true
upgrade_strategy: {minimum_health_capacity: 0.5, maximum_over_capacity: 0}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->url, "https://marathon.example:8443/service/marathon");
  EXPECT_EQ(config->app_id_prefix, "/prod/canarymesh");
  EXPECT_EQ(config->basic_user, "bridge");
  EXPECT_EQ(config->basic_password, "pw");
  EXPECT_EQ(config->http.ca_file, "/etc/ssl/dcos-ca.crt");
  EXPECT_EQ(config->http.connect_timeout_ms, 700u);
  EXPECT_EQ(config->http.request_timeout_ms, 9000u);
  EXPECT_TRUE(config->force_scale_when_locked);
  EXPECT_DOUBLE_EQ(config->minimum_health_capacity, 0.5);
  EXPECT_DOUBLE_EQ(config->maximum_over_capacity, 0.0);
}

TEST(MarathonConfigTest, EmptySectionGivesDefaults) {
  auto config = Parse("{}");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->url, "http://localhost:8080");
  EXPECT_EQ(config->app_id_prefix, "/canarymesh");
  auto token = Parse("auth: {token_file: /run/secrets/dcos-token}");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->token_file, "/run/secrets/dcos-token");
}

TEST(MarathonConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* yaml;
    const char* field;
  };
  for (const Case& c :
       {Case{"urls: x", "marathon.urls"}, Case{"url: marathon:8080", "marathon.url"},
        Case{"app_id_prefix: canarymesh", "marathon.app_id_prefix"},
        Case{"app_id_prefix: /Canary", "marathon.app_id_prefix"},
        Case{"auth: {user: a, token_file: /t}", "marathon.auth"},
        Case{"auth: {password: p}", "marathon.auth.user"},
        Case{"auth: {users: a}", "marathon.auth.users"}, Case{"auth: [a]", "marathon.auth"},
        Case{"connect_timeout_ms: -5", "marathon.connect_timeout_ms"},
        Case{"request_timeout_ms: 0", "marathon"},
        Case{"force_scale_when_locked: maybe", "marathon.force_scale_when_locked"},
        Case{"upgrade_strategy: {minimum_health_capacity: 1.5}", "marathon.upgrade_strategy"},
        Case{"upgrade_strategy: {maximum_over_capacity: lots}",
             "marathon.upgrade_strategy.maximum_over_capacity"},
        Case{"url: [a, b]", "marathon.url"}, Case{"- a list", "marathon"}}) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument) << c.yaml;
    EXPECT_EQ(config.status().message().rfind(c.field, 0), 0u)
        << c.yaml << " -> " << config.status().message();
  }
}

TEST(MarathonConfigTest, ErrorsGiveTheLineAndColumn) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& c : {
           Case{"url: http://m:8080\nforce_scale_when_locked: maybe",
                "marathon.force_scale_when_locked: expected true or false, got 'maybe' (at 2:26)"},
           Case{"auth:\n  users: a",
                "marathon.auth.users: unknown field (known: password, token_file, user) (at 2:3)"},
           Case{"connect_timeout_ms: -5",
                "marathon.connect_timeout_ms: must be between 1 and 4294967295 (at 1:21)"},
           Case{"upgrade_strategy: {maximum_over_capacity: 2}",
                "marathon.upgrade_strategy.maximum_over_capacity: capacities must lie between 0 "
                "and 1 (at 1:43)"},
           Case{"\napp_id_prefix: /Canary",
                "marathon.app_id_prefix: segment \"Canary\" may hold only lower-case letters, "
                "digits, '-' and '.' (at 2:16)"},
       }) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().message(), c.message) << c.yaml;
  }
}

}  // namespace
}  // namespace canarymesh::bridge
