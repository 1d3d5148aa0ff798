// KubernetesBackendConfig: which API server, namespace and credentials the Kubernetes backend
// uses, parsed once from the `kubernetes:` section of the bridge's YAML. Defaults follow the
// in-cluster convention (KUBERNETES_SERVICE_HOST/PORT and the service-account files under
// /var/run/secrets/kubernetes.io/serviceaccount), or come from a kubeconfig when one is named.
// Thread-compatible: build once, share as const.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "core/status.h"
#include "scheduler-bridge/http/http_client.h"

namespace canarymesh::bridge {

struct KubernetesBackendConfig {
  std::string api_server;  // https://host:port
  std::string namespace_name = "default";
  // Bearer token: a file re-read on every call (projected service-account tokens rotate), or a
  // fixed token from a kubeconfig. Neither: no Authorization header.
  std::string token_file;
  std::string token;
  HttpClientOptions http;                    // ca_file / ca_pem and timeouts
  uint32_t container_port = 8080;            // the port the service listens on inside its container
  uint32_t progress_deadline_seconds = 600;  // Deployment.spec.progressDeadlineSeconds
};

// Where in-cluster defaults come from; tests substitute their own.
struct KubernetesEnvironment {
  std::string service_host;  // $KUBERNETES_SERVICE_HOST
  std::string service_port;  // $KUBERNETES_SERVICE_PORT
  std::string serviceaccount_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static KubernetesEnvironment FromProcess();
};

// Keys: api_server, namespace, token_file, ca_file, kubeconfig, context, connect_timeout_ms,
// request_timeout_ms, container_port, progress_deadline_seconds. With `kubeconfig`, its context
// supplies server, CA, token and namespace; explicit keys override it. Without, the in-cluster
// defaults apply: api_server from the environment, namespace from <serviceaccount>/namespace
// (else "default"), token_file and ca_file from <serviceaccount>/{token,ca.crt}.
Result<KubernetesBackendConfig> KubernetesBackendConfigFromYaml(
    const YAML::Node& node,
    const KubernetesEnvironment& environment = KubernetesEnvironment::FromProcess(),
    const std::string& field = "kubernetes");

}  // namespace canarymesh::bridge
