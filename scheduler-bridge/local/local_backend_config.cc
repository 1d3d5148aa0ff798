#include "scheduler-bridge/local/local_backend_config.h"

#include <yaml-cpp/yaml.h>

#include <set>

namespace canarymesh::bridge {
namespace {

// Thrown only inside this file and turned into a Status at the boundary: config loading is not
// on the data path, and unwinding keeps the field checks readable (as in core/config.cc).
struct FieldError {
  std::string field;
  std::string message;
};

std::string Join(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

void CheckKeys(const YAML::Node& node, const std::string& field,
               const std::set<std::string>& allowed) {
  if (!node.IsMap()) throw FieldError{field, "expected a mapping"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      throw FieldError{Join(field, key), "unknown field (known: " + known + ")"};
    }
  }
}

std::string String(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) throw FieldError{field, "expected a string"};
  return node.Scalar();
}

uint32_t U32(const YAML::Node& node, const std::string& field, uint32_t min, uint32_t max) {
  if (!node.IsScalar()) throw FieldError{field, "expected an integer"};
  long long value = 0;
  try {
    value = node.as<long long>();
  } catch (const YAML::Exception&) {
    throw FieldError{field, "expected an integer, got '" + node.Scalar() + "'"};
  }
  if (value < min || value > max) {
    throw FieldError{field,
                     "must be between " + std::to_string(min) + " and " + std::to_string(max)};
  }
  return static_cast<uint32_t>(value);
}

void ReadU32(const YAML::Node& parent, const char* key, const std::string& field, uint32_t* out,
             uint32_t min, uint32_t max) {
  if (parent[key]) *out = U32(parent[key], Join(field, key), min, max);
}

// "31000-31999" (or a single port "31000").
void ParsePortRange(const std::string& text, const std::string& field, LocalBackendConfig* config) {
  auto parse_port = [&](const std::string& part) -> uint16_t {
    if (part.empty() || part.size() > 5 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      throw FieldError{field, "expected MIN-MAX with ports 1..65535, got '" + text + "'"};
    }
    unsigned long port = std::stoul(part);
    if (port == 0 || port > 65535) {
      throw FieldError{field, "ports must be between 1 and 65535, got '" + text + "'"};
    }
    return static_cast<uint16_t>(port);
  };
  size_t dash = text.find('-');
  config->port_min = parse_port(text.substr(0, dash));
  config->port_max =
      dash == std::string::npos ? config->port_min : parse_port(text.substr(dash + 1));
  if (config->port_min > config->port_max) {
    throw FieldError{field, "MIN must not exceed MAX, got '" + text + "'"};
  }
}

void ParseAnnounce(const YAML::Node& node, const std::string& field, LocalBackendConfig* config) {
  if (node.IsScalar()) {
    if (node.Scalar() != "self") {
      throw FieldError{field, "expected 'self' or {zookeeper: {...}}, got '" + node.Scalar() + "'"};
    }
    config->announce_mode = LocalBackendConfig::AnnounceMode::kSelf;
    return;
  }
  CheckKeys(node, field, {"zookeeper"});
  config->announce_mode = LocalBackendConfig::AnnounceMode::kCompanion;
  if (!node["zookeeper"]) return;
  const std::string zk_field = Join(field, "zookeeper");
  const YAML::Node zk = node["zookeeper"];
  CheckKeys(zk, zk_field, {"connect", "chroot", "session_timeout_ms"});
  if (zk["connect"]) config->zookeeper.connect = String(zk["connect"], Join(zk_field, "connect"));
  if (config->zookeeper.connect.empty()) throw FieldError{Join(zk_field, "connect"), "required"};
  if (zk["chroot"]) {
    config->zookeeper.chroot = String(zk["chroot"], Join(zk_field, "chroot"));
    const std::string& chroot = config->zookeeper.chroot;
    if (!chroot.empty() && (chroot[0] != '/' || chroot.back() == '/')) {
      throw FieldError{Join(zk_field, "chroot"), "must be an absolute path like /prod"};
    }
  }
  ReadU32(zk, "session_timeout_ms", zk_field, &config->zookeeper.session_timeout_ms, 1000, 600000);
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
  try {
    if (!node || node.IsNull()) throw FieldError{field, "required (at least state_dir)"};
    CheckKeys(node, field,
              {"host", "port_range", "state_dir", "log_dir", "announce", "canarymesh_binary",
               "drain_delay_ms", "max_consecutive_restarts", "restart_backoff_min_ms",
               "restart_backoff_max_ms", "supervise_interval_ms"});
    if (node["host"]) config.host = String(node["host"], Join(field, "host"));
    if (node["port_range"]) {
      ParsePortRange(String(node["port_range"], Join(field, "port_range")),
                     Join(field, "port_range"), &config);
    }
    if (!node["state_dir"]) throw FieldError{Join(field, "state_dir"), "required"};
    config.state_dir = String(node["state_dir"], Join(field, "state_dir"));
    if (node["log_dir"]) config.log_dir = String(node["log_dir"], Join(field, "log_dir"));
    if (node["announce"]) ParseAnnounce(node["announce"], Join(field, "announce"), &config);
    if (node["canarymesh_binary"]) {
      config.canarymesh_binary =
          String(node["canarymesh_binary"], Join(field, "canarymesh_binary"));
    }
    ReadU32(node, "drain_delay_ms", field, &config.drain_delay_ms, 0, 600000);
    ReadU32(node, "max_consecutive_restarts", field, &config.max_consecutive_restarts, 0, 1000);
    ReadU32(node, "restart_backoff_min_ms", field, &config.restart_backoff_min_ms, 1, 3600000);
    ReadU32(node, "restart_backoff_max_ms", field, &config.restart_backoff_max_ms, 1, 3600000);
    ReadU32(node, "supervise_interval_ms", field, &config.supervise_interval_ms, 10, 60000);
  } catch (const FieldError& error) {
    return Status::InvalidArgument(error.field + ": " + error.message);
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(field + ": " + error.what());
  }
  if (Status valid = ValidateLocalBackendConfig(config); !valid.ok()) {
    return Status::InvalidArgument(field + "." + valid.message());
  }
  return config;
}

}  // namespace canarymesh::bridge
