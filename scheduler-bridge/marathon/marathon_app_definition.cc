#include "scheduler-bridge/marathon/marathon_app_definition.h"

#include <cmath>

namespace canarymesh::bridge {

namespace {

using nlohmann::json;

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t pos = text->find(from); pos != std::string::npos;
       pos = text->find(from, pos + to.size())) {
    text->replace(pos, from.size(), to);
  }
}

uint32_t CeilSeconds(uint32_t ms) { return (ms + 999) / 1000; }

// Marathon's operators and whether they need a value.
struct OperatorRule {
  const char* name;
  bool needs_value;
};
constexpr OperatorRule kOperators[] = {{"UNIQUE", false}, {"CLUSTER", false}, {"GROUP_BY", false},
                                       {"LIKE", true},    {"UNLIKE", true},   {"MAX_PER", true},
                                       {"IS", true}};

const OperatorRule* FindOperator(const std::string& op) {
  for (const auto& rule : kOperators) {
    if (op == rule.name) return &rule;
  }
  return nullptr;
}

}  // namespace

Result<std::string> MarathonAppId(const std::string& prefix, const std::string& service,
                                  const std::string& version) {
  if (!IsMarathonIdSegment(service)) {
    return Status::InvalidArgument(
        "marathon: service \"" + service +
        "\" cannot be part of an app id (lower-case letters, digits, '-' and '.')");
  }
  if (!IsMarathonIdSegment(version)) {
    return Status::InvalidArgument(
        "marathon: version \"" + version +
        "\" cannot be part of an app id (lower-case letters, digits, '-' and '.')");
  }
  std::string base = prefix == "/" ? "" : prefix;
  return base + "/" + service + "/" + version;
}

Result<json> MarathonAppDefinition(const InstanceGroupSpec& spec,
                                   const MarathonBackendConfig& config) {
  auto id = MarathonAppId(config.app_id_prefix, spec.service, spec.version);
  if (!id.ok()) return id.status();
  if (spec.artifact.empty() && spec.image.empty()) {
    return Status::InvalidArgument("marathon: " + *id +
                                   ": give a command (artifact) or a container image");
  }
  if (spec.health.protocol != "http" && spec.health.protocol != "tcp") {
    return Status::InvalidArgument("marathon: " + *id +
                                   ": health protocol must be http or tcp, not \"" +
                                   spec.health.protocol + "\"");
  }
  if (!std::isfinite(spec.cpus) || !std::isfinite(spec.mem_mb)) {
    return Status::InvalidArgument("marathon: " + *id + ": cpus and mem must be finite numbers");
  }

  json app;
  app["id"] = *id;
  if (!spec.image.empty()) {
    app["container"] = {{"type", "DOCKER"}, {"docker", {{"image", spec.image}}}};
    app["networks"] = json::array({{{"mode", "host"}}});
  }
  if (!spec.artifact.empty()) {
    std::string cmd = spec.artifact;
    ReplaceAll(&cmd, "{port}", "$PORT0");
    ReplaceAll(&cmd, "{instance}", "$MESOS_TASK_ID");
    ReplaceAll(&cmd, "{service}", spec.service);
    ReplaceAll(&cmd, "{version}", spec.version);
    app["cmd"] = cmd;
  }
  app["instances"] = spec.instances;
  app["cpus"] = spec.cpus;
  app["mem"] = spec.mem_mb;

  json constraints = json::array();
  for (const auto& c : spec.constraints) {
    // Rules Marathon would reject are left out (Unsatisfiable() reports them), as every backend
    // runs a group despite rules it cannot honour.
    const OperatorRule* known = FindOperator(c.op);
    if (known == nullptr || c.field.empty() || (known->needs_value && c.value.empty())) continue;
    json rule = json::array({c.field, c.op});
    if (!c.value.empty()) rule.push_back(c.value);
    constraints.push_back(rule);
  }
  app["constraints"] = constraints;

  json check = {{"protocol", spec.health.protocol == "http" ? "MESOS_HTTP" : "MESOS_TCP"},
                {"portIndex", 0},
                {"intervalSeconds", CeilSeconds(spec.health.interval_ms)},
                {"timeoutSeconds", CeilSeconds(spec.health.timeout_ms)},
                {"gracePeriodSeconds", CeilSeconds(spec.health.grace_period_ms)},
                {"maxConsecutiveFailures", spec.health.max_consecutive_failures}};
  if (spec.health.protocol == "http") check["path"] = spec.health.path;
  app["healthChecks"] = json::array({check});

  json labels = json::object();
  for (const auto& [key, value] : spec.labels) labels[key] = value;
  labels["app"] = spec.service;
  labels["version"] = spec.version;
  app["labels"] = labels;

  json env = json::object();
  for (const auto& [key, value] : spec.env) env[key] = value;
  env["CANARYMESH_SERVICE"] = spec.service;
  env["CANARYMESH_VERSION"] = spec.version;
  if (!spec.serverset_path.empty()) env["CANARYMESH_SERVERSET_PATH"] = spec.serverset_path;
  app["env"] = env;

  app["upgradeStrategy"] = {{"minimumHealthCapacity", config.minimum_health_capacity},
                            {"maximumOverCapacity", config.maximum_over_capacity}};
  app["portDefinitions"] = json::array({{{"port", 0}, {"protocol", "tcp"}, {"name", "http"}}});
  app["taskKillGracePeriodSeconds"] = std::max<uint32_t>(1, CeilSeconds(spec.stop_grace_period_ms));
  return app;
}

std::vector<std::string> MarathonUnsatisfiable(const InstanceGroupSpec& spec) {
  std::vector<std::string> out;
  for (const auto& c : spec.constraints) {
    const OperatorRule* rule = FindOperator(c.op);
    std::string text = c.field + ":" + c.op + (c.value.empty() ? "" : ":" + c.value);
    if (rule == nullptr) {
      out.push_back(text + ": Marathon has no operator \"" + c.op +
                    "\" (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS)");
    } else if (rule->needs_value && c.value.empty()) {
      out.push_back(text + ": Marathon's " + c.op + " needs a value");
    } else if (c.field.empty()) {
      out.push_back(text + ": the constraint names no field");
    }
  }
  return out;
}

}  // namespace canarymesh::bridge
