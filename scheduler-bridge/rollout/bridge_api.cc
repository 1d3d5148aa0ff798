#include "scheduler-bridge/rollout/bridge_api.h"

#include "core/clock.h"

namespace canarymesh::bridge {
namespace {

constexpr std::string_view kPrefix = "/v1/rollouts";

ApiResponse Json(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(2) + "\n"};
}
ApiResponse Error(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}
ApiResponse FromOutcome(const CommandOutcome& o) { return Json(o.status, o.body); }

// Compares every byte whatever the first difference, so the token cannot be guessed byte by byte.
bool ConstantTimeEquals(const std::string& given, const std::string& token) {
  if (given.size() != token.size() || token.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

}  // namespace

BridgeApi::BridgeApi(BridgeService& service, Leadership& leadership, std::string token)
    : service_(service), leadership_(leadership), token_(std::move(token)) {}

bool BridgeApi::Authorized(const std::string& authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (token_.empty() || authorization.compare(0, kBearer.size(), kBearer) != 0) return false;
  return ConstantTimeEquals(authorization.substr(kBearer.size()), token_);
}

ApiResponse BridgeApi::Handle(const ApiRequest& req) const {
  if (req.path == "/health") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (req.path == "/metrics") {
    if (req.method != "GET") return Error(405, "GET only");
    return {200, "text/plain; version=0.0.4; charset=utf-8", service_.MetricsText()};
  }
  if (req.path == "/v1/leader") {
    return Json(200, {{"self", leadership_.SelfId()},
                      {"leader", leadership_.LeaderId()},
                      {"is_leader", leadership_.IsLeader()}});
  }
  if (req.path.compare(0, kPrefix.size(), kPrefix) != 0)
    return Error(404, "no endpoint at " + req.path);
  std::string rest = req.path.substr(kPrefix.size());
  if (rest == "/") rest.clear();

  const bool change = req.method == "POST";
  if (change && !Authorized(req.authorization)) {
    return Error(401, "changes need 'Authorization: Bearer <token>' with the bridge's token");
  }
  if (rest.empty()) {
    if (req.method == "GET") return FromOutcome(service_.List());
    if (req.method != "POST") return Error(405, "GET or POST only");
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Error(400, "the body is not JSON");
    return FromOutcome(service_.Create(body, UnixMillis()));
  }
  // "/{id}" or "/{id}/promote" or "/{id}/abort"
  rest.erase(0, 1);
  const size_t slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (id.empty()) return Error(404, "no rollout id in " + req.path);
  if (action.empty()) {
    if (req.method != "GET") return Error(405, "GET only");
    return FromOutcome(service_.Get(id));
  }
  if (action != "promote" && action != "abort") return Error(404, "no endpoint at " + req.path);
  if (req.method != "POST") return Error(405, "POST only");
  return FromOutcome(action == "promote" ? service_.Promote(id) : service_.Abort(id));
}

}  // namespace canarymesh::bridge
