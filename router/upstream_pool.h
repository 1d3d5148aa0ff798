// The connections one worker keeps to one upstream instance: idle keep-alive connections
// reused most-recently-used first, new ones opened on demand, and the count of requests in
// flight that the balancer compares. Worker-thread only.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "router/upstream_connection.h"
#include "router/upstream_instance.h"

namespace canarymesh::router {

class UpstreamPool {
 public:
  UpstreamPool(Worker& worker, std::shared_ptr<UpstreamInstance> instance);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection, or a new one that is connecting. nullptr if connect() failed at once
  // (errno in *error_number).
  UpstreamConnection* Acquire(int* error_number);
  // The exchange completed cleanly and both sides keep the connection alive.
  void Release(UpstreamConnection* connection);
  // Closes and frees (deferred) the connection.
  void Close(UpstreamConnection* connection);

  const std::shared_ptr<UpstreamInstance>& instance() const { return instance_; }
  uint32_t in_flight() const { return in_flight_; }
  void RequestStarted() { ++in_flight_; }
  void RequestFinished() { --in_flight_; }
  size_t connection_count() const { return connections_.size(); }
  bool Unused() const { return in_flight_ == 0 && connections_.size() == idle_.size(); }
  void CloseIdle();

 private:
  Worker& worker_;
  std::shared_ptr<UpstreamInstance> instance_;
  std::list<std::unique_ptr<UpstreamConnection>> connections_;
  std::vector<UpstreamConnection*> idle_;
  uint32_t in_flight_ = 0;
};

}  // namespace canarymesh::router
