#include "scheduler-bridge/marathon/marathon_backend.h"

#include "core/logging.h"
#include "scheduler-bridge/http/http_auth.h"
#include "scheduler-bridge/http/http_status_text.h"
#include "scheduler-bridge/http/json_fields.h"
#include "scheduler-bridge/marathon/marathon_app_definition.h"
#include "scheduler-bridge/marathon/marathon_app_status.h"

namespace canarymesh::bridge {

namespace {

using nlohmann::json;

// Marathon's error body: {"message": ..., "details": [{"path": ..., "errors": [...]}]}.
std::string MarathonMessage(const std::string& body) {
  auto parsed = ParseJson(body);
  if (!parsed) return body.substr(0, 300);
  std::string text = StringField(*parsed, "message");
  for (const auto& detail : ArrayField(*parsed, "details")) {
    std::string errors;
    for (const auto& error : ArrayField(detail, "errors")) {
      if (error.is_string()) errors += (errors.empty() ? "" : ", ") + error.get<std::string>();
    }
    text += (text.empty() ? "" : "; ") + StringField(detail, "path", "/") + ": " + errors;
  }
  return text.empty() ? body.substr(0, 300) : text;
}

std::string AppsTarget(const std::string& app_id) { return "/v2/apps" + app_id; }

}  // namespace

Result<std::unique_ptr<MarathonBackend>> MarathonBackend::Create(MarathonBackendConfig config) {
  auto url = ParseHttpUrl(config.url);
  if (!url.ok()) return Status::InvalidArgument("marathon.url: " + url.status().message());
  return std::unique_ptr<MarathonBackend>(new MarathonBackend(std::move(config), std::move(*url)));
}

MarathonBackend::MarathonBackend(MarathonBackendConfig config, HttpUrl url)
    : config_(std::move(config)), client_(std::move(url), config_.http) {}

Result<HttpResponse> MarathonBackend::Call(const std::string& method, const std::string& target,
                                           const json* body) const {
  HttpRequest request;
  request.method = method;
  request.target = target;
  if (!config_.token_file.empty()) {
    auto token = ReadTokenFile(config_.token_file);
    if (!token.ok()) return Status::InvalidArgument("marathon: " + token.status().message());
    request.headers.emplace_back("Authorization", DcosTokenAuthorization(*token));
  } else if (!config_.basic_user.empty()) {
    request.headers.emplace_back("Authorization",
                                 BasicAuthorization(config_.basic_user, config_.basic_password));
  }
  if (body != nullptr) {
    request.content_type = "application/json";
    request.body = body->dump();
  }
  auto response = client_.Send(request);
  if (!response.ok()) return PrefixedStatus("marathon: ", response.status());
  return response;
}

Status MarathonBackend::ErrorFromAnswer(const HttpResponse& response,
                                        const std::string& what) const {
  std::string text = "marathon: " + what + ": HTTP " + std::to_string(response.status) + ": " +
                     MarathonMessage(response.body);
  switch (response.status) {
    case 401:
      return Status::InvalidArgument(text + " (authentication failed: check marathon.auth)");
    case 403:
      return Status::InvalidArgument(
          text + " (not authorized: the credentials lack permission for this app)");
    case 400:
    case 422:
      return Status::InvalidArgument(text);
    case 404:
      return Status::NotFound(text);
    default:
      // 409 locks, 503 while Marathon elects a leader, other 5xx: worth another try later.
      if (response.status == 409 || response.status >= 500) return Status::Unavailable(text);
      return Status::Internal(text);
  }
}

std::vector<std::string> MarathonBackend::Unsatisfiable(const InstanceGroupSpec& spec) const {
  return MarathonUnsatisfiable(spec);
}

Status MarathonBackend::Deploy(const InstanceGroupSpec& spec) {
  auto app = MarathonAppDefinition(spec, config_);
  if (!app.ok()) return app.status();
  for (const auto& problem : MarathonUnsatisfiable(spec)) {
    LOG_WARN << "marathon: " << (*app)["id"].get<std::string>() << ": ignoring constraint "
             << problem;
  }
  auto response = Call("POST", "/v2/apps", &*app);
  if (!response.ok()) return response.status();
  const std::string app_id = (*app)["id"].get<std::string>();
  if (response->status == 201 || response->status == 200) {
    LOG_INFO << "marathon: created " << app_id << " with " << spec.instances << " instance(s)";
    return Status::Ok();
  }
  if (response->status == 409 &&
      MarathonMessage(response->body).find("already exists") != std::string::npos) {
    return Status::Ok();
  }
  return ErrorFromAnswer(*response, "create " + app_id);
}

Status MarathonBackend::Scale(const std::string& service, const std::string& version,
                              uint32_t instances) {
  auto app_id = MarathonAppId(config_.app_id_prefix, service, version);
  if (!app_id.ok()) return app_id.status();
  // PUT on a missing id would try to create an app, so look first: Scale promises NotFound.
  auto current = Call("GET", AppsTarget(*app_id), nullptr);
  if (!current.ok()) return current.status();
  if (current->status != 200) return ErrorFromAnswer(*current, "read " + *app_id);
  auto parsed = ParseJson(current->body);
  if (!parsed) return Status::Internal("marathon: read " + *app_id + ": answer is not JSON");
  const json& app = ObjectField(*parsed, "app");
  if (FieldOf(app, "instances") != nullptr &&
      IntField(app, "instances", -1) == static_cast<int64_t>(instances)) {
    return Status::Ok();
  }
  json body = {{"instances", instances}};
  std::string target = AppsTarget(*app_id) + (config_.force_scale_when_locked ? "?force=true" : "");
  auto response = Call("PUT", target, &body);
  if (!response.ok()) return response.status();
  if (response->status == 200 || response->status == 201) {
    LOG_INFO << "marathon: scaling " << *app_id << " to " << instances << " (deployment "
             << StringField(ParseJson(response->body).value_or(json()), "deploymentId") << ")";
    return Status::Ok();
  }
  if (response->status == 409) {
    return Status::Unavailable(
        "marathon: scale " + *app_id + ": a running deployment holds the app (" +
        MarathonMessage(response->body) +
        "); retry once it has finished, or set marathon.force_scale_when_locked");
  }
  return ErrorFromAnswer(*response, "scale " + *app_id);
}

Result<GroupStatus> MarathonBackend::Inspect(const std::string& service,
                                             const std::string& version) {
  auto app_id = MarathonAppId(config_.app_id_prefix, service, version);
  if (!app_id.ok()) return app_id.status();
  auto response =
      Call("GET", AppsTarget(*app_id) + "?embed=app.tasks&embed=app.counts&embed=app.deployments",
           nullptr);
  if (!response.ok()) return response.status();
  if (response->status == 404) return GroupStatus{};
  if (response->status != 200) return ErrorFromAnswer(*response, "read " + *app_id);
  auto parsed = ParseJson(response->body);
  const json* app = parsed ? FieldOf(*parsed, "app") : nullptr;
  if (app == nullptr || !app->is_object()) {
    return Status::Internal("marathon: read " + *app_id + ": answer holds no \"app\" object");
  }
  std::vector<std::string> ids = MarathonAppDeploymentIds(*app);
  bool deploying = false;
  if (!ids.empty()) {
    // The app names its deployments; /v2/deployments says whether they are still running.
    auto deployments = Call("GET", "/v2/deployments", nullptr);
    if (!deployments.ok()) return deployments.status();
    if (deployments->status != 200) return ErrorFromAnswer(*deployments, "list deployments");
    auto list = ParseJson(deployments->body);
    if (!list || !list->is_array())
      return Status::Internal("marathon: /v2/deployments: answer is not a JSON array");
    deploying = MarathonDeploymentsHolding(*list, *app_id, ids);
  }
  return MarathonGroupStatus(*app, deploying);
}

Status MarathonBackend::Remove(const std::string& service, const std::string& version) {
  auto app_id = MarathonAppId(config_.app_id_prefix, service, version);
  if (!app_id.ok()) return app_id.status();
  auto response = Call("DELETE", AppsTarget(*app_id) + "?force=true", nullptr);
  if (!response.ok()) return response.status();
  if (response->status == 200 || response->status == 202 || response->status == 404) {
    if (response->status != 404) LOG_INFO << "marathon: removing " << *app_id;
    return Status::Ok();
  }
  return ErrorFromAnswer(*response, "remove " + *app_id);
}

}  // namespace canarymesh::bridge
