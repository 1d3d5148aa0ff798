// `canarymesh bridge --config FILE`: the scheduler bridge. Connects to ZooKeeper, joins the
// leader election, builds the configured cluster backend and metrics source, serves the rollout
// API (scheduler-bridge/rollout/bridge_api.h) on `listen`, and while leading advances every
// rollout in the store. On SIGTERM/SIGINT it leaves the election (handing over at once) and exits;
// rollouts in progress stay in ZooKeeper for the next leader.
#pragma once

#include <string>

namespace canarymesh {

struct BridgeOptions {
  std::string config_path;
  std::string log_level;  // overrides the config's when set
};

int RunBridge(const BridgeOptions& options);

}  // namespace canarymesh
