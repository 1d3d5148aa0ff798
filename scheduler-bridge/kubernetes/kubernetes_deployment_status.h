// Judging a Deployment's rollout the way `kubectl rollout status` does, and listing its pods:
// Deployment + PodList (as returned by GET .../deployments/{name} and GET .../pods?labelSelector=)
// -> GroupStatus. Pure functions: tests feed them documented answer shapes. Thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "scheduler-bridge/backend.h"

namespace canarymesh::bridge {

// desired = spec.replicas (1 when unset, the API default); running = status.replicas; healthy =
// status.availableReplicas. Still deploying unless metadata.generation <=
// status.observedGeneration, updatedReplicas >= spec.replicas, status.replicas <= updatedReplicas
// (old pods gone) and availableReplicas >= updatedReplicas; also while the Deployment is being
// deleted. failure is set when the Progressing condition's reason is ProgressDeadlineExceeded. One
// InstanceStatus per pod: name, podIP, `container_port`, Ready condition, phase ("Terminating" once
// deletion started).
GroupStatus KubernetesGroupStatus(const nlohmann::json& deployment, const nlohmann::json& pod_list,
                                  uint32_t container_port);

}  // namespace canarymesh::bridge
