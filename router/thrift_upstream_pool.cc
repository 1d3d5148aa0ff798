#include "router/thrift_upstream_pool.h"

#include <algorithm>

namespace canarymesh::router {

ThriftUpstreamPool::ThriftUpstreamPool(Worker& worker, std::shared_ptr<UpstreamInstance> instance,
                                       thrift::FrameSpec spec, size_t max_frame_bytes)
    : worker_(worker),
      instance_(std::move(instance)),
      spec_(spec),
      max_frame_bytes_(max_frame_bytes) {}

ThriftUpstreamPool::~ThriftUpstreamPool() {
  for (auto& c : connections_) c->CloseSocket();
}

ThriftUpstreamConnection* ThriftUpstreamPool::Pick(int* error_number) {
  while (!idle_.empty()) {
    ThriftUpstreamConnection* c = idle_.back();
    idle_.pop_back();
    c->in_idle_list = false;
    if (c->HasRoom()) return c;
  }
  if (connections_.size() < kMaxConnections) {
    connections_.push_back(
        std::make_unique<ThriftUpstreamConnection>(worker_, *this, max_frame_bytes_));
    ThriftUpstreamConnection* c = connections_.back().get();
    c->self = std::prev(connections_.end());
    int err = c->Connect();
    if (err != 0) {
      *error_number = err;
      RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
      Remove(c);
      return nullptr;
    }
    return c;
  }
  ThriftUpstreamConnection* best = nullptr;
  for (auto& c : connections_) {
    if (c->HasRoom() && (best == nullptr || c->pending() < best->pending())) best = c.get();
  }
  if (best == nullptr) *error_number = EBUSY;
  return best;
}

void ThriftUpstreamPool::Update(ThriftUpstreamConnection* connection) {
  if (connection->closed() || connection->in_idle_list || connection->pending() != 0 ||
      connection->abandoned() != 0) {
    return;
  }
  connection->in_idle_list = true;
  idle_.push_back(connection);
}

void ThriftUpstreamPool::Remove(ThriftUpstreamConnection* connection) {
  connection->CloseSocket();
  if (connection->in_idle_list) {
    idle_.erase(std::find(idle_.begin(), idle_.end(), connection));
    connection->in_idle_list = false;
  }
  if (connection->self == connections_.end()) return;
  std::unique_ptr<ThriftUpstreamConnection> owned = std::move(*connection->self);
  connections_.erase(connection->self);
  connection->self = connections_.end();
  worker_.DeferDelete(std::move(owned));
}

}  // namespace canarymesh::router
