#include "scheduler-bridge/marathon/marathon_app_status.h"

#include <algorithm>

#include "scheduler-bridge/http/json_fields.h"

namespace canarymesh::bridge {

namespace {

uint32_t Count(const nlohmann::json& object, const char* key) {
  int64_t value = IntField(object, key, 0);
  return value < 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(value, UINT32_MAX));
}

}  // namespace

GroupStatus MarathonGroupStatus(const nlohmann::json& app, bool deploying) {
  GroupStatus status;
  status.exists = true;
  status.desired = Count(app, "instances");
  status.running = Count(app, "tasksRunning");
  bool has_checks = !ArrayField(app, "healthChecks").empty();
  status.healthy = has_checks ? Count(app, "tasksHealthy") : status.running;
  status.deploying = deploying;
  for (const auto& task : ArrayField(app, "tasks")) {
    InstanceStatus instance;
    instance.id = StringField(task, "id");
    instance.host = StringField(task, "host");
    const auto& ports = ArrayField(task, "ports");
    if (!ports.empty() && ports[0].is_number_integer()) {
      int64_t port = ports[0].get<int64_t>();
      if (port > 0 && port <= 65535) instance.port = static_cast<uint32_t>(port);
    }
    instance.state = StringField(task, "state");
    const auto& results = ArrayField(task, "healthCheckResults");
    bool all_alive = !results.empty();
    for (const auto& result : results) all_alive = all_alive && BoolField(result, "alive", false);
    instance.healthy = instance.state == "TASK_RUNNING" && (has_checks ? all_alive : true);
    status.instances.push_back(std::move(instance));
  }
  return status;
}

std::vector<std::string> MarathonAppDeploymentIds(const nlohmann::json& app) {
  std::vector<std::string> ids;
  for (const auto& deployment : ArrayField(app, "deployments")) {
    std::string id = StringField(deployment, "id");
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

bool MarathonDeploymentsHolding(const nlohmann::json& deployments, const std::string& app_id,
                                const std::vector<std::string>& ids) {
  if (!deployments.is_array()) return false;
  for (const auto& deployment : deployments) {
    std::string id = StringField(deployment, "id");
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) return true;
    for (const auto& affected : ArrayField(deployment, "affectedApps")) {
      if (affected.is_string() && affected.get<std::string>() == app_id) return true;
    }
  }
  return false;
}

}  // namespace canarymesh::bridge
