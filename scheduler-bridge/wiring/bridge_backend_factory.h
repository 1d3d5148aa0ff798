// Builds the ClusterBackend that BridgeConfig names (backend.kind) from its own YAML section,
// parsed by that backend's *ConfigFromYaml (errors name "backend.<kind>.<field>"). The only
// place that knows the concrete backends; the rollout logic sees the interface alone.
// Thread-safe (no state).
#pragma once

#include <memory>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/rollout/bridge_config.h"

namespace canarymesh::bridge {

// `canarymesh_binary`: this executable, which the local backend runs as `canarymesh announce`
// companions when its config does not name one.
Result<std::unique_ptr<ClusterBackend>> MakeClusterBackend(const BridgeConfig& config,
                                                           const std::string& canarymesh_binary);

}  // namespace canarymesh::bridge
