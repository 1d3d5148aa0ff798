// BridgeConfig parsing: the example config loads; every kind of mistake is an error naming the
// field.
#include "scheduler-bridge/rollout/bridge_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace canarymesh::bridge {
namespace {

constexpr char kMinimal[] = R"(
token: t
zookeeper: {connect: "127.0.0.1:2181"}
backend: {kind: local, local: {state_dir: /tmp/x}}
services:
  - name: user
    serverset_path: /discovery/user
    stable_version: v1
    artifact: "sample --listen 127.0.0.1:{port} --version {version}"
)";

TEST(BridgeConfigTest, MinimalConfigGetsDefaults) {
  auto c = ParseBridgeConfig(kMinimal, "bridge.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:9991");
  EXPECT_EQ(c->state_path, "/canarymesh/rollouts");
  EXPECT_EQ(c->election_path, "/canarymesh/bridge/leader");
  EXPECT_EQ(c->routes_path, "/canarymesh/routes");
  EXPECT_EQ(c->metrics.source, "sidecars");
  EXPECT_EQ(c->backend_kind, "local");
  EXPECT_EQ(c->backend_section["state_dir"].as<std::string>(), "/tmp/x");
  ASSERT_EQ(c->services.size(), 1u);
  EXPECT_EQ(c->services[0].defaults.steps, (std::vector<uint32_t>{1, 5, 25, 50}));
  EXPECT_EQ(c->judge.min_canary_requests, canary::CanaryJudgeTunables().min_canary_requests);
}

TEST(BridgeConfigTest, TheDocumentedExampleLoads) {
  auto c = LoadBridgeConfigFile(CANARYMESH_SOURCE_DIR "/deploy/examples/bridge.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->services.empty());
  EXPECT_EQ(c->judge.min_canary_requests, 200u);
}

TEST(BridgeConfigTest, JudgeTunablesAndServiceOptionsAreRead) {
  std::string text = std::string(kMinimal) + R"(
    steps: [2, 10, 40]
    pause_before_promote: true
    min_step_requests: 1000
    integration_check: ./check.sh
    constraints: [[hostname, UNIQUE]]
    health: {path: /ready, interval_ms: 500}
judge: {min_canary_requests: 500, degradation_factor: 1.5, check_latency: false}
rollout: {drain_ms: 1500}
tick_interval_ms: 250
)";
  auto c = ParseBridgeConfig(text, "bridge.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& s = c->services[0];
  EXPECT_EQ(s.defaults.steps, (std::vector<uint32_t>{2, 10, 40}));
  EXPECT_TRUE(s.defaults.pause_before_promote);
  EXPECT_EQ(s.defaults.min_step_requests, 1000u);
  EXPECT_EQ(s.defaults.integration_check, "./check.sh");
  ASSERT_EQ(s.constraints.size(), 1u);
  EXPECT_EQ(s.constraints[0].op, "UNIQUE");
  EXPECT_EQ(s.health.path, "/ready");
  EXPECT_EQ(c->judge.min_canary_requests, 500u);
  EXPECT_DOUBLE_EQ(c->judge.degradation_factor, 1.5);
  EXPECT_FALSE(c->judge.check_latency);
  EXPECT_EQ(c->timings.drain_ms, 1500u);
  EXPECT_EQ(c->tick_interval_ms, 250u);
}

TEST(BridgeConfigTest, MistakesNameTheField) {
  struct Case {
    std::string yaml;
    std::string field;
  };
  const std::string zk = "zookeeper: {connect: \"127.0.0.1:2181\"}\n";
  const std::string backend = "backend: {kind: local}\n";
  const std::string svc =
      "services:\n  - {name: user, serverset_path: /discovery/user, stable_version: v1, artifact: "
      "x}\n";
  for (const Case& c : std::vector<Case>{
           {zk + backend + svc, "token"},
           {"token: t\n" + backend + svc, "zookeeper"},
           {"token: t\n" + zk + svc, "backend"},
           {"token: t\n" + zk + "backend: {kind: nomad}\n" + svc, "backend.kind"},
           {"token: t\n" + zk + backend, "services"},
           {"token: t\nlisten: nowhere\n" + zk + backend + svc, "listen"},
           {"token: t\ncolour: red\n" + zk + backend + svc, "colour"},
           {"token: t\nstate_path: relative\n" + zk + backend + svc, "state_path"},
           {"token: t\nmetrics: {source: graphite}\n" + zk + backend + svc, "metrics.source"},
           {"token: t\njudge: {alpha: 2}\n" + zk + backend + svc, "alpha"},
           {"token: t\njudge: {beeta: 0.1}\n" + zk + backend + svc, "beeta"},
           {"token: t\n" + zk + backend +
                "services: [{name: user, stable_version: v1, artifact: x}]\n",
            "services[0].serverset_path"},
           {"token: t\n" + zk + backend +
                "services: [{name: user, serverset_path: /d, stable_version: v1, artifact: x, "
                "steps: [5, 5]}]\n",
            "services[0].steps[1]"},
           {"token: t\n" + zk + backend +
                "services: [{name: user, serverset_path: /d, stable_version: v1, artifact: x, "
                "steps: [0]}]\n",
            "services[0].steps[0]"},
           {"token: t\n" + zk + backend +
                "services: [{name: user, serverset_path: /d, stable_version: v1}]\n",
            "services[0].artifact"},
           {"token: t\n" + zk + backend + svc +
                "  - {name: user, serverset_path: /e, stable_version: v1, artifact: y}\n",
            "services[1].name"},
           {"token: t\n" + zk + backend +
                "services: [{name: user, serverset_path: /d, stable_version: v1, artifact: x, "
                "constraints: [[a]]}]\n",
            "services[0].constraints[0]"},
           {"token: [\n", "YAML"},
       }) {
    auto parsed = ParseBridgeConfig(c.yaml, "bridge.yaml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_NE(parsed.status().message().find(c.field), std::string::npos)
        << "wanted '" << c.field << "' in: " << parsed.status().message();
    EXPECT_EQ(parsed.status().message().rfind("bridge.yaml: ", 0), 0u) << parsed.status().message();
  }
}

// Errors also give the field's place as file:line:column, after the message.
TEST(BridgeConfigTest, MistakesGiveTheLineAndColumn) {
  const std::string head =
      "token: t\nzookeeper: {connect: \"127.0.0.1:2181\"}\nbackend: {kind: local}\n";
  const std::string svc =
      "services:\n  - {name: user, serverset_path: /d, stable_version: v1, artifact: x";
  struct Case {
    std::string yaml;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {head + svc + ", pause_before_promote: maybe}\n",
            "bridge.yaml: services[0].pause_before_promote: expected true or false, got 'maybe' "
            "(at bridge.yaml:5:93)"},
           {head + svc + ", steps: [5, 5]}\n",
            "bridge.yaml: services[0].steps[1]: steps must increase (at bridge.yaml:5:82)"},
           {head + "tick_interval_ms: 10\n" + svc + "}\n",
            "bridge.yaml: tick_interval_ms: must be between 50 and 600000 (at bridge.yaml:4:19)"},
           {head + svc + ", colour: red}\n",
            "bridge.yaml: services[0].colour: unknown field (known: artifact, constraints, cpus, "
            "env, health, image, instances, integration_check, labels, mem_mb, "
            "min_step_duration_ms, min_step_requests, name, pause_before_promote, "
            "serverset_path, stable_version, step_timeout_ms, steps, stop_grace_period_ms, "
            "test_instances) (at bridge.yaml:5:71)"},
           {"token: [\n",
            "bridge.yaml: YAML error: end of sequence flow not found (at bridge.yaml:2:1)"},
       }) {
    auto parsed = ParseBridgeConfig(c.yaml, "bridge.yaml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_EQ(parsed.status().message(), c.message) << c.yaml;
  }
}

// The backend's section keeps its place in the file, so the backend's parser reports positions in
// bridge.yaml's lines.
TEST(BridgeConfigTest, TheBackendSectionKeepsItsPosition) {
  auto c = ParseBridgeConfig(kMinimal, "bridge.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const YAML::Mark mark = c->backend_section["state_dir"].Mark();
  EXPECT_EQ(mark.line + 1, 4);
  EXPECT_EQ(mark.column + 1, 43);
}

TEST(BridgeConfigTest, TokenFromFile) {
  const std::string path = ::testing::TempDir() + "/bridge-token-" + std::to_string(::getpid());
  { std::ofstream(path) << "from-file\n"; }
  std::string text = kMinimal;
  text.replace(text.find("token: t"), 8, "token_file: " + path);
  auto c = ParseBridgeConfig(text, "bridge.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "from-file");
  text.replace(text.find("token_file: "), 12, "token_file: /nonexistent");
  EXPECT_FALSE(ParseBridgeConfig(text, "bridge.yaml").ok());
}

}  // namespace
}  // namespace canarymesh::bridge
