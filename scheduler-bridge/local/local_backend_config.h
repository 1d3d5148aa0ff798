// LocalBackendConfig: how the local backend runs instances on this machine (address, port range,
// where state and logs live, how instances are announced, restart and stop policy). Parsed once
// from the bridge config's `backend: {kind: local, local: {...}}` section into a checked value.
// Thread-compatible: build once, then share as const.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace YAML {
class Node;
}

namespace canarymesh::bridge {

struct LocalBackendConfig {
  std::string host = "127.0.0.1";  // address instances listen on and are announced with
  uint16_t port_min = 31000;       // instance ports come from [port_min, port_max]
  uint16_t port_max = 31999;
  std::string state_dir;  // required: the JSON state file and its lock live here
  std::string log_dir;    // one log per instance (and announcer); default <state_dir>/logs

  // kCompanion: one `canarymesh announce` process per instance writes its ServerSet member.
  // kSelf: the instances announce themselves (they get CANARYMESH_SERVERSET_PATH/ZOOKEEPER).
  enum class AnnounceMode { kCompanion, kSelf };
  AnnounceMode announce_mode = AnnounceMode::kCompanion;
  // Where companions announce (and what kSelf instances are told). Left empty by the YAML when
  // `announce.zookeeper` is absent; the bridge then fills in its own ZooKeeper settings.
  ZooKeeperConfig zookeeper;
  std::string canarymesh_binary;  // for `canarymesh announce`; default: this executable

  uint32_t drain_delay_ms = 2000;  // member withdrawn -> this long -> SIGTERM to the instance
  uint32_t max_consecutive_restarts = 5;   // more crashes before a healthy check: group fails
  uint32_t restart_backoff_min_ms = 1000;  // doubled per consecutive crash up to the max
  uint32_t restart_backoff_max_ms = 30000;
  uint32_t supervise_interval_ms = 200;  // how often the supervisor looks at every process
};

// Errors name the field, prefixed with `field` (e.g. "backend.local.port_range: ...").
Result<LocalBackendConfig> LocalBackendConfigFromYaml(const YAML::Node& node,
                                                      const std::string& field = "backend.local");

// Checks a config built in code the same way the YAML parser does.
Status ValidateLocalBackendConfig(const LocalBackendConfig& config);

}  // namespace canarymesh::bridge
