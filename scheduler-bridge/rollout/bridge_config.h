// BridgeConfig: the scheduler bridge's configuration (`canarymesh bridge --config FILE`), parsed
// once from YAML into a checked value. Every error names the file, the field and its place
// ("bridge.yaml: services[0].steps[2]: must be between 1 and 99 (at bridge.yaml:9:22)"). The
// backend's own section is kept as YAML (with its positions in the file) and parsed by that
// backend's *ConfigFromYaml when the backend is built.
// deploy/examples/bridge.yaml documents every field. Thread-compatible: build once, share as const.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "canary/canary_judge.h"
#include "core/config.h"
#include "core/status.h"
#include "scheduler-bridge/rollout/rollout_machine.h"
#include "scheduler-bridge/rollout/rollout_service.h"

namespace canarymesh::bridge {

struct BridgeMetricsConfig {
  std::string source = "sidecars";  // "sidecars" or "prometheus"
  std::string sidecars_path = "/canarymesh/sidecars";
  std::string prometheus_url = "http://127.0.0.1:9090";
};

struct BridgeConfig {
  std::string source;  // the file, for messages
  std::string log_level = "info";
  std::string listen = "127.0.0.1:9991";
  std::string token;          // bearer token for changes (from `token` or `token_file`); required
  ZooKeeperConfig zookeeper;  // connect (required), session_timeout_ms, chroot
  std::string state_path = "/canarymesh/rollouts";
  std::string election_path = "/canarymesh/bridge/leader";
  std::string routes_path = "/canarymesh/routes";
  std::string proxy = "127.0.0.1:4140";  // CANARYMESH_PROXY for integration checks
  uint32_t tick_interval_ms = 1000;

  std::string backend_kind = "local";  // local, marathon or kubernetes
  YAML::Node backend_section;          // backend.<kind>, for that backend's parser
  BridgeMetricsConfig metrics;
  canary::CanaryJudgeTunables judge;
  RolloutTimings timings;  // the `rollout` section
  std::vector<RolloutServiceConfig> services;
};

Result<BridgeConfig> LoadBridgeConfigFile(const std::string& path);
// `source` names the text in error messages.
Result<BridgeConfig> ParseBridgeConfig(const std::string& yaml_text, const std::string& source);

// Checks the per-rollout options the same way for the config and for API requests; errors
// name `field` ("steps[1]: ...").
Status ValidateRolloutOptions(const RolloutOptions& options, const std::string& field);

}  // namespace canarymesh::bridge
