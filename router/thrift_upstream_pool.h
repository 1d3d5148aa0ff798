// The Thrift connections one worker keeps to one upstream instance in one framing (transport,
// protocol, TTwitter or not). A call takes an idle connection, else opens a new one (up to
// kMaxConnections), else shares the least busy one: servers that answer a connection's calls
// one at a time still see parallel calls, and many clients' calls share few connections.
// Worker-thread only.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "router/thrift_upstream_connection.h"
#include "router/upstream_instance.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftUpstreamPool {
 public:
  static constexpr size_t kMaxConnections = 64;

  ThriftUpstreamPool(Worker& worker, std::shared_ptr<UpstreamInstance> instance,
                     thrift::FrameSpec spec, size_t max_frame_bytes);
  ~ThriftUpstreamPool();
  ThriftUpstreamPool(const ThriftUpstreamPool&) = delete;
  ThriftUpstreamPool& operator=(const ThriftUpstreamPool&) = delete;

  // A connection with room for one more call; nullptr if a new one could not even start
  // connecting (errno in *error_number).
  ThriftUpstreamConnection* Pick(int* error_number);
  // A connection's calls changed: back on the idle list when it has none.
  void Update(ThriftUpstreamConnection* connection);
  // Closes and frees (deferred) the connection.
  void Remove(ThriftUpstreamConnection* connection);

  const std::shared_ptr<UpstreamInstance>& instance() const { return instance_; }
  const thrift::FrameSpec& spec() const { return spec_; }
  uint32_t in_flight() const { return in_flight_; }
  void CallStarted() { ++in_flight_; }
  void CallFinished() { --in_flight_; }
  size_t connection_count() const { return connections_.size(); }

 private:
  Worker& worker_;
  std::shared_ptr<UpstreamInstance> instance_;
  const thrift::FrameSpec spec_;
  const size_t max_frame_bytes_;
  std::list<std::unique_ptr<ThriftUpstreamConnection>> connections_;
  std::vector<ThriftUpstreamConnection*> idle_;
  uint32_t in_flight_ = 0;
};

}  // namespace canarymesh::router
