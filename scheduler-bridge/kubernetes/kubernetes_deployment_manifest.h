// Translating an InstanceGroupSpec into a Kubernetes apps/v1 Deployment (the body of POST
// /apis/apps/v1/namespaces/{ns}/deployments), the Deployment's name, and the placement rules that
// have no Kubernetes form. Pure functions, no I/O. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/kubernetes/kubernetes_config.h"

namespace canarymesh::bridge {

// <service>-<version>. InvalidArgument unless service is a DNS-1123 label and version a valid
// label value that may appear in a name (lower-case letters, digits, '-', '.').
Result<std::string> KubernetesDeploymentName(const std::string& service,
                                             const std::string& version);

// "app=<service>,version=<version>", the pods' label selector.
std::string KubernetesLabelSelector(const std::string& service, const std::string& version);

// The Deployment: labels app/version (+ spec.labels) on it and its pods, selector on app/version,
// one container named after the service running spec.image (required) with spec.artifact, when
// set, as its shell command ({port} -> the container port), env, resources (requests cpu/memory,
// a memory limit; no CPU limit, which would throttle), readinessProbe and livenessProbe from
// spec.health (liveness waits grace_period), terminationGracePeriodSeconds, and placement:
// hostname:UNIQUE -> required pod anti-affinity on kubernetes.io/hostname (other fields: that node
// label), CLUSTER/IS with a value -> nodeSelector, GROUP_BY -> a topology spread constraint.
Result<nlohmann::json> KubernetesDeployment(const InstanceGroupSpec& spec,
                                            const KubernetesBackendConfig& config);

// Rules with no Kubernetes form: LIKE, UNLIKE, MAX_PER, CLUSTER without a value, unknown operators.
std::vector<std::string> KubernetesUnsatisfiable(const InstanceGroupSpec& spec);

}  // namespace canarymesh::bridge
