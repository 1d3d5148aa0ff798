#include "router/thrift_connections.h"

#include <algorithm>

#include "router/thrift_downstream_connection.h"
#include "router/worker.h"

namespace canarymesh::router {

ThriftConnections::ThriftConnections(Worker& worker)
    : worker_(worker), counters_(worker.config().listeners.size()) {
  for (const ListenerConfig& l : worker.config().listeners) {
    if (l.protocol == "thrift")
      max_frame_bytes_ = std::max<size_t>(max_frame_bytes_, l.max_frame_bytes);
  }
}

ThriftConnections::~ThriftConnections() { CloseAll(); }

void ThriftConnections::Accept(const ListenerConfig& listener, int fd, const sockaddr* peer) {
  downstreams_.push_back(
      std::make_unique<ThriftDownstreamConnection>(worker_, *this, listener, fd, peer));
  ThriftDownstreamConnection* conn = downstreams_.back().get();
  conn->self = std::prev(downstreams_.end());
  conn->Start();
}

void ThriftConnections::Remove(ThriftDownstreamConnection* connection) {
  if (connection->self == downstreams_.end()) return;
  std::unique_ptr<ThriftDownstreamConnection> owned = std::move(*connection->self);
  downstreams_.erase(connection->self);
  connection->self = downstreams_.end();
  worker_.DeferDelete(std::move(owned));
}

void ThriftConnections::DrainAll() {
  std::vector<ThriftDownstreamConnection*> all;
  for (auto& d : downstreams_) all.push_back(d.get());
  for (ThriftDownstreamConnection* d : all) d->Drain();
}

void ThriftConnections::CloseAll() {
  // Clients first (they hold pointers into upstream connections), then the pools.
  while (!downstreams_.empty()) downstreams_.front()->Close();
  pools_.clear();
}

ThriftUpstreamPool& ThriftConnections::PoolFor(const std::shared_ptr<UpstreamInstance>& instance,
                                               const thrift::FrameSpec& spec) {
  const uint64_t id = instance->id();
  if (id >= pools_.size()) pools_.resize(id + 1 + pools_.size() / 2);
  for (const auto& pool : pools_[id]) {
    if (pool->spec() == spec) return *pool;
  }
  pools_[id].push_back(
      std::make_unique<ThriftUpstreamPool>(worker_, instance, spec, max_frame_bytes_));
  return *pools_[id].back();
}

uint32_t ThriftConnections::InFlight(const std::shared_ptr<UpstreamInstance>& instance,
                                     const thrift::FrameSpec& spec) const {
  const uint64_t id = instance->id();
  if (id >= pools_.size()) return 0;
  for (const auto& pool : pools_[id]) {
    if (pool->spec() == spec) return pool->in_flight();
  }
  return 0;
}

Result<thrift::FrameSpec> ThriftConnections::UpstreamSpec(const ServiceConfig& service,
                                                          const thrift::FrameSpec& client) const {
  const std::string& transport = service.thrift ? service.thrift->transport : std::string("same");
  thrift::FrameSpec spec = client;
  // THeader's binary is written strict and read either way.
  if (spec.format.transport == thrift::Transport::kHeader &&
      spec.format.protocol == thrift::Protocol::kBinaryLax) {
    spec.format.protocol = thrift::Protocol::kBinaryStrict;
  }
  if (transport == "same") return spec;
  spec.ttwitter = false;
  if (transport == "framed") {
    spec.format.transport = thrift::Transport::kFramed;
  } else if (transport == "buffered") {
    spec.format.transport = thrift::Transport::kUnframed;
  } else if (transport == "header") {
    spec.format.transport = thrift::Transport::kHeader;
    if (spec.format.protocol == thrift::Protocol::kBinaryLax)
      spec.format.protocol = thrift::Protocol::kBinaryStrict;
  } else if (transport == "ttwitter") {
    if (spec.format.protocol != thrift::Protocol::kBinaryStrict) {
      return Status::InvalidArgument(
          "service '" + service.name +
          "' speaks TTwitter (strict binary) but the call is in another protocol");
    }
    spec.format.transport = thrift::Transport::kFramed;
    spec.ttwitter = true;
  }
  return spec;
}

const ServiceConfig* ThriftConnections::FindServiceConfig(std::string_view name) const {
  for (const ServiceConfig& s : worker_.config().services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

size_t ThriftConnections::ListenerIndex(const ListenerConfig& listener) const {
  return static_cast<size_t>(&listener - worker_.config().listeners.data());
}

}  // namespace canarymesh::router
