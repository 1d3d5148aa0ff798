// RolloutServiceConfig: what the bridge knows about one service it rolls out: where its
// instances announce, how the engine runs and health-checks them, the stable version to start
// from, and the per-rollout defaults a request may override. Part of BridgeConfig; a plain
// value, thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/rollout/rollout_record.h"

namespace canarymesh::bridge {

struct RolloutServiceConfig {
  std::string name;
  std::string serverset_path;  // e.g. /discovery/user
  std::string stable_version;  // until a rollout of this service is promoted
  uint32_t instances = 1;      // the stable version's size
  // What to run (see InstanceGroupSpec); "{version}" in them stands for the version, so a new
  // version can reuse the stable's command.
  std::string artifact;
  std::string image;
  double cpus = 0.1;
  double mem_mb = 128;
  std::vector<PlacementConstraint> constraints;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  HealthCheckSpec health;
  uint32_t stop_grace_period_ms = 10'000;
  RolloutOptions defaults;  // steps, gates, integration_check, instances (0 = stable's)
};

// The engine's spec for one version of the service.
InstanceGroupSpec GroupSpecFor(const RolloutServiceConfig& service, const std::string& version,
                               const std::string& artifact, const std::string& image,
                               uint32_t instances);

}  // namespace canarymesh::bridge
