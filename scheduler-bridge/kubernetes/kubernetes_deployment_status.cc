#include "scheduler-bridge/kubernetes/kubernetes_deployment_status.h"

#include <algorithm>

#include "scheduler-bridge/http/json_fields.h"

namespace canarymesh::bridge {

namespace {

uint32_t Count(const nlohmann::json& object, const char* key, int64_t fallback = 0) {
  int64_t value = IntField(object, key, fallback);
  return value < 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(value, UINT32_MAX));
}

bool PodReady(const nlohmann::json& pod) {
  for (const auto& condition : ArrayField(ObjectField(pod, "status"), "conditions")) {
    if (StringField(condition, "type") == "Ready")
      return StringField(condition, "status") == "True";
  }
  return false;
}

}  // namespace

GroupStatus KubernetesGroupStatus(const nlohmann::json& deployment, const nlohmann::json& pod_list,
                                  uint32_t container_port) {
  const auto& metadata = ObjectField(deployment, "metadata");
  const auto& spec = ObjectField(deployment, "spec");
  const auto& status = ObjectField(deployment, "status");
  GroupStatus group;
  group.exists = true;
  group.desired = Count(spec, "replicas", 1);
  group.running = Count(status, "replicas");
  group.healthy = Count(status, "availableReplicas");
  uint32_t updated = Count(status, "updatedReplicas");

  // kubectl's DeploymentStatusViewer, in its order.
  bool observed = IntField(metadata, "generation", 0) <= IntField(status, "observedGeneration", -1);
  bool done =
      observed && updated >= group.desired && group.running <= updated && group.healthy >= updated;
  bool deleting = FieldOf(metadata, "deletionTimestamp") != nullptr;
  group.deploying = !done || deleting;
  if (observed) {
    for (const auto& condition : ArrayField(status, "conditions")) {
      if (StringField(condition, "type") == "Progressing" &&
          StringField(condition, "reason") == "ProgressDeadlineExceeded") {
        group.failure =
            "deployment \"" + StringField(metadata, "name") + "\" exceeded its progress deadline";
        std::string message = StringField(condition, "message");
        if (!message.empty()) group.failure += ": " + message;
      }
    }
  }

  for (const auto& pod : ArrayField(pod_list, "items")) {
    const auto& pod_metadata = ObjectField(pod, "metadata");
    InstanceStatus instance;
    instance.id = StringField(pod_metadata, "name");
    instance.host = StringField(ObjectField(pod, "status"), "podIP");
    instance.port = container_port;
    bool terminating = FieldOf(pod_metadata, "deletionTimestamp") != nullptr;
    instance.state =
        terminating ? "Terminating" : StringField(ObjectField(pod, "status"), "phase", "Unknown");
    instance.healthy = !terminating && PodReady(pod);
    group.instances.push_back(std::move(instance));
  }
  return group;
}

}  // namespace canarymesh::bridge
