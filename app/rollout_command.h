// `canarymesh rollout start|status|promote|abort`: the command-line client of the bridge's API
// (scheduler-bridge/rollout/bridge_api.h). `start --wait` follows the rollout, printing each stage
// transition and judge verdict as it happens, and exits 0 when it is promoted and 1 (with the
// reason) when it is rolled back, fails or is aborted, so that a CI job can gate on it.
// Exit code 2: bad usage or the bridge could not be reached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace canarymesh {

struct RolloutClientOptions {
  std::string action;  // start, status, promote, abort
  std::string bridge = "http://127.0.0.1:9991";
  std::string token;  // --token or $CANARYMESH_BRIDGE_TOKEN
  std::string id;     // status (optional), promote, abort
  bool json = false;  // status: print the raw JSON

  // start
  std::string service;
  std::string version;
  std::string artifact;
  std::string image;
  int64_t instances = -1;  // -1: the service's default
  std::string steps;       // "1,5,25,50"; "" = the service's default
  bool pause_before_promote = false;
  std::string integration_check;
  int64_t min_step_requests = -1;
  int64_t min_step_duration_ms = -1;
  int64_t step_timeout_ms = -1;
  bool wait = false;
  uint32_t poll_ms = 1000;
  uint32_t unreachable_grace_ms = 120'000;  // --wait keeps trying this long when the bridge is away
};

int RunRolloutClient(const RolloutClientOptions& options);

}  // namespace canarymesh
