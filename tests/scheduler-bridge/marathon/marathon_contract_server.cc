#include "tests/scheduler-bridge/marathon/marathon_contract_server.h"

#include <algorithm>

#include "scheduler-bridge/http/base64.h"
#include "tests/scheduler-bridge/marathon/marathon_contract_validation.h"

namespace canarymesh::bridge::testing {

namespace {

using nlohmann::json;

ContractResponse Message(unsigned status, const std::string& message) {
  return ContractResponse::Json(status, {{"message", message}});
}

bool HasUniqueHostname(const json& definition) {
  for (const auto& rule : definition.value("constraints", json::array())) {
    if (rule.is_array() && rule.size() >= 2 && rule[0] == "hostname" && rule[1] == "UNIQUE")
      return true;
  }
  return false;
}

}  // namespace

FakeMarathon::FakeMarathon() : server_([this](const ContractRequest& r) { return Handle(r); }) {}

FakeMarathon::~FakeMarathon() { Stop(); }

Status FakeMarathon::Start() { return server_.Start(); }
void FakeMarathon::Stop() { server_.Stop(); }

void FakeMarathon::RequireBasicAuth(const std::string& user, const std::string& password) {
  std::lock_guard<std::mutex> lock(mu_);
  basic_user_ = user;
  basic_password_ = password;
}

void FakeMarathon::RequireToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = token;
}

void FakeMarathon::SetForbidden(bool forbidden) {
  std::lock_guard<std::mutex> lock(mu_);
  forbidden_ = forbidden;
}

void FakeMarathon::SetTasksPerPoll(uint32_t tasks) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_per_poll_ = tasks;
}

void FakeMarathon::SetAgents(uint32_t agents) {
  std::lock_guard<std::mutex> lock(mu_);
  agents_ = agents;
}

void FakeMarathon::SetAppHealthy(const std::string& app_id, bool healthy) {
  std::lock_guard<std::mutex> lock(mu_);
  health_overrides_[app_id] = healthy;
  auto it = apps_.find(app_id);
  if (it == apps_.end()) return;
  it->second.healthy = healthy;
  for (auto& task : it->second.tasks) task.alive = healthy;
}

void FakeMarathon::LockApp(const std::string& app_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = apps_.find(app_id);
  if (it == apps_.end()) return;
  it->second.deployment_id = NextId("foreign-deployment");
  it->second.foreign_lock = true;
}

void FakeMarathon::UnlockApp(const std::string& app_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = apps_.find(app_id);
  if (it == apps_.end() || !it->second.foreign_lock) return;
  it->second.deployment_id.clear();
  it->second.foreign_lock = false;
}

std::optional<json> FakeMarathon::AppDefinition(const std::string& app_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = apps_.find(app_id);
  if (it == apps_.end()) return std::nullopt;
  return it->second.definition;
}

size_t FakeMarathon::TaskCount(const std::string& app_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = apps_.find(app_id);
  return it == apps_.end() ? 0 : it->second.tasks.size();
}

size_t FakeMarathon::AppCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return apps_.size();
}

std::vector<std::string> FakeMarathon::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeMarathon::CountRequests(const std::string& method,
                                   const std::string& path_prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = method + " " + path_prefix;
  return static_cast<size_t>(std::count_if(
      requests_.begin(), requests_.end(),
      [&](const std::string& line) { return line.compare(0, prefix.size(), prefix) == 0; }));
}

std::string FakeMarathon::NextId(const char* kind) {
  return std::string(kind) + "-" + std::to_string(++counter_);
}

std::string FakeMarathon::Timestamp() {
  // Marathon's versions are ISO-8601 timestamps; a counter keeps them distinct and ordered.
  char text[40];
  snprintf(text, sizeof text, "2024-01-01T00:00:%02u.%03uZ",
           static_cast<unsigned>(counter_ / 1000 % 60), static_cast<unsigned>(counter_ % 1000));
  ++counter_;
  return text;
}

ContractResponse FakeMarathon::Handle(const ContractRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string line = request.method + " " + request.path;
  for (size_t i = 0; i < request.query.size(); ++i) {
    line += (i == 0 ? "?" : "&") + request.query[i].first + "=" + request.query[i].second;
  }
  requests_.push_back(line);

  std::string authorization = request.Header("authorization");
  if (!basic_user_.empty() &&
      authorization != "Basic " + Base64Encode(basic_user_ + ":" + basic_password_)) {
    return Message(401, "Invalid username or password.");
  }
  if (!token_.empty() && authorization != "token=" + token_) {
    return Message(401, "Invalid username or password.");
  }
  if (forbidden_) return Message(403, "Not Authorized to perform this action!");

  if (request.path == "/v2/apps" && request.method == "POST") return CreateApp(request);
  if (request.path == "/v2/deployments" && request.method == "GET") return ListDeployments();
  const std::string apps_prefix = "/v2/apps/";
  if (request.path.compare(0, apps_prefix.size(), apps_prefix) == 0) {
    std::string id = request.path.substr(apps_prefix.size() - 1);
    while (id.size() > 1 && id.back() == '/') id.pop_back();
    if (request.method == "GET") return GetApp(id, request);
    if (request.method == "PUT") return UpdateApp(id, request);
    if (request.method == "DELETE") return DeleteApp(id, request);
    return Message(405, "HTTP 405 Method Not Allowed");
  }
  return Message(404, "HTTP 404 Not Found");
}

ContractResponse FakeMarathon::CreateApp(const ContractRequest& request) {
  if (request.Header("content-type").find("application/json") != 0) {
    return Message(415, "HTTP 415 Unsupported Media Type");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return ContractResponse::Json(
        400,
        {{"message", "Invalid JSON"},
         {"details", json::array({{{"path", "/"}, {"errors", {"error.expected.jsobject"}}}})}});
  }
  auto violations = ValidateMarathonApp(body);
  if (!violations.empty()) return ContractResponse::Json(422, MarathonInvalidBody(violations));
  std::string id = body["id"].get<std::string>();
  if (apps_.count(id)) return Message(409, "An app with id [" + id + "] already exists.");
  App app;
  app.definition = body;
  app.instances = static_cast<uint32_t>(body.value("instances", 1));
  app.deployment_id = NextId("deployment");
  app.version = Timestamp();
  auto health = health_overrides_.find(id);
  app.healthy = health == health_overrides_.end() ? true : health->second;
  auto [it, inserted] = apps_.emplace(id, std::move(app));
  (void)inserted;
  ContractResponse response = ContractResponse::Json(201, AppJson(id, it->second, {}));
  response.headers.emplace_back("Location", url() + "/v2/apps" + id);
  response.headers.emplace_back("Marathon-Deployment-Id", it->second.deployment_id);
  return response;
}

void FakeMarathon::Advance(const std::string& id, App& app) {
  if (app.deployment_id.empty() || app.foreign_lock) return;
  bool unique = HasUniqueHostname(app.definition);
  for (uint32_t step = 0; step < tasks_per_poll_; ++step) {
    if (app.tasks.size() < app.instances) {
      std::string host;
      for (uint32_t agent = 1; agent <= agents_ && host.empty(); ++agent) {
        std::string candidate = "agent-" + std::to_string(agent) + ".fake";
        bool used = std::any_of(app.tasks.begin(), app.tasks.end(),
                                [&](const Task& t) { return t.host == candidate; });
        if (!unique || !used) host = candidate;
      }
      if (host.empty())
        break;  // no agent left that honours hostname:UNIQUE: wait for offers forever
      std::string name = id.substr(1);
      std::replace(name.begin(), name.end(), '/', '_');
      Task task;
      task.id = name + ".instance-" + NextId("task") + "._app.1";
      task.host = host;
      task.port = 31000 + static_cast<uint32_t>(counter_ % 1000);
      task.alive = app.healthy;
      app.tasks.push_back(task);
    } else if (app.tasks.size() > app.instances) {
      app.tasks.pop_back();
    }
  }
  bool has_checks = !app.definition.value("healthChecks", json::array()).empty();
  bool all_alive =
      std::all_of(app.tasks.begin(), app.tasks.end(), [](const Task& t) { return t.alive; });
  if (app.tasks.size() == app.instances && (!has_checks || all_alive)) app.deployment_id.clear();
}

json FakeMarathon::AppJson(const std::string& id, const App& app,
                           const std::set<std::string>& embed) const {
  json out = app.definition;
  out["id"] = id;
  out["instances"] = app.instances;
  out["version"] = app.version;
  bool has_checks = !app.definition.value("healthChecks", json::array()).empty();
  if (embed.count("app.counts")) {
    uint32_t healthy = 0;
    for (const auto& task : app.tasks) healthy += (has_checks && task.alive) ? 1 : 0;
    out["tasksStaged"] = 0;
    out["tasksRunning"] = app.tasks.size();
    out["tasksHealthy"] = healthy;
    out["tasksUnhealthy"] = has_checks ? app.tasks.size() - healthy : 0;
  }
  // Marathon: embedding app.tasks also embeds app.deployments.
  if (embed.count("app.deployments") || embed.count("app.tasks") || embed.empty()) {
    out["deployments"] =
        app.deployment_id.empty() ? json::array() : json::array({{{"id", app.deployment_id}}});
  }
  if (embed.count("app.tasks")) {
    json tasks = json::array();
    for (const auto& task : app.tasks) {
      json results = json::array();
      if (has_checks) {
        results.push_back(
            {{"alive", task.alive},
             {"consecutiveFailures", task.alive ? 0 : 3},
             {"instanceId", task.id.substr(0, task.id.find("._app"))},
             {"firstSuccess", task.alive ? json("2024-01-01T00:00:01.000Z") : json(nullptr)}});
      }
      tasks.push_back(
          {{"id", task.id},
           {"appId", id},
           {"host", task.host},
           {"ports", json::array({task.port})},
           {"ipAddresses",
            json::array({{{"ipAddress", "10.0.0." + task.host.substr(6, task.host.find('.') - 6)},
                          {"protocol", "IPv4"}}})},
           {"state", "TASK_RUNNING"},
           {"stagedAt", "2024-01-01T00:00:00.000Z"},
           {"startedAt", "2024-01-01T00:00:01.000Z"},
           {"version", app.version},
           {"healthCheckResults", results}});
    }
    out["tasks"] = tasks;
  }
  return out;
}

ContractResponse FakeMarathon::GetApp(const std::string& id, const ContractRequest& request) {
  auto it = apps_.find(id);
  if (it == apps_.end()) return Message(404, "App '" + id + "' does not exist");
  std::set<std::string> embed;
  for (const auto& value : request.QueryValues("embed")) embed.insert(value);
  Advance(id, it->second);
  return ContractResponse::Json(200, {{"app", AppJson(id, it->second, embed)}});
}

ContractResponse FakeMarathon::UpdateApp(const std::string& id, const ContractRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ContractResponse::Json(
        400,
        {{"message", "Invalid JSON"},
         {"details", json::array({{{"path", "/"}, {"errors", {"error.expected.jsobject"}}}})}});
  }
  auto it = apps_.find(id);
  if (it == apps_.end()) {
    // Marathon creates a missing app on PUT, so the body must then be a whole definition.
    body["id"] = id;
    auto violations = ValidateMarathonApp(body);
    if (!violations.empty()) return ContractResponse::Json(422, MarathonInvalidBody(violations));
    return Message(501, "contract server: creating apps through PUT is not modelled");
  }
  App& app = it->second;
  json merged = app.definition;
  for (auto field = body.begin(); field != body.end(); ++field) merged[field.key()] = field.value();
  merged["id"] = id;
  auto violations = ValidateMarathonApp(merged);
  if (!violations.empty()) return ContractResponse::Json(422, MarathonInvalidBody(violations));
  if (!app.deployment_id.empty() && request.QueryValue("force") != "true") {
    return ContractResponse::Json(
        409, {{"message",
               "App is locked by one or more deployments. Override with the option '?force=true'. "
               "View details at '/v2/deployments/" +
                   app.deployment_id + "'."},
              {"deployments", json::array({{{"id", app.deployment_id}}})}});
  }
  app.definition = merged;
  app.instances = static_cast<uint32_t>(merged.value("instances", 1));
  app.deployment_id = NextId("deployment");
  app.foreign_lock = false;
  app.version = Timestamp();
  ContractResponse response =
      ContractResponse::Json(200, {{"deploymentId", app.deployment_id}, {"version", app.version}});
  response.headers.emplace_back("Marathon-Deployment-Id", app.deployment_id);
  return response;
}

ContractResponse FakeMarathon::DeleteApp(const std::string& id, const ContractRequest& request) {
  auto it = apps_.find(id);
  if (it == apps_.end()) return Message(404, "App '" + id + "' does not exist");
  if (!it->second.deployment_id.empty() && request.QueryValue("force") != "true") {
    return ContractResponse::Json(
        409, {{"message",
               "App is locked by one or more deployments. Override with the option '?force=true'. "
               "View details at '/v2/deployments/" +
                   it->second.deployment_id + "'."},
              {"deployments", json::array({{{"id", it->second.deployment_id}}})}});
  }
  apps_.erase(it);
  std::string deployment = NextId("deployment");
  ContractResponse response =
      ContractResponse::Json(200, {{"deploymentId", deployment}, {"version", Timestamp()}});
  response.headers.emplace_back("Marathon-Deployment-Id", deployment);
  return response;
}

ContractResponse FakeMarathon::ListDeployments() {
  json list = json::array();
  for (const auto& [id, app] : apps_) {
    if (app.deployment_id.empty()) continue;
    json action = {{"action", app.tasks.empty() ? "StartApplication" : "ScaleApplication"},
                   {"app", id}};
    list.push_back({{"id", app.deployment_id},
                    {"version", app.version},
                    {"affectedApps", json::array({id})},
                    {"affectedPods", json::array()},
                    {"steps", json::array({{{"actions", json::array({action})}}})},
                    {"currentActions", json::array({action})},
                    {"currentStep", 1},
                    {"totalSteps", 1}});
  }
  return ContractResponse::Json(200, list);
}

}  // namespace canarymesh::bridge::testing
