// FakeKubernetes: an in-process HTTPS server that answers the Kubernetes API calls the bridge
// makes, following the apps/v1 and core/v1 REST API as of Kubernetes 1.2x:
//   POST   /apis/apps/v1/namespaces/{ns}/deployments            201 | 409 AlreadyExists | 422
//   Invalid GET    /apis/apps/v1/namespaces/{ns}/deployments/{name}     200 | 404 NotFound PATCH
//   /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale  merge patch only (else 415); 200 Scale
//   DELETE /apis/apps/v1/namespaces/{ns}/deployments/{name}     DeleteOptions body or
//   ?propagationPolicy= GET    /api/v1/namespaces/{ns}/pods?labelSelector=k=v,k2=v2  PodList
// Errors are Status objects (kind Status, reason, message, code, details.causes); 401 without the
// bearer token, 403 (RBAC wording) when forbidden.
//
// A controller step runs on each GET of a Deployment: first the new generation is observed, then
// each step makes `pods_per_poll` new pods (not yet Ready) and turns earlier ones Ready; status
// fields are omitted when zero, as the API server does. With required pod anti-affinity on
// kubernetes.io/hostname, pods beyond the node count stay Pending. Foreground deletion keeps the
// Deployment (deletionTimestamp, foregroundDeletion finalizer) until its pods are gone.
//
// Not modelled: ReplicaSets and template changes (rolling updates), resourceVersion conflicts,
// watches, field selectors, set-based label selectors, admission, quotas, real scheduling.
// Stricter than the API server on purpose: unknown fields in the parts the bridge writes get
// 422 (the server's default is to drop them with a warning), so typos fail tests.
//
// Thread-safe: knobs and inspectors lock the same mutex as the handler.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/scheduler-bridge/support/contract_http_server.h"

namespace canarymesh::bridge::testing {

class FakeKubernetes {
 public:
  FakeKubernetes();
  ~FakeKubernetes();

  // HTTPS with the given server certificate (see TestCertificates).
  Status Start(const std::string& cert_file, const std::string& key_file);
  void Stop();
  uint16_t port() const { return server_.port(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port()); }

  // --- knobs ---
  void RequireToken(const std::string& token);  // "Authorization: Bearer <token>"
  void SetForbidden(bool forbidden);
  void SetPodsPerPoll(uint32_t pods);                                             // default 1
  void SetNodes(uint32_t nodes);                                                  // default 5
  void SetPodsReady(const std::string& ns, const std::string& name, bool ready);  // default true
  // Marks the Deployment's Progressing condition False/ProgressDeadlineExceeded.
  void ExceedProgressDeadline(const std::string& ns, const std::string& name);

  // --- inspection ---
  std::optional<nlohmann::json> Deployment(const std::string& ns, const std::string& name) const;
  size_t DeploymentCount() const;
  size_t PodCount(const std::string& ns, const std::string& name) const;
  std::string LastPropagationPolicy() const;
  std::vector<std::string> Requests() const;  // "METHOD /path?query"
  size_t CountRequests(const std::string& method, const std::string& path_prefix) const;

 private:
  struct Pod {
    std::string name;
    std::string node;  // "" while Pending
    std::string ip;
    bool ready = false;
    bool terminating = false;
  };
  struct State {
    nlohmann::json object;  // as posted, plus metadata the server fills in
    int64_t generation = 1;
    int64_t observed_generation = 0;
    uint32_t replicas = 1;
    std::vector<Pod> pods;
    bool pods_ready = true;
    bool deadline_exceeded = false;
    bool deleting = false;
  };
  using Key = std::pair<std::string, std::string>;  // namespace, name

  ContractResponse Handle(const ContractRequest& request);
  ContractResponse Create(const std::string& ns, const ContractRequest& request);
  ContractResponse Get(const Key& key);
  ContractResponse ScaleTo(const Key& key, const ContractRequest& request);
  ContractResponse Delete(const Key& key, const ContractRequest& request);
  ContractResponse ListPods(const std::string& ns, const ContractRequest& request);
  void Step(State& state);
  nlohmann::json Render(const Key& key, const State& state) const;
  nlohmann::json RenderPod(const Key& key, const State& state, const Pod& pod) const;
  bool RequiresDistinctNodes(const State& state) const;

  mutable std::mutex mu_;
  std::map<Key, State> deployments_;
  std::map<Key, bool> ready_overrides_;
  std::string token_;
  bool forbidden_ = false;
  uint32_t pods_per_poll_ = 1;
  uint32_t nodes_ = 5;
  uint64_t counter_ = 0;
  std::string last_propagation_policy_;
  std::vector<std::string> requests_;
  ContractHttpServer server_;
};

}  // namespace canarymesh::bridge::testing
