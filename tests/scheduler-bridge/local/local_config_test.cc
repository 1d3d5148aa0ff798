#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "scheduler-bridge/local/local_backend_config.h"

namespace canarymesh::bridge {
namespace {

Result<LocalBackendConfig> Parse(const std::string& yaml) {
  return LocalBackendConfigFromYaml(YAML::Load(yaml));
}

TEST(LocalBackendConfigTest, ParsesEveryField) {
  auto config = Parse(R"(
host: 127.0.0.2
port_range: 40000-40010
state_dir: /var/lib/cm
log_dir: /var/log/cm
announce: {zookeeper: {connect: "127.0.0.1:2181", chroot: /prod, session_timeout_ms: 5000}}
canarymesh_binary: /usr/bin/canarymesh
drain_delay_ms: 100
max_consecutive_restarts: 2
restart_backoff_min_ms: 50
restart_backoff_max_ms: 400
supervise_interval_ms: 20
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->host, "127.0.0.2");
  EXPECT_EQ(config->port_min, 40000);
  EXPECT_EQ(config->port_max, 40010);
  EXPECT_EQ(config->state_dir, "/var/lib/cm");
  EXPECT_EQ(config->log_dir, "/var/log/cm");
  EXPECT_EQ(config->announce_mode, LocalBackendConfig::AnnounceMode::kCompanion);
  EXPECT_EQ(config->zookeeper.connect, "127.0.0.1:2181");
  EXPECT_EQ(config->zookeeper.chroot, "/prod");
  EXPECT_EQ(config->zookeeper.session_timeout_ms, 5000u);
  EXPECT_EQ(config->canarymesh_binary, "/usr/bin/canarymesh");
  EXPECT_EQ(config->drain_delay_ms, 100u);
  EXPECT_EQ(config->max_consecutive_restarts, 2u);
  EXPECT_EQ(config->restart_backoff_min_ms, 50u);
  EXPECT_EQ(config->restart_backoff_max_ms, 400u);
  EXPECT_EQ(config->supervise_interval_ms, 20u);
}

TEST(LocalBackendConfigTest, DefaultsNeedOnlyStateDir) {
  auto config = Parse("state_dir: /tmp/x\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->drain_delay_ms, 2000u);
  EXPECT_EQ(config->announce_mode, LocalBackendConfig::AnnounceMode::kCompanion);
  EXPECT_TRUE(config->zookeeper.connect.empty());  // the bridge fills in its own
}

TEST(LocalBackendConfigTest, AnnounceSelf) {
  auto config = Parse("state_dir: /tmp/x\nannounce: self\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->announce_mode, LocalBackendConfig::AnnounceMode::kSelf);
}

TEST(LocalBackendConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* yaml;
    const char* message_start;
  };
  const Case cases[] = {
      {"host: 127.0.0.1\n", "backend.local.state_dir: required"},
      {"state_dir: relative\n", "backend.local.state_dir:"},
      {"state_dir: /x\nport_range: abc\n", "backend.local.port_range: expected MIN-MAX"},
      {"state_dir: /x\nport_range: 200-100\n", "backend.local.port_range: MIN must not exceed MAX"},
      {"state_dir: /x\nport_range: 1-70000\n", "backend.local.port_range:"},
      {"state_dir: /x\nports: 1-2\n", "backend.local.ports: unknown field"},
      {"state_dir: /x\nannounce: maybe\n", "backend.local.announce: expected 'self'"},
      {"state_dir: /x\nannounce: {zookeeper: {chroot: /a}}\n",
       "backend.local.announce.zookeeper.connect: required"},
      {"state_dir: /x\nannounce: {zookeeper: {connect: a, chroot: prod}}\n",
       "backend.local.announce.zookeeper.chroot:"},
      {"state_dir: /x\ndrain_delay_ms: -5\n", "backend.local.drain_delay_ms: must be between"},
      {"state_dir: /x\ndrain_delay_ms: soon\n",
       "backend.local.drain_delay_ms: expected an integer"},
      {"state_dir: /x\nhost: 0.0.0.0\n", "backend.local.host:"},
      {"state_dir: /x\nrestart_backoff_min_ms: 500\nrestart_backoff_max_ms: 100\n",
       "backend.local.restart_backoff_min_ms:"},
      {"- a\n- b\n", "backend.local: expected a mapping"},
  };
  for (const Case& c : cases) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().message().rfind(c.message_start, 0), 0u)
        << c.yaml << " -> " << config.status().message();
  }
}

TEST(LocalBackendConfigTest, ErrorsGiveTheLineAndColumn) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"state_dir: /x\ndrain_delay_ms: soon\n",
       "backend.local.drain_delay_ms: expected an integer, got 'soon' (at 2:17)"},
      {"state_dir: /x\nsupervise_interval_ms: 5\n",
       "backend.local.supervise_interval_ms: must be between 10 and 60000 (at 2:24)"},
      {"state_dir: /x\nports: 1-2\n",
       "backend.local.ports: unknown field (known: announce, canarymesh_binary, drain_delay_ms, "
       "host, log_dir, max_consecutive_restarts, port_range, restart_backoff_max_ms, "
       "restart_backoff_min_ms, state_dir, supervise_interval_ms) (at 2:1)"},
      {"state_dir: /x\nport_range: 200-100\n",
       "backend.local.port_range: MIN must not exceed MAX, got '200-100' (at 2:13)"},
      {"state_dir: /x\nhost: 0.0.0.0\n",
       "backend.local.host: must be an address others can reach, not empty or a wildcard (at 2:7)"},
      {"state_dir: /x\nannounce: {zookeeper: {connect: a, session_timeout_ms: [1]}}\n",
       "backend.local.announce.zookeeper.session_timeout_ms: expected an integer (at 2:56)"},
  };
  for (const Case& c : cases) {
    auto config = Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().message(), c.message) << c.yaml;
  }
  // A section inside a bigger file: positions count in that file.
  const YAML::Node file =
      YAML::Load("backend:\n  kind: local\n  local: {state_dir: /x, host: ''}\n");
  auto nested = LocalBackendConfigFromYaml(file["backend"]["local"]);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(),
            "backend.local.host: must be an address others can reach, not empty or a wildcard "
            "(at 3:32)");
}

TEST(LocalBackendConfigTest, CustomFieldPrefix) {
  auto config = LocalBackendConfigFromYaml(YAML::Load("{}"), "bridge.backend.local");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "bridge.backend.local.state_dir: required");
}

}  // namespace
}  // namespace canarymesh::bridge
