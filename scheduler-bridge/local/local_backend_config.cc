#include "scheduler-bridge/local/local_backend_config.h"

#include <yaml-cpp/yaml.h>

#include "core/yaml_fields.h"

namespace canarymesh::bridge {
namespace {

// "31000-31999" (or a single port "31000").
void ParsePortRange(const std::string& text, const YamlField& field, LocalBackendConfig* config) {
  auto parse_port = [&](const std::string& part, uint16_t* port) {
    if (part.empty() || part.size() > 5 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return field.Fail("expected MIN-MAX with ports 1..65535, got '" + text + "'");
    }
    unsigned long value = std::stoul(part);
    if (value == 0 || value > 65535) {
      return field.Fail("ports must be between 1 and 65535, got '" + text + "'");
    }
    *port = static_cast<uint16_t>(value);
    return true;
  };
  size_t dash = text.find('-');
  if (!parse_port(text.substr(0, dash), &config->port_min)) return;
  config->port_max = config->port_min;
  if (dash != std::string::npos && !parse_port(text.substr(dash + 1), &config->port_max)) return;
  if (config->port_min > config->port_max) {
    field.Fail("MIN must not exceed MAX, got '" + text + "'");
  }
}

void ParseAnnounce(const YamlField& node, LocalBackendConfig* config) {
  if (node.node().IsScalar()) {
    if (node.node().Scalar() != "self") {
      node.Fail("expected 'self' or {zookeeper: {...}}, got '" + node.node().Scalar() + "'");
    }
    config->announce_mode = LocalBackendConfig::AnnounceMode::kSelf;
    return;
  }
  node.CheckKeys({"zookeeper"});
  config->announce_mode = LocalBackendConfig::AnnounceMode::kCompanion;
  const YamlField zk = node["zookeeper"];
  if (!zk.present()) return;
  zk.CheckKeys({"connect", "chroot", "session_timeout_ms"});
  zk["connect"].Read(&config->zookeeper.connect);
  if (config->zookeeper.connect.empty()) zk["connect"].Fail("required");
  zk["chroot"].Read(&config->zookeeper.chroot);
  const std::string& chroot = config->zookeeper.chroot;
  if (!chroot.empty() && (chroot[0] != '/' || chroot.back() == '/')) {
    zk["chroot"].Fail("must be an absolute path like /prod");
  }
  zk["session_timeout_ms"].Read(&config->zookeeper.session_timeout_ms, 1000, 600000);
}

}  // namespace

Status ValidateLocalBackendConfig(const LocalBackendConfig& config) {
  if (config.host.empty() || config.host == "0.0.0.0" || config.host == "::") {
    return Status::InvalidArgument(
        "host: must be an address others can reach, not empty or a wildcard");
  }
  if (config.port_min == 0 || config.port_min > config.port_max) {
    return Status::InvalidArgument("port_range: expected 1 <= MIN <= MAX <= 65535");
  }
  if (config.state_dir.empty() || config.state_dir[0] != '/') {
    return Status::InvalidArgument("state_dir: required, an absolute path");
  }
  if (!config.log_dir.empty() && config.log_dir[0] != '/') {
    return Status::InvalidArgument("log_dir: must be an absolute path");
  }
  if (config.restart_backoff_min_ms == 0 ||
      config.restart_backoff_min_ms > config.restart_backoff_max_ms) {
    return Status::InvalidArgument(
        "restart_backoff_min_ms: must be > 0 and <= restart_backoff_max_ms");
  }
  if (config.supervise_interval_ms == 0) {
    return Status::InvalidArgument("supervise_interval_ms: must be > 0");
  }
  return Status::Ok();
}

Result<LocalBackendConfig> LocalBackendConfigFromYaml(const YAML::Node& node,
                                                      const std::string& field) {
  LocalBackendConfig config;
  YamlDocument document(node, "", YamlSyntax::kYamlCpp, field);
  const YamlField root = document.Root();
  if (!root.present() || root.node().IsNull()) root.Fail("required (at least state_dir)");
  root.CheckKeys({"host", "port_range", "state_dir", "log_dir", "announce", "canarymesh_binary",
                  "drain_delay_ms", "max_consecutive_restarts", "restart_backoff_min_ms",
                  "restart_backoff_max_ms", "supervise_interval_ms"});
  root["host"].Read(&config.host);
  if (root["port_range"].present()) {
    std::string range;
    if (root["port_range"].Read(&range)) ParsePortRange(range, root["port_range"], &config);
  }
  if (document.ok() && !root["state_dir"].present()) {
    // Without a position: a missing key has none of its own, and this message is matched whole
    // by callers (tests/scheduler-bridge/local_config_test.cc).
    return Status::InvalidArgument(field + ".state_dir: required");
  }
  root["state_dir"].Read(&config.state_dir);
  root["log_dir"].Read(&config.log_dir);
  if (root["announce"].present()) ParseAnnounce(root["announce"], &config);
  root["canarymesh_binary"].Read(&config.canarymesh_binary);
  root["drain_delay_ms"].Read(&config.drain_delay_ms, 0, 600000);
  root["max_consecutive_restarts"].Read(&config.max_consecutive_restarts, 0, 1000);
  root["restart_backoff_min_ms"].Read(&config.restart_backoff_min_ms, 1, 3600000);
  root["restart_backoff_max_ms"].Read(&config.restart_backoff_max_ms, 1, 3600000);
  root["supervise_interval_ms"].Read(&config.supervise_interval_ms, 10, 60000);
  if (!document.ok()) return document.status();
  // Its messages name fields relative to the section ("host: ..."); placed at that field.
  if (Status valid = ValidateLocalBackendConfig(config); !valid.ok()) {
    root.Fail(valid);
    return document.status();
  }
  return config;
}

}  // namespace canarymesh::bridge
