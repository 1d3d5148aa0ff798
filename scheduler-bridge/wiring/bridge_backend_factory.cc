#include "scheduler-bridge/wiring/bridge_backend_factory.h"

#include "scheduler-bridge/kubernetes/kubernetes_backend.h"
#include "scheduler-bridge/kubernetes/kubernetes_config.h"
#include "scheduler-bridge/local/local_backend.h"
#include "scheduler-bridge/local/local_backend_config.h"
#include "scheduler-bridge/marathon/marathon_backend.h"
#include "scheduler-bridge/marathon/marathon_config.h"

namespace canarymesh::bridge {
namespace {

template <typename T>
Result<std::unique_ptr<ClusterBackend>> Upcast(Result<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::unique_ptr<ClusterBackend>(std::move(made.value()));
}

Status Prefixed(const BridgeConfig& config, const Status& s) {
  return Status::InvalidArgument(config.source + ": " + s.message());
}

}  // namespace

Result<std::unique_ptr<ClusterBackend>> MakeClusterBackend(const BridgeConfig& config,
                                                           const std::string& canarymesh_binary) {
  const std::string field = "backend." + config.backend_kind;
  if (config.backend_kind == "local") {
    auto local = LocalBackendConfigFromYaml(config.backend_section, field);
    if (!local.ok()) return Prefixed(config, local.status());
    // Companions announce in the bridge's own ZooKeeper unless the section says otherwise.
    if (local->zookeeper.connect.empty()) {
      local->zookeeper = config.zookeeper;
    }
    if (local->canarymesh_binary.empty()) local->canarymesh_binary = canarymesh_binary;
    return Upcast(LocalBackend::Create(std::move(local.value())));
  }
  if (config.backend_kind == "marathon") {
    auto marathon = MarathonBackendConfigFromYaml(config.backend_section, field);
    if (!marathon.ok()) return Prefixed(config, marathon.status());
    return Upcast(MarathonBackend::Create(std::move(marathon.value())));
  }
  if (config.backend_kind == "kubernetes") {
    auto kubernetes = KubernetesBackendConfigFromYaml(config.backend_section,
                                                      KubernetesEnvironment::FromProcess(), field);
    if (!kubernetes.ok()) return Prefixed(config, kubernetes.status());
    return Upcast(KubernetesBackend::Create(std::move(kubernetes.value())));
  }
  return Status::InvalidArgument(config.source + ": backend.kind: unknown backend " +
                                 config.backend_kind);
}

}  // namespace canarymesh::bridge
