// ClusterBackend: how the rollout state machine starts, scales, inspects and stops the instances of
// one version of one service on a cluster engine. Three implementations: local processes
// (local/local_backend.h, the embedded default), Marathon (marathon/marathon_backend.h) and
// Kubernetes (kubernetes/kubernetes_backend.h). The rollout logic talks only to this interface:
// no backend-specific branches there.
//
// Every call is idempotent and may block for one round trip to the engine (never for a whole
// deployment): the state machine polls Inspect() until the group is ready, so a bridge that
// restarts mid-rollout can pick up where the last one stopped. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge {

// How the engine decides that one instance is healthy.
struct HealthCheckSpec {
  std::string protocol = "http";  // "http" or "tcp"
  std::string path = "/health";   // for http
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 1000;
  uint32_t grace_period_ms = 30'000;  // time a new instance may take before checks count
  uint32_t max_consecutive_failures = 3;
};

// A placement rule in Marathon's form: field, operator and optional value, e.g.
// {"hostname", "UNIQUE", ""} or {"rack", "GROUP_BY", "3"}.
struct PlacementConstraint {
  std::string field;
  std::string op;
  std::string value;
};

// One version of one service, as the engine should run it.
struct InstanceGroupSpec {
  std::string service;  // e.g. "user"
  std::string version;  // e.g. "v2"
  // What to run. local: a command template with {port}, {version}, {instance}, {service}
  // placeholders; Marathon: `cmd` unless `image` is set; Kubernetes: `image` (required).
  std::string artifact;
  std::string image;
  uint32_t instances = 1;
  double cpus = 0.1;
  double mem_mb = 128;
  std::vector<PlacementConstraint> constraints;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;  // "app" and "version" are always added
  HealthCheckSpec health;
  // ServerSet path instances are announced under (e.g. /discovery/user); the local backend
  // announces there, cluster engines pass it to the instance (env CANARYMESH_SERVERSET_PATH).
  std::string serverset_path;
  uint32_t stop_grace_period_ms = 10'000;  // SIGTERM, then SIGKILL after this long
};

// One running instance of a group.
struct InstanceStatus {
  std::string id;    // engine's id: pid-based for local, task id, pod name
  std::string host;  // where others reach it
  uint32_t port = 0;
  bool healthy = false;
  std::string state;  // engine's word for it: "running", "TASK_RUNNING", "Pending", ...
};

// What the engine says about a group right now.
struct GroupStatus {
  bool exists = false;
  uint32_t desired = 0;  // instances asked for
  uint32_t running = 0;
  uint32_t healthy = 0;
  bool deploying = false;  // the engine is still working on the last change
  // Set when the engine has given up (Kubernetes ProgressDeadlineExceeded, crash loop with no
  // restarts left, ...): the rollout should fail rather than wait on.
  std::string failure;
  std::vector<InstanceStatus> instances;

  // All asked-for instances run, are healthy, and the engine has nothing left to do.
  bool Ready() const {
    return exists && !deploying && failure.empty() && healthy == desired && running == desired;
  }
};

class ClusterBackend {
 public:
  virtual ~ClusterBackend() = default;

  // "local", "marathon" or "kubernetes".
  virtual std::string Name() const = 0;

  // Placement rules this backend cannot honour, one human-readable line each (e.g. the local
  // backend and hostname:UNIQUE with more than one instance). Empty when all can be honoured.
  // The rollout records these in its status; it does not refuse to run.
  virtual std::vector<std::string> Unsatisfiable(const InstanceGroupSpec& spec) const = 0;

  // Creates the group with spec.instances instances, or, when it already exists, leaves it
  // (idempotent: a resumed rollout calls this again).
  virtual Status Deploy(const InstanceGroupSpec& spec) = 0;

  // Sets the instance count of an existing group; NotFound when there is none.
  virtual Status Scale(const std::string& service, const std::string& version,
                       uint32_t instances) = 0;

  // The group's state; exists=false (not an error) when there is none.
  virtual Result<GroupStatus> Inspect(const std::string& service, const std::string& version) = 0;

  // Stops every instance of the group gracefully and forgets it; OK when there is none.
  virtual Status Remove(const std::string& service, const std::string& version) = 0;
};

}  // namespace canarymesh::bridge
