#include "scheduler-bridge/kubernetes/kubernetes_backend.h"

#include "core/logging.h"
#include "scheduler-bridge/http/http_auth.h"
#include "scheduler-bridge/http/http_status_text.h"
#include "scheduler-bridge/http/json_fields.h"
#include "scheduler-bridge/kubernetes/kubernetes_deployment_manifest.h"
#include "scheduler-bridge/kubernetes/kubernetes_deployment_status.h"

namespace canarymesh::bridge {

namespace {

using nlohmann::json;

// A Kubernetes Status object ({"kind":"Status","reason":..,"message":..,"details":{"causes":[..]}})
// as one line: "AlreadyExists: deployments.apps \"x\" already exists".
std::string StatusText(const std::string& body) {
  auto parsed = ParseJson(body);
  if (!parsed || StringField(*parsed, "kind") != "Status") return body.substr(0, 300);
  std::string reason = StringField(*parsed, "reason");
  std::string text = StringField(*parsed, "message");
  if (!reason.empty()) text = reason + (text.empty() ? "" : ": " + text);
  return text;
}

std::string Reason(const std::string& body) {
  auto parsed = ParseJson(body);
  return parsed ? StringField(*parsed, "reason") : "";
}

}  // namespace

Result<std::unique_ptr<KubernetesBackend>> KubernetesBackend::Create(
    KubernetesBackendConfig config) {
  auto url = ParseHttpUrl(config.api_server);
  if (!url.ok()) return Status::InvalidArgument("kubernetes.api_server: " + url.status().message());
  return std::unique_ptr<KubernetesBackend>(
      new KubernetesBackend(std::move(config), std::move(*url)));
}

KubernetesBackend::KubernetesBackend(KubernetesBackendConfig config, HttpUrl url)
    : config_(std::move(config)), client_(std::move(url), config_.http) {}

std::string KubernetesBackend::DeploymentsPath() const {
  return "/apis/apps/v1/namespaces/" + config_.namespace_name + "/deployments";
}

Result<HttpResponse> KubernetesBackend::Call(const std::string& method, const std::string& target,
                                             const std::string& content_type,
                                             const json* body) const {
  HttpRequest request;
  request.method = method;
  request.target = target;
  if (!config_.token_file.empty()) {
    auto token = ReadTokenFile(config_.token_file);
    if (!token.ok()) return Status::InvalidArgument("kubernetes: " + token.status().message());
    request.headers.emplace_back("Authorization", BearerAuthorization(*token));
  } else if (!config_.token.empty()) {
    request.headers.emplace_back("Authorization", BearerAuthorization(config_.token));
  }
  if (body != nullptr) {
    request.content_type = content_type;
    request.body = body->dump();
  }
  auto response = client_.Send(request);
  if (!response.ok()) return PrefixedStatus("kubernetes: ", response.status());
  return response;
}

Status KubernetesBackend::ErrorFromAnswer(const HttpResponse& response,
                                          const std::string& what) const {
  std::string text = "kubernetes: " + what + ": HTTP " + std::to_string(response.status) + ": " +
                     StatusText(response.body);
  switch (response.status) {
    case 401:
      return Status::InvalidArgument(text +
                                     " (authentication failed: check the service-account token)");
    case 403:
      return Status::InvalidArgument(
          text + " (RBAC: the bridge's service account lacks this permission in namespace " +
          config_.namespace_name + ")");
    case 400:
    case 415:
    case 422:
      return Status::InvalidArgument(text);
    case 404:
      return Status::NotFound(text);
    default:
      if (response.status == 409 || response.status == 429 || response.status >= 500) {
        return Status::Unavailable(text);
      }
      return Status::Internal(text);
  }
}

std::vector<std::string> KubernetesBackend::Unsatisfiable(const InstanceGroupSpec& spec) const {
  return KubernetesUnsatisfiable(spec);
}

Status KubernetesBackend::Deploy(const InstanceGroupSpec& spec) {
  auto manifest = KubernetesDeployment(spec, config_);
  if (!manifest.ok()) return manifest.status();
  const std::string name = (*manifest)["metadata"]["name"].get<std::string>();
  for (const auto& problem : KubernetesUnsatisfiable(spec)) {
    LOG_WARN << "kubernetes: " << name << ": ignoring constraint " << problem;
  }
  auto response = Call("POST", DeploymentsPath(), "application/json", &*manifest);
  if (!response.ok()) return response.status();
  if (response->status == 201 || response->status == 200) {
    LOG_INFO << "kubernetes: created deployment " << config_.namespace_name << "/" << name
             << " with " << spec.instances << " replica(s)";
    return Status::Ok();
  }
  if (response->status != 409 || Reason(response->body) != "AlreadyExists") {
    return ErrorFromAnswer(*response, "create deployment " + name);
  }
  // The name exists: fine if it is this group, not if it is being deleted or belongs to another.
  auto existing = Call("GET", DeploymentsPath() + "/" + name, "", nullptr);
  if (!existing.ok()) return existing.status();
  if (existing->status == 404) {
    return Status::Unavailable("kubernetes: deployment " + name +
                               " was just deleted; deploy again");
  }
  if (existing->status != 200) return ErrorFromAnswer(*existing, "read deployment " + name);
  auto parsed = ParseJson(existing->body);
  if (!parsed)
    return Status::Internal("kubernetes: read deployment " + name + ": answer is not JSON");
  const json& metadata = ObjectField(*parsed, "metadata");
  const json& labels = ObjectField(metadata, "labels");
  if (StringField(labels, "app") != spec.service ||
      StringField(labels, "version") != spec.version) {
    return Status::InvalidArgument("kubernetes: deployment " + name +
                                   " already exists but is not app=" + spec.service +
                                   ",version=" + spec.version);
  }
  if (FieldOf(metadata, "deletionTimestamp") != nullptr) {
    return Status::Unavailable("kubernetes: deployment " + name +
                               " is still being deleted; deploy again once it is gone");
  }
  return Status::Ok();
}

Status KubernetesBackend::Scale(const std::string& service, const std::string& version,
                                uint32_t instances) {
  auto name = KubernetesDeploymentName(service, version);
  if (!name.ok()) return name.status();
  json patch = {{"spec", {{"replicas", instances}}}};
  auto response = Call("PATCH", DeploymentsPath() + "/" + *name + "/scale",
                       "application/merge-patch+json", &patch);
  if (!response.ok()) return response.status();
  if (response->status == 200) {
    LOG_INFO << "kubernetes: scaling " << config_.namespace_name << "/" << *name << " to "
             << instances;
    return Status::Ok();
  }
  return ErrorFromAnswer(*response, "scale deployment " + *name);
}

Result<GroupStatus> KubernetesBackend::Inspect(const std::string& service,
                                               const std::string& version) {
  auto name = KubernetesDeploymentName(service, version);
  if (!name.ok()) return name.status();
  auto response = Call("GET", DeploymentsPath() + "/" + *name, "", nullptr);
  if (!response.ok()) return response.status();
  if (response->status == 404) return GroupStatus{};
  if (response->status != 200) return ErrorFromAnswer(*response, "read deployment " + *name);
  auto deployment = ParseJson(response->body);
  if (!deployment || !deployment->is_object()) {
    return Status::Internal("kubernetes: read deployment " + *name +
                            ": answer is not a JSON object");
  }
  auto pods = Call("GET",
                   "/api/v1/namespaces/" + config_.namespace_name + "/pods?labelSelector=" +
                       PercentEncode(KubernetesLabelSelector(service, version)),
                   "", nullptr);
  if (!pods.ok()) return pods.status();
  if (pods->status != 200) return ErrorFromAnswer(*pods, "list pods of " + *name);
  auto pod_list = ParseJson(pods->body);
  if (!pod_list || !pod_list->is_object()) {
    return Status::Internal("kubernetes: list pods of " + *name + ": answer is not a JSON object");
  }
  return KubernetesGroupStatus(*deployment, *pod_list, config_.container_port);
}

Status KubernetesBackend::Remove(const std::string& service, const std::string& version) {
  auto name = KubernetesDeploymentName(service, version);
  if (!name.ok()) return name.status();
  // Foreground: the Deployment stays (with a deletionTimestamp) until its pods are gone, so
  // Inspect keeps reporting the group until it has really stopped.
  json options = {
      {"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", "Foreground"}};
  auto response = Call("DELETE", DeploymentsPath() + "/" + *name, "application/json", &options);
  if (!response.ok()) return response.status();
  if (response->status == 200 || response->status == 202 || response->status == 404) {
    if (response->status != 404)
      LOG_INFO << "kubernetes: deleting " << config_.namespace_name << "/" << *name;
    return Status::Ok();
  }
  return ErrorFromAnswer(*response, "delete deployment " + *name);
}

}  // namespace canarymesh::bridge
