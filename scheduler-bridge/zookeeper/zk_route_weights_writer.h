// ZkRouteWeightsWriter: publishes a service's route policy (canary::RoutePolicy::ToJson()) to
// <routes_path>/<service> in ZooKeeper, the znode every sidecar's ZnodeDataWatcher follows, and
// reads it back. Thread-safe; each call blocks for a few ZooKeeper round trips.
#pragma once

#include <string>

#include "discovery/zk_session.h"
#include "scheduler-bridge/route_weights_writer.h"

namespace canarymesh::bridge {

class ZkRouteWeightsWriter : public RouteWeightsWriter {
 public:
  // `session` must outlive this; `routes_path` as the sidecars' zookeeper.routes_path.
  ZkRouteWeightsWriter(ZkSession& session, std::string routes_path = "/canarymesh/routes");

  Status Write(const std::string& service, const canary::RoutePolicy& policy) override;
  // A znode that exists but holds no data counts as no policy (the sidecars read it so too).
  Result<std::optional<canary::RoutePolicy>> Read(const std::string& service) override;

  std::string PathOf(const std::string& service) const;

 private:
  ZkSession& session_;
  const std::string routes_path_;
};

}  // namespace canarymesh::bridge
