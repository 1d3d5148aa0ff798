#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_server.h"

#include <algorithm>
#include <sstream>

#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_validation.h"

namespace canarymesh::bridge::testing {

namespace {

using nlohmann::json;

ContractResponse StatusAnswer(int code, const std::string& reason, const std::string& message) {
  return ContractResponse::Json(static_cast<unsigned>(code), FailureStatus(code, reason, message));
}

ContractResponse NotFound(const std::string& name) {
  ContractResponse response =
      StatusAnswer(404, "NotFound", "deployments.apps \"" + name + "\" not found");
  json body = json::parse(response.body);
  body["details"] = {{"name", name}, {"group", "apps"}, {"kind", "deployments"}};
  response.body = body.dump();
  return response;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

std::string Verb(const std::string& method) {
  if (method == "POST") return "create";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return "get";
}

// Equality-based selector terms: k=v, k==v, k!=v. false when a term has another form.
bool ParseSelector(const std::string& text,
                   std::vector<std::tuple<std::string, std::string, bool>>* terms) {
  for (const std::string& term : Split(text, ',')) {
    if (term.empty()) continue;
    size_t ne = term.find("!=");
    size_t eq = term.find('=');
    if (ne != std::string::npos) {
      terms->emplace_back(term.substr(0, ne), term.substr(ne + 2), false);
    } else if (eq != std::string::npos) {
      size_t value_start = term.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      terms->emplace_back(term.substr(0, eq), term.substr(value_start), true);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

FakeKubernetes::FakeKubernetes()
    : server_([this](const ContractRequest& r) { return Handle(r); }) {}

FakeKubernetes::~FakeKubernetes() { Stop(); }

Status FakeKubernetes::Start(const std::string& cert_file, const std::string& key_file) {
  return server_.StartTls(cert_file, key_file);
}

void FakeKubernetes::Stop() { server_.Stop(); }

void FakeKubernetes::RequireToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = token;
}

void FakeKubernetes::SetForbidden(bool forbidden) {
  std::lock_guard<std::mutex> lock(mu_);
  forbidden_ = forbidden;
}

void FakeKubernetes::SetPodsPerPoll(uint32_t pods) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_per_poll_ = pods;
}

void FakeKubernetes::SetNodes(uint32_t nodes) {
  std::lock_guard<std::mutex> lock(mu_);
  nodes_ = nodes;
}

void FakeKubernetes::SetPodsReady(const std::string& ns, const std::string& name, bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_overrides_[{ns, name}] = ready;
  auto it = deployments_.find({ns, name});
  if (it == deployments_.end()) return;
  it->second.pods_ready = ready;
  for (auto& pod : it->second.pods) {
    if (!pod.node.empty()) pod.ready = ready;
  }
}

void FakeKubernetes::ExceedProgressDeadline(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deployments_.find({ns, name});
  if (it != deployments_.end()) it->second.deadline_exceeded = true;
}

std::optional<json> FakeKubernetes::Deployment(const std::string& ns,
                                               const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deployments_.find({ns, name});
  if (it == deployments_.end()) return std::nullopt;
  return Render(it->first, it->second);
}

size_t FakeKubernetes::DeploymentCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deployments_.size();
}

size_t FakeKubernetes::PodCount(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deployments_.find({ns, name});
  return it == deployments_.end() ? 0 : it->second.pods.size();
}

std::string FakeKubernetes::LastPropagationPolicy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_propagation_policy_;
}

std::vector<std::string> FakeKubernetes::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeKubernetes::CountRequests(const std::string& method,
                                     const std::string& path_prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = method + " " + path_prefix;
  return static_cast<size_t>(std::count_if(
      requests_.begin(), requests_.end(),
      [&](const std::string& line) { return line.compare(0, prefix.size(), prefix) == 0; }));
}

ContractResponse FakeKubernetes::Handle(const ContractRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string line = request.method + " " + request.path;
  for (size_t i = 0; i < request.query.size(); ++i) {
    line += (i == 0 ? "?" : "&") + request.query[i].first + "=" + request.query[i].second;
  }
  requests_.push_back(line);

  if (!token_.empty() && request.Header("authorization") != "Bearer " + token_) {
    return StatusAnswer(401, "Unauthorized", "Unauthorized");
  }
  // ["", "apis", "apps", "v1", "namespaces", ns, "deployments", name, "scale"] or
  // ["", "api", "v1", "namespaces", ns, "pods"]
  std::vector<std::string> parts = Split(request.path, '/');
  bool apps = parts.size() >= 7 && parts[1] == "apis" && parts[2] == "apps" && parts[3] == "v1" &&
              parts[4] == "namespaces" && parts[6] == "deployments";
  bool pods = parts.size() == 6 && parts[1] == "api" && parts[2] == "v1" &&
              parts[3] == "namespaces" && parts[5] == "pods";
  if (!apps && !pods)
    return StatusAnswer(404, "NotFound", "the server could not find the requested resource");
  const std::string& ns = apps ? parts[5] : parts[4];
  if (forbidden_) {
    std::string resource = pods ? "pods" : parts.size() == 9 ? "deployments/scale" : "deployments";
    std::string group = pods ? "" : "apps";
    return StatusAnswer(403, "Forbidden",
                        resource + (group.empty() ? "" : "." + group) +
                            " is forbidden: User \"system:serviceaccount:" + ns +
                            ":canarymesh-bridge\" cannot " + Verb(request.method) + " resource \"" +
                            resource + "\" in API group \"" + group + "\" in the namespace \"" +
                            ns + "\"");
  }
  if (pods) {
    if (request.method != "GET")
      return StatusAnswer(405, "MethodNotAllowed", "the server does not allow this method");
    return ListPods(ns, request);
  }
  if (parts.size() == 7) {
    if (request.method == "POST") return Create(ns, request);
    return StatusAnswer(405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
  }
  Key key{ns, parts[7]};
  if (parts.size() == 9 && parts[8] == "scale") {
    if (request.method == "PATCH") return ScaleTo(key, request);
    return StatusAnswer(405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
  }
  if (parts.size() != 8)
    return StatusAnswer(404, "NotFound", "the server could not find the requested resource");
  if (request.method == "GET") return Get(key);
  if (request.method == "DELETE") return Delete(key, request);
  return StatusAnswer(405, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource");
}

ContractResponse FakeKubernetes::Create(const std::string& ns, const ContractRequest& request) {
  if (request.Header("content-type").rfind("application/json", 0) != 0) {
    return StatusAnswer(415, "UnsupportedMediaType",
                        "the body of the request was in an unknown format");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return StatusAnswer(400, "BadRequest", "the body of the request could not be decoded as JSON");
  }
  if (body.value("apiVersion", json()) != "apps/v1" || body.value("kind", json()) != "Deployment") {
    return StatusAnswer(400, "BadRequest",
                        "the API version in the data does not match the expected API version "
                        "(apps/v1, Kind=Deployment)");
  }
  json metadata = body.value("metadata", json::object());
  if (metadata.is_object() && metadata.contains("namespace") && metadata["namespace"] != ns) {
    return StatusAnswer(
        400, "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  std::string name = metadata.is_object() && metadata.value("name", json()).is_string()
                         ? metadata["name"].get<std::string>()
                         : "";
  auto causes = ValidateDeployment(body);
  if (!causes.empty())
    return ContractResponse::Json(422, InvalidStatus("Deployment", "apps", name, causes));
  Key key{ns, name};
  if (deployments_.count(key)) {
    json status =
        FailureStatus(409, "AlreadyExists", "deployments.apps \"" + name + "\" already exists");
    status["details"] = {{"name", name}, {"group", "apps"}, {"kind", "deployments"}};
    return ContractResponse::Json(409, status);
  }
  State state;
  state.object = body;
  state.object["metadata"]["namespace"] = ns;
  state.object["metadata"]["uid"] = "uid-" + std::to_string(++counter_);
  state.object["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  state.replicas = static_cast<uint32_t>(body["spec"].value("replicas", 1));
  auto ready = ready_overrides_.find(key);
  state.pods_ready = ready == ready_overrides_.end() ? true : ready->second;
  auto [it, inserted] = deployments_.emplace(key, std::move(state));
  (void)inserted;
  return ContractResponse::Json(201, Render(it->first, it->second));
}

bool FakeKubernetes::RequiresDistinctNodes(const State& state) const {
  const json* spec = &state.object["spec"]["template"]["spec"];
  if (!spec->contains("affinity")) return false;
  const json& anti = (*spec)["affinity"].value("podAntiAffinity", json::object());
  for (const auto& term :
       anti.value("requiredDuringSchedulingIgnoredDuringExecution", json::array())) {
    if (term.value("topologyKey", json()) == "kubernetes.io/hostname") return true;
  }
  return false;
}

void FakeKubernetes::Step(State& state) {
  if (state.deleting) {
    for (uint32_t i = 0; i < pods_per_poll_ && !state.pods.empty(); ++i) state.pods.pop_back();
    return;
  }
  if (state.observed_generation < state.generation) {
    state.observed_generation = state.generation;
    return;
  }
  bool distinct = RequiresDistinctNodes(state);
  auto schedule = [&](Pod& pod) {
    for (uint32_t n = 1; n <= nodes_ && pod.node.empty(); ++n) {
      std::string node = "node-" + std::to_string(n);
      bool used = std::any_of(state.pods.begin(), state.pods.end(),
                              [&](const Pod& p) { return p.node == node; });
      if (!distinct || !used) pod.node = node;
    }
    if (!pod.node.empty()) pod.ip = "10.244.0." + std::to_string(++counter_ % 250 + 2);
  };
  for (auto& pod : state.pods) {
    if (pod.node.empty()) {
      schedule(pod);
    } else {
      pod.ready = state.pods_ready;
    }
  }
  for (uint32_t i = 0; i < pods_per_poll_; ++i) {
    if (state.pods.size() < state.replicas) {
      Pod pod;
      pod.name = state.object["metadata"]["name"].get<std::string>() + "-6d4cf56db6-" +
                 std::to_string(10000 + ++counter_);
      schedule(pod);
      state.pods.push_back(pod);
    } else if (state.pods.size() > state.replicas) {
      state.pods.pop_back();
    }
  }
}

json FakeKubernetes::Render(const Key& key, const State& state) const {
  json object = state.object;
  object["metadata"]["generation"] = state.generation;
  object["metadata"]["resourceVersion"] = std::to_string(1000 + counter_);
  object["spec"]["replicas"] = state.replicas;
  if (state.deleting) {
    object["metadata"]["deletionTimestamp"] = "2024-01-01T00:10:00Z";
    object["metadata"]["finalizers"] = json::array({"foregroundDeletion"});
  }
  uint32_t replicas = static_cast<uint32_t>(state.pods.size());
  uint32_t ready = static_cast<uint32_t>(
      std::count_if(state.pods.begin(), state.pods.end(), [](const Pod& p) { return p.ready; }));
  json status = json::object();
  // The API server leaves zero-valued status fields out.
  if (state.observed_generation > 0) status["observedGeneration"] = state.observed_generation;
  if (replicas > 0) status["replicas"] = replicas;
  if (replicas > 0) status["updatedReplicas"] = replicas;
  if (ready > 0) status["readyReplicas"] = ready;
  if (ready > 0) status["availableReplicas"] = ready;
  if (state.replicas > ready) status["unavailableReplicas"] = state.replicas - ready;
  if (state.observed_generation > 0) {
    bool complete = replicas == state.replicas && ready == state.replicas;
    json progressing = {
        {"type", "Progressing"},
        {"status", "True"},
        {"reason", complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated"},
        {"message", "ReplicaSet \"" + key.second + "-6d4cf56db6\" " +
                        (complete ? "has successfully progressed." : "is progressing.")}};
    if (state.deadline_exceeded) {
      progressing = {
          {"type", "Progressing"},
          {"status", "False"},
          {"reason", "ProgressDeadlineExceeded"},
          {"message", "ReplicaSet \"" + key.second + "-6d4cf56db6\" has timed out progressing."}};
    }
    json available = {{"type", "Available"},
                      {"status", ready >= state.replicas ? "True" : "False"},
                      {"reason", ready >= state.replicas ? "MinimumReplicasAvailable"
                                                         : "MinimumReplicasUnavailable"}};
    status["conditions"] = json::array({available, progressing});
  }
  object["status"] = status;
  return object;
}

json FakeKubernetes::RenderPod(const Key& key, const State& state, const Pod& pod) const {
  json metadata = {
      {"name", pod.name},
      {"namespace", key.first},
      {"labels", state.object["spec"]["template"]["metadata"].value("labels", json::object())}};
  if (pod.terminating || state.deleting) metadata["deletionTimestamp"] = "2024-01-01T00:10:00Z";
  json status = {{"phase", pod.node.empty() ? "Pending" : "Running"}};
  if (!pod.ip.empty()) status["podIP"] = pod.ip;
  status["conditions"] =
      json::array({{{"type", "PodScheduled"}, {"status", pod.node.empty() ? "False" : "True"}},
                   {{"type", "Ready"}, {"status", pod.ready ? "True" : "False"}}});
  json spec = state.object["spec"]["template"]["spec"];
  if (!pod.node.empty()) spec["nodeName"] = pod.node;
  return {{"metadata", metadata}, {"spec", spec}, {"status", status}};
}

ContractResponse FakeKubernetes::Get(const Key& key) {
  auto it = deployments_.find(key);
  if (it == deployments_.end()) return NotFound(key.second);
  Step(it->second);
  if (it->second.deleting && it->second.pods.empty()) {
    deployments_.erase(it);  // the garbage collector removed the last pod and the finalizer
    return NotFound(key.second);
  }
  return ContractResponse::Json(200, Render(it->first, it->second));
}

ContractResponse FakeKubernetes::ScaleTo(const Key& key, const ContractRequest& request) {
  std::string type = request.Header("content-type");
  type = type.substr(0, type.find(';'));
  if (type != "application/merge-patch+json" && type != "application/strategic-merge-patch+json") {
    return StatusAnswer(
        415, "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  }
  auto it = deployments_.find(key);
  if (it == deployments_.end()) return NotFound(key.second);
  json patch = json::parse(request.body, nullptr, false);
  if (patch.is_discarded() || !patch.is_object()) {
    return StatusAnswer(400, "BadRequest", "error decoding patch: invalid JSON");
  }
  std::vector<KubernetesCause> causes;
  for (auto field = patch.begin(); field != patch.end(); ++field) {
    if (field.key() != "spec" && field.key() != "metadata")
      causes.push_back({field.key(), "FieldValueNotSupported", "unknown field"});
  }
  const json spec = patch.value("spec", json::object());
  if (!spec.is_object()) {
    causes.push_back({"spec", "FieldValueTypeInvalid", "expected an object"});
  } else if (spec.contains("replicas")) {
    const json& replicas = spec["replicas"];
    if (!replicas.is_number_integer()) {
      causes.push_back({"spec.replicas", "FieldValueTypeInvalid", "expected an integer"});
    } else if (replicas.get<int64_t>() < 0) {
      causes.push_back(
          {"spec.replicas", "FieldValueInvalid",
           "Invalid value: " + replicas.dump() + ": must be greater than or equal to 0"});
    }
  }
  if (!causes.empty())
    return ContractResponse::Json(422, InvalidStatus("Scale", "autoscaling", key.second, causes));
  State& state = it->second;
  if (spec.contains("replicas") && spec["replicas"].get<uint32_t>() != state.replicas) {
    state.replicas = spec["replicas"].get<uint32_t>();
    ++state.generation;
  }
  json scale = {
      {"kind", "Scale"},
      {"apiVersion", "autoscaling/v1"},
      {"metadata",
       {{"name", key.second}, {"namespace", key.first}, {"uid", state.object["metadata"]["uid"]}}},
      {"spec", {{"replicas", state.replicas}}},
      {"status",
       {{"replicas", state.pods.size()},
        {"selector",
         "app=" + state.object["spec"]["selector"]["matchLabels"].value("app", std::string()) +
             ",version=" +
             state.object["spec"]["selector"]["matchLabels"].value("version", std::string())}}}};
  return ContractResponse::Json(200, scale);
}

ContractResponse FakeKubernetes::Delete(const Key& key, const ContractRequest& request) {
  std::string policy = request.QueryValue("propagationPolicy");
  if (!request.body.empty()) {
    json options = json::parse(request.body, nullptr, false);
    if (options.is_discarded() || !options.is_object()) {
      return StatusAnswer(400, "BadRequest",
                          "the body of the request could not be decoded as DeleteOptions");
    }
    if (options.contains("kind") && options["kind"] != "DeleteOptions") {
      return StatusAnswer(400, "BadRequest", "expected kind DeleteOptions");
    }
    if (options.contains("propagationPolicy")) {
      if (!options["propagationPolicy"].is_string())
        return StatusAnswer(400, "BadRequest", "propagationPolicy: expected a string");
      policy = options["propagationPolicy"].get<std::string>();
    }
  }
  if (!policy.empty() && policy != "Foreground" && policy != "Background" && policy != "Orphan") {
    return ContractResponse::Json(
        422,
        InvalidStatus("DeleteOptions", "", key.second,
                      {{"propagationPolicy", "FieldValueNotSupported",
                        "Unsupported value: \"" + policy +
                            "\": supported values: \"Foreground\", \"Background\", \"Orphan\""}}));
  }
  auto it = deployments_.find(key);
  if (it == deployments_.end()) return NotFound(key.second);
  last_propagation_policy_ = policy.empty() ? "Background" : policy;
  if (last_propagation_policy_ == "Foreground") {
    it->second.deleting = true;
    for (auto& pod : it->second.pods) pod.terminating = true;
    return ContractResponse::Json(200, Render(it->first, it->second));
  }
  json last = Render(it->first, it->second);
  deployments_.erase(it);
  return ContractResponse::Json(200, last);
}

ContractResponse FakeKubernetes::ListPods(const std::string& ns, const ContractRequest& request) {
  std::vector<std::tuple<std::string, std::string, bool>> terms;
  if (!ParseSelector(request.QueryValue("labelSelector"), &terms)) {
    return StatusAnswer(
        400, "BadRequest",
        "unable to parse requirement: found '" + request.QueryValue("labelSelector") + "'");
  }
  json items = json::array();
  for (const auto& [key, state] : deployments_) {
    if (key.first != ns) continue;
    json labels = state.object["spec"]["template"]["metadata"].value("labels", json::object());
    bool match = true;
    for (const auto& term : terms) {
      bool has =
          labels.contains(std::get<0>(term)) && labels[std::get<0>(term)] == std::get<1>(term);
      match = match && (std::get<2>(term) ? has : !has);
    }
    if (!match) continue;
    for (const auto& pod : state.pods) items.push_back(RenderPod(key, state, pod));
  }
  return ContractResponse::Json(
      200, {{"kind", "PodList"},
            {"apiVersion", "v1"},
            {"metadata", {{"resourceVersion", std::to_string(1000 + counter_)}}},
            {"items", items}});
}

}  // namespace canarymesh::bridge::testing
