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
    std::string label =
        segment.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
        return false;
      }
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

Result<MarathonBackendConfig> MarathonBackendConfigFromYaml(const YAML::Node& node,
                                                            const std::string& field) {
  MarathonBackendConfig config;
  YamlDocument document(node, "", YamlSyntax::kStrict, field);
  const YamlField root = document.Root();
  root.CheckKeys({"url", "app_id_prefix", "auth", "ca_file", "connect_timeout_ms",
                  "request_timeout_ms", "force_scale_when_locked", "upgrade_strategy"});
  root["url"].Read(&config.url);
  root["app_id_prefix"].Read(&config.app_id_prefix);
  ReadHttpClientOptions(root, &config.http);
  root["force_scale_when_locked"].Read(&config.force_scale_when_locked);

  const YamlField auth = root["auth"];
  auth.CheckKeys({"user", "password", "token_file"});
  auth["user"].Read(&config.basic_user);
  auth["password"].Read(&config.basic_password);
  auth["token_file"].Read(&config.token_file);
  if (!config.token_file.empty() && !config.basic_user.empty()) {
    auth.Fail("give either user/password or token_file, not both");
  }
  if (!config.basic_password.empty() && config.basic_user.empty()) {
    auth["user"].Fail("required with a password");
  }

  const YamlField strategy = root["upgrade_strategy"];
  strategy.CheckKeys({"minimum_health_capacity", "maximum_over_capacity"});
  strategy["minimum_health_capacity"].Read(&config.minimum_health_capacity);
  strategy["maximum_over_capacity"].Read(&config.maximum_over_capacity);
  for (const auto& [key, capacity] :
       {std::pair{"minimum_health_capacity", config.minimum_health_capacity},
        std::pair{"maximum_over_capacity", config.maximum_over_capacity}}) {
    if (capacity < 0 || capacity > 1) strategy[key].Fail("capacities must lie between 0 and 1");
  }
  if (!document.ok()) return document.status();

  auto url = ParseHttpUrl(config.url);
  if (!url.ok()) root["url"].Fail(url.status().message());
  const std::string& prefix = config.app_id_prefix;
  const YamlField prefix_field = root["app_id_prefix"];
  if (prefix.empty() || prefix.front() != '/') {
    prefix_field.Fail("must be an absolute Marathon path, e.g. /canarymesh");
  } else if (prefix.size() > 1) {
    size_t start = 1;
    while (start <= prefix.size()) {
      size_t slash = prefix.find('/', start);
      std::string segment =
          prefix.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!IsMarathonIdSegment(segment)) {
        prefix_field.Fail("segment \"" + segment +
                          "\" may hold only lower-case letters, digits, '-' and '.'");
        break;
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  if (!document.ok()) return document.status();
  return config;
}

}  // namespace canarymesh::bridge
