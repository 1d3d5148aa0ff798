// KubernetesBackend: runs each version of a service as one Deployment named <service>-<version>
// through the API server's REST API (apps/v1 and core/v1): POST .../deployments, PATCH
// .../deployments/{name}/scale (merge patch), GET .../deployments/{name} and GET .../pods with
// a label selector, DELETE .../deployments/{name} (Foreground propagation). Authenticates with a
// bearer token over TLS verified against the cluster's CA. Thread-safe: no mutable state.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/http/http_client.h"
#include "scheduler-bridge/kubernetes/kubernetes_config.h"

namespace canarymesh::bridge {

class KubernetesBackend : public ClusterBackend {
 public:
  // InvalidArgument when the API server URL does not parse.
  static Result<std::unique_ptr<KubernetesBackend>> Create(KubernetesBackendConfig config);

  std::string Name() const override { return "kubernetes"; }
  std::vector<std::string> Unsatisfiable(const InstanceGroupSpec& spec) const override;
  // 201 created; 409 AlreadyExists is fine when the existing Deployment carries this group's
  // app/version labels (Unavailable while it is being deleted, InvalidArgument when the name
  // belongs to something else).
  Status Deploy(const InstanceGroupSpec& spec) override;
  Status Scale(const std::string& service, const std::string& version, uint32_t instances) override;
  Result<GroupStatus> Inspect(const std::string& service, const std::string& version) override;
  Status Remove(const std::string& service, const std::string& version) override;

 private:
  KubernetesBackend(KubernetesBackendConfig config, HttpUrl url);

  Result<HttpResponse> Call(const std::string& method, const std::string& target,
                            const std::string& content_type, const nlohmann::json* body) const;
  // The error for an unexpected answer, worded from the Kubernetes Status object in its body.
  Status ErrorFromAnswer(const HttpResponse& response, const std::string& what) const;
  std::string DeploymentsPath() const;

  KubernetesBackendConfig config_;
  HttpClient client_;
};

}  // namespace canarymesh::bridge
