// FakeMarathon: an in-process HTTP server that answers the Marathon v2 REST calls the bridge makes,
// following Marathon 1.x's published RAML (mesosphere/marathon docs/docs/rest-api: apps.raml,
// deployments.raml, traits.raml, types/app.raml, types/healthCheck.raml): POST /v2/apps (201 with
// the app, 409 "already exists", 400 bad JSON, 422 {"message","details":[{"path","errors"}]}),
// GET /v2/apps/{id} (embed=app.tasks/app.counts/app.deployments honoured; 404 {"message"}),
// PUT /v2/apps/{id} (200 {"deploymentId","version"} + Marathon-Deployment-Id; 409 while locked
// unless ?force=true), DELETE /v2/apps/{id} (200, 404, 409 while locked unless forced),
// GET /v2/deployments; 401 without the configured basic or "token=" credentials, 403 when
// forbidden.
//
// Deployments move one step per GET /v2/apps/{id}: `tasks_per_poll` tasks start (or stop) each
// poll, on distinct fake agents when the app has hostname:UNIQUE; the deployment ends once the
// task count matches and, with health checks, all tasks are healthy.
//
// Not modelled: groups, pods, the event stream, /v2/queue and launch backoff, readiness checks,
// residency, Mesos offers and resources (cpus/mem are checked for shape only), task failures and
// relaunches. Stricter than Marathon on purpose: unknown app-definition fields get 422 (typos in
// the bridge must fail tests), and embed=app.counts is required for counts (Marathon still adds
// them by default but documents that this will change).
//
// Thread-safe: knobs and inspectors lock the same mutex as the handler.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/scheduler-bridge/support/contract_http_server.h"

namespace canarymesh::bridge::testing {

class FakeMarathon {
 public:
  FakeMarathon();
  ~FakeMarathon();

  Status Start();
  void Stop();
  uint16_t port() const { return server_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

  // --- knobs ---
  void RequireBasicAuth(const std::string& user, const std::string& password);
  void RequireToken(const std::string& token);  // DC/OS: "Authorization: token=<token>"
  void SetForbidden(bool forbidden);            // 403 to every authenticated call
  void SetTasksPerPoll(uint32_t tasks);         // default 1
  void SetAgents(uint32_t agents);              // distinct hosts for hostname:UNIQUE, default 5
  // Whether the app's health checks pass (default true); unhealthy apps never finish deploying.
  void SetAppHealthy(const std::string& app_id, bool healthy);
  // Holds the app with a deployment that is not the bridge's, until UnlockApp (or a forced change).
  void LockApp(const std::string& app_id);
  void UnlockApp(const std::string& app_id);

  // --- inspection ---
  std::optional<nlohmann::json> AppDefinition(const std::string& app_id) const;
  size_t TaskCount(const std::string& app_id) const;
  size_t AppCount() const;
  std::vector<std::string> Requests() const;  // "METHOD /path?query", in order
  size_t CountRequests(const std::string& method, const std::string& path_prefix) const;

 private:
  struct Task {
    std::string id;
    std::string host;
    uint32_t port = 0;
    bool alive = true;
  };
  struct App {
    nlohmann::json definition;
    uint32_t instances = 0;
    std::vector<Task> tasks;
    std::string deployment_id;  // empty when no deployment holds the app
    bool foreign_lock = false;  // deployment_id belongs to someone else (LockApp)
    bool healthy = true;
    std::string version;
  };

  ContractResponse Handle(const ContractRequest& request);
  ContractResponse CreateApp(const ContractRequest& request);
  ContractResponse GetApp(const std::string& id, const ContractRequest& request);
  ContractResponse UpdateApp(const std::string& id, const ContractRequest& request);
  ContractResponse DeleteApp(const std::string& id, const ContractRequest& request);
  ContractResponse ListDeployments();
  void Advance(const std::string& id, App& app);
  nlohmann::json AppJson(const std::string& id, const App& app,
                         const std::set<std::string>& embed) const;
  std::string NextId(const char* kind);
  std::string Timestamp();

  mutable std::mutex mu_;
  std::map<std::string, App> apps_;
  std::map<std::string, bool> health_overrides_;
  std::string basic_user_, basic_password_, token_;
  bool forbidden_ = false;
  uint32_t tasks_per_poll_ = 1;
  uint32_t agents_ = 5;
  uint64_t counter_ = 0;
  std::vector<std::string> requests_;
  ContractHttpServer server_;
};

}  // namespace canarymesh::bridge::testing
