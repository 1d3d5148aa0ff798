#include "router/upstream_pool.h"

#include <algorithm>

namespace canarymesh::router {

UpstreamPool::UpstreamPool(Worker& worker, std::shared_ptr<UpstreamInstance> instance)
    : worker_(worker), instance_(std::move(instance)) {}

UpstreamPool::~UpstreamPool() {
  for (auto& c : connections_) c->CloseSocket();
}

UpstreamConnection* UpstreamPool::Acquire(int* error_number) {
  while (!idle_.empty()) {
    UpstreamConnection* c = idle_.back();
    idle_.pop_back();
    if (!c->closed()) return c;
  }
  connections_.push_back(std::make_unique<UpstreamConnection>(worker_, *this));
  UpstreamConnection* c = connections_.back().get();
  c->self = std::prev(connections_.end());
  int err = c->Connect();
  if (err != 0) {
    *error_number = err;
    RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
    Close(c);
    return nullptr;
  }
  return c;
}

void UpstreamPool::Release(UpstreamConnection* connection) {
  if (connection->closed() || !connection->clean() ||
      idle_.size() >= worker_.config().limits.max_idle_upstream_per_instance ||
      worker_.draining()) {
    Close(connection);
    return;
  }
  connection->Detach();
  idle_.push_back(connection);
}

void UpstreamPool::Close(UpstreamConnection* connection) {
  connection->CloseSocket();
  auto it = std::find(idle_.begin(), idle_.end(), connection);
  if (it != idle_.end()) idle_.erase(it);
  if (connection->self == connections_.end()) return;  // already handed to the worker
  std::unique_ptr<UpstreamConnection> owned = std::move(*connection->self);
  connections_.erase(connection->self);
  connection->self = connections_.end();
  worker_.DeferDelete(std::move(owned));
}

void UpstreamPool::CloseIdle() {
  std::vector<UpstreamConnection*> idle = idle_;
  for (UpstreamConnection* c : idle) Close(c);
}

}  // namespace canarymesh::router
