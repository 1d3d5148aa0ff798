#include "scheduler-bridge/marathon/marathon_config.h"

#include <cctype>

#include "scheduler-bridge/cluster/cluster_config_yaml.h"

namespace canarymesh::bridge {

bool IsMarathonIdSegment(const std::string& segment) {
  // ^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$
  if (segment.empty()) return false;
  size_t start = 0;
  while (start <= segment.size()) {
    size_t dot = segment.find('.', start);
    std::string label = segment.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
        return false;
      }
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

Result<MarathonBackendConfig> MarathonBackendConfigFromYaml(const YAML::Node& node, const std::string& field) {
  MarathonBackendConfig config;
  Status s = CheckYamlKeys(node, field,
                           {"url", "app_id_prefix", "auth", "ca_file", "connect_timeout_ms", "request_timeout_ms",
                            "force_scale_when_locked", "upgrade_strategy"});
  if (!s.ok()) return s;
  if (!node.IsDefined() || node.IsNull()) return config;
  s = ReadYamlString(node, "url", field, &config.url);
  if (s.ok()) s = ReadYamlString(node, "app_id_prefix", field, &config.app_id_prefix);
  if (s.ok()) s = ReadHttpClientOptions(node, field, &config.http);
  if (s.ok()) s = ReadYamlBool(node, "force_scale_when_locked", field, &config.force_scale_when_locked);
  if (!s.ok()) return s;

  std::string auth_field = JoinField(field, "auth");
  YAML::Node auth = node["auth"];
  s = CheckYamlKeys(auth, auth_field, {"user", "password", "token_file"});
  if (s.ok() && auth.IsDefined() && auth.IsMap()) {
    s = ReadYamlString(auth, "user", auth_field, &config.basic_user);
    if (s.ok()) s = ReadYamlString(auth, "password", auth_field, &config.basic_password);
    if (s.ok()) s = ReadYamlString(auth, "token_file", auth_field, &config.token_file);
  }
  if (!s.ok()) return s;
  if (!config.token_file.empty() && !config.basic_user.empty()) {
    return Status::InvalidArgument(auth_field + ": give either user/password or token_file, not both");
  }
  if (!config.basic_password.empty() && config.basic_user.empty()) {
    return Status::InvalidArgument(JoinField(auth_field, "user") + ": required with a password");
  }

  std::string strategy_field = JoinField(field, "upgrade_strategy");
  YAML::Node strategy = node["upgrade_strategy"];
  s = CheckYamlKeys(strategy, strategy_field, {"minimum_health_capacity", "maximum_over_capacity"});
  if (s.ok() && strategy.IsDefined() && strategy.IsMap()) {
    s = ReadYamlDouble(strategy, "minimum_health_capacity", strategy_field, &config.minimum_health_capacity);
    if (s.ok()) s = ReadYamlDouble(strategy, "maximum_over_capacity", strategy_field, &config.maximum_over_capacity);
  }
  if (!s.ok()) return s;
  for (double capacity : {config.minimum_health_capacity, config.maximum_over_capacity}) {
    if (capacity < 0 || capacity > 1) {
      return Status::InvalidArgument(strategy_field + ": capacities must lie between 0 and 1");
    }
  }

  auto url = ParseHttpUrl(config.url);
  if (!url.ok()) return Status::InvalidArgument(JoinField(field, "url") + ": " + url.status().message());
  const std::string& prefix = config.app_id_prefix;
  if (prefix.empty() || prefix.front() != '/') {
    return Status::InvalidArgument(JoinField(field, "app_id_prefix") + ": must be an absolute Marathon path, e.g. /canarymesh");
  }
  if (prefix.size() > 1) {
    size_t start = 1;
    while (start <= prefix.size()) {
      size_t slash = prefix.find('/', start);
      std::string segment = prefix.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!IsMarathonIdSegment(segment)) {
        return Status::InvalidArgument(JoinField(field, "app_id_prefix") + ": segment \"" + segment +
                                       "\" may hold only lower-case letters, digits, '-' and '.'");
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  return config;
}

}  // namespace canarymesh::bridge
