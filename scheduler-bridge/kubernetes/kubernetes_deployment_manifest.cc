#include "scheduler-bridge/kubernetes/kubernetes_deployment_manifest.h"

#include <cmath>

namespace canarymesh::bridge {

namespace {

using nlohmann::json;

bool IsDnsLabel(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// A label value that can also be part of a DNS-1123 subdomain name.
bool IsNameableLabelValue(const std::string& value) {
  if (value.empty() || value.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(value.front()) || !alnum(value.back())) return false;
  for (char c : value) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return value.find("..") == std::string::npos && value.find(".-") == std::string::npos &&
         value.find("-.") == std::string::npos;
}

std::string TopologyKey(const std::string& field) {
  return field == "hostname" ? "kubernetes.io/hostname" : field;
}

uint32_t CeilSeconds(uint32_t ms) { return (ms + 999) / 1000; }

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t pos = text->find(from); pos != std::string::npos;
       pos = text->find(from, pos + to.size())) {
    text->replace(pos, from.size(), to);
  }
}

// Why this rule cannot be expressed, or "" when it can.
std::string UnmappableReason(const PlacementConstraint& c) {
  if (c.field.empty()) return "the constraint names no field";
  if (c.op == "UNIQUE" || c.op == "GROUP_BY") return "";
  if (c.op == "CLUSTER" || c.op == "IS") {
    return c.value.empty()
               ? "Kubernetes has no \"same node as the first instance\" rule; give CLUSTER a value"
               : "";
  }
  if (c.op == "LIKE" || c.op == "UNLIKE") {
    return "Kubernetes node affinity matches exact values, not regular expressions";
  }
  if (c.op == "MAX_PER") return "Kubernetes has no per-topology instance cap";
  return "unknown operator \"" + c.op + "\"";
}

json Probe(const HealthCheckSpec& health) {
  json probe;
  if (health.protocol == "http") {
    probe["httpGet"] = {{"path", health.path}, {"port", "http"}};
  } else {
    probe["tcpSocket"] = {{"port", "http"}};
  }
  probe["periodSeconds"] = std::max<uint32_t>(1, CeilSeconds(health.interval_ms));
  probe["timeoutSeconds"] = std::max<uint32_t>(1, CeilSeconds(health.timeout_ms));
  probe["failureThreshold"] = std::max<uint32_t>(1, health.max_consecutive_failures);
  return probe;
}

}  // namespace

Result<std::string> KubernetesDeploymentName(const std::string& service,
                                             const std::string& version) {
  if (!IsDnsLabel(service)) {
    return Status::InvalidArgument(
        "kubernetes: service \"" + service +
        "\" must be a DNS-1123 label (lower-case letters, digits, '-'; at most 63)");
  }
  if (!IsNameableLabelValue(version)) {
    return Status::InvalidArgument(
        "kubernetes: version \"" + version +
        "\" must be a label value made of lower-case letters, digits, '-' and '.'");
  }
  std::string name = service + "-" + version;
  if (name.size() > 253)
    return Status::InvalidArgument("kubernetes: deployment name " + name + " is too long");
  return name;
}

std::string KubernetesLabelSelector(const std::string& service, const std::string& version) {
  return "app=" + service + ",version=" + version;
}

Result<json> KubernetesDeployment(const InstanceGroupSpec& spec,
                                  const KubernetesBackendConfig& config) {
  auto name = KubernetesDeploymentName(spec.service, spec.version);
  if (!name.ok()) return name.status();
  if (spec.image.empty()) {
    return Status::InvalidArgument("kubernetes: " + *name +
                                   ": a container image (image) is required");
  }
  if (spec.health.protocol != "http" && spec.health.protocol != "tcp") {
    return Status::InvalidArgument("kubernetes: " + *name +
                                   ": health protocol must be http or tcp");
  }
  if (!std::isfinite(spec.cpus) || spec.cpus < 0 || !std::isfinite(spec.mem_mb) ||
      spec.mem_mb < 0) {
    return Status::InvalidArgument("kubernetes: " + *name +
                                   ": cpus and mem must be non-negative numbers");
  }

  json labels = json::object();
  for (const auto& [key, value] : spec.labels) labels[key] = value;
  labels["app"] = spec.service;
  labels["version"] = spec.version;
  json selector = {{"app", spec.service}, {"version", spec.version}};

  json env = json::array();
  for (const auto& [key, value] : spec.env) env.push_back({{"name", key}, {"value", value}});
  env.push_back({{"name", "CANARYMESH_SERVICE"}, {"value", spec.service}});
  env.push_back({{"name", "CANARYMESH_VERSION"}, {"value", spec.version}});
  if (!spec.serverset_path.empty()) {
    env.push_back({{"name", "CANARYMESH_SERVERSET_PATH"}, {"value", spec.serverset_path}});
  }

  json resources = json::object();
  long millicores = std::lround(spec.cpus * 1000);
  long mebibytes = static_cast<long>(std::ceil(spec.mem_mb));
  if (millicores > 0) resources["requests"]["cpu"] = std::to_string(millicores) + "m";
  if (mebibytes > 0) {
    resources["requests"]["memory"] = std::to_string(mebibytes) + "Mi";
    resources["limits"]["memory"] = std::to_string(mebibytes) + "Mi";
  }

  json liveness = Probe(spec.health);
  liveness["initialDelaySeconds"] = CeilSeconds(spec.health.grace_period_ms);
  json container = {
      {"name", spec.service},
      {"image", spec.image},
      {"ports",
       json::array(
           {{{"name", "http"}, {"containerPort", config.container_port}, {"protocol", "TCP"}}})},
      {"env", env},
      {"resources", resources},
      {"readinessProbe", Probe(spec.health)},
      {"livenessProbe", liveness}};
  if (!spec.artifact.empty()) {
    std::string command = spec.artifact;
    ReplaceAll(&command, "{port}", std::to_string(config.container_port));
    ReplaceAll(&command, "{service}", spec.service);
    ReplaceAll(&command, "{version}", spec.version);
    ReplaceAll(&command, "{instance}", "$HOSTNAME");  // the pod name, set by the runtime
    container["command"] = json::array({"/bin/sh", "-c", command});
  }

  json pod_spec = {{"containers", json::array({container})},
                   {"terminationGracePeriodSeconds", CeilSeconds(spec.stop_grace_period_ms)}};
  json anti_affinity = json::array();
  json node_selector = json::object();
  json spread = json::array();
  for (const auto& c : spec.constraints) {
    if (!UnmappableReason(c).empty()) continue;  // reported by KubernetesUnsatisfiable
    if (c.op == "UNIQUE") {
      anti_affinity.push_back(
          {{"labelSelector", {{"matchLabels", selector}}}, {"topologyKey", TopologyKey(c.field)}});
    } else if (c.op == "CLUSTER" || c.op == "IS") {
      node_selector[TopologyKey(c.field)] = c.value;
    } else if (c.op == "GROUP_BY") {
      spread.push_back({{"maxSkew", 1},
                        {"topologyKey", TopologyKey(c.field)},
                        {"whenUnsatisfiable", "DoNotSchedule"},
                        {"labelSelector", {{"matchLabels", selector}}}});
    }
  }
  if (!anti_affinity.empty()) {
    pod_spec["affinity"] = {
        {"podAntiAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution", anti_affinity}}}};
  }
  if (!node_selector.empty()) pod_spec["nodeSelector"] = node_selector;
  if (!spread.empty()) pod_spec["topologySpreadConstraints"] = spread;

  json deployment_labels = labels;
  deployment_labels["app.kubernetes.io/managed-by"] = "canarymesh";
  return json{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", *name}, {"namespace", config.namespace_name}, {"labels", deployment_labels}}},
      {"spec",
       {{"replicas", spec.instances},
        {"selector", {{"matchLabels", selector}}},
        {"progressDeadlineSeconds", config.progress_deadline_seconds},
        {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod_spec}}}}}};
}

std::vector<std::string> KubernetesUnsatisfiable(const InstanceGroupSpec& spec) {
  std::vector<std::string> out;
  for (const auto& c : spec.constraints) {
    std::string reason = UnmappableReason(c);
    if (!reason.empty())
      out.push_back(c.field + ":" + c.op + (c.value.empty() ? "" : ":" + c.value) + ": " + reason);
  }
  return out;
}

}  // namespace canarymesh::bridge
