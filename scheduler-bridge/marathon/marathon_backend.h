// MarathonBackend: runs each version of a service as one Marathon app
// (<prefix>/<service>/<version>) through Marathon's v2 REST API (1.x RAML, docs/docs/rest-api in
// mesosphere/marathon): POST /v2/apps, PUT /v2/apps/{id} {"instances": N}, GET
// /v2/apps/{id}?embed=..., GET /v2/deployments, DELETE /v2/apps/{id}. Thread-safe: no mutable
// state; every call is one or two HTTP round trips.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/http/http_client.h"
#include "scheduler-bridge/marathon/marathon_config.h"

namespace canarymesh::bridge {

class MarathonBackend : public ClusterBackend {
 public:
  // InvalidArgument when the config's URL does not parse.
  static Result<std::unique_ptr<MarathonBackend>> Create(MarathonBackendConfig config);

  std::string Name() const override { return "marathon"; }
  std::vector<std::string> Unsatisfiable(const InstanceGroupSpec& spec) const override;
  // 201 created; 409 "already exists" counts as done (a resumed rollout deploys again).
  Status Deploy(const InstanceGroupSpec& spec) override;
  // NotFound when the app does not exist; no request when it already has `instances`.
  Status Scale(const std::string& service, const std::string& version, uint32_t instances) override;
  Result<GroupStatus> Inspect(const std::string& service, const std::string& version) override;
  // DELETE with ?force=true: the app is ours and going away, so a deployment still holding it
  // (typically the unhealthy canary's own) must not block a rollback. 404 counts as done.
  Status Remove(const std::string& service, const std::string& version) override;

 private:
  MarathonBackend(MarathonBackendConfig config, HttpUrl url);

  Result<HttpResponse> Call(const std::string& method, const std::string& target,
                            const nlohmann::json* body) const;
  // The error for an answer the caller did not expect, with Marathon's message and details.
  Status ErrorFromAnswer(const HttpResponse& response, const std::string& what) const;

  MarathonBackendConfig config_;
  HttpClient client_;
};

}  // namespace canarymesh::bridge
