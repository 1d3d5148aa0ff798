// RouteWeightsWriter: how the rollout tells every sidecar the weights of a service's versions.
// The ZooKeeper implementation writes canary::RoutePolicy::ToJson() to
// <routes_path>/<service> (default /canarymesh/routes/<service>), which every sidecar watches.
// Thread-safe.
#pragma once

#include <optional>
#include <string>

#include "canary/route_policy.h"
#include "core/status.h"

namespace canarymesh::bridge {

class RouteWeightsWriter {
 public:
  virtual ~RouteWeightsWriter() = default;
  virtual Status Write(const std::string& service, const canary::RoutePolicy& policy) = 0;
  // The policy now stored for the service; nullopt when none.
  virtual Result<std::optional<canary::RoutePolicy>> Read(const std::string& service) = 0;
};

}  // namespace canarymesh::bridge
