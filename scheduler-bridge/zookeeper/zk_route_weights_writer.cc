#include "scheduler-bridge/zookeeper/zk_route_weights_writer.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "discovery/zk_ops.h"

namespace canarymesh::bridge {
namespace {

// Service names become znode names; the proxy config refuses the same characters.
Status CheckServiceName(const std::string& service) {
  if (service.empty() || service == "." || service == ".." ||
      service.find_first_of("/ ,=\t\r\n") != std::string::npos) {
    return Status::InvalidArgument("route weights: bad service name '" + service + "'");
  }
  return Status::Ok();
}

}  // namespace

ZkRouteWeightsWriter::ZkRouteWeightsWriter(ZkSession& session, std::string routes_path)
    : session_(session), routes_path_(std::move(routes_path)) {}

std::string ZkRouteWeightsWriter::PathOf(const std::string& service) const {
  return ZkJoinPath(routes_path_, service);
}

Status ZkRouteWeightsWriter::Write(const std::string& service, const canary::RoutePolicy& policy) {
  if (Status s = CheckServiceName(service); !s.ok()) return s;
  Status s = WritePersistentZnode(session_, PathOf(service), policy.ToJson().dump());
  if (!s.ok()) {
    return s.code() == Status::Code::kUnavailable
               ? Status::Unavailable("route weights for " + service + " (ZooKeeper at " +
                                     session_.connect_string() + "): " + s.message())
               : s;
  }
  return Status::Ok();
}

Result<std::optional<canary::RoutePolicy>> ZkRouteWeightsWriter::Read(const std::string& service) {
  if (Status s = CheckServiceName(service); !s.ok()) return s;
  auto node = ZkGetData(session_, PathOf(service), false);
  if (!node.ok()) {
    if (node.status().code() == Status::Code::kNotFound) {
      return std::optional<canary::RoutePolicy>{};
    }
    return node.status();
  }
  if (node->data.empty()) return std::optional<canary::RoutePolicy>{};
  auto policy =
      canary::RoutePolicy::FromJson(node->data, canary::PolicySource::kZooKeeper, UnixMillis());
  if (!policy.ok()) {
    return Status::InvalidArgument("route policy at " + PathOf(service) + ": " +
                                   policy.status().message());
  }
  return std::optional<canary::RoutePolicy>(std::move(policy.value()));
}

}  // namespace canarymesh::bridge
