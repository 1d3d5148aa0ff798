// A worker's Thrift data plane: the client connections of its Thrift listeners, its pools of
// upstream Thrift connections (per instance and framing), and the Thrift counters. Owned by the
// Worker; everything here runs on that worker's thread (counters() may be read from any).
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "core/config.h"
#include "router/thrift_counters.h"
#include "router/thrift_upstream_pool.h"
#include "router/upstream_instance.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftDownstreamConnection;
class Worker;

class ThriftConnections {
 public:
  explicit ThriftConnections(Worker& worker);
  ~ThriftConnections();
  ThriftConnections(const ThriftConnections&) = delete;
  ThriftConnections& operator=(const ThriftConnections&) = delete;

  // A client connected to Thrift listener `listener`.
  void Accept(const ListenerConfig& listener, int fd, const sockaddr* peer);
  void Remove(ThriftDownstreamConnection* connection);
  // Stops reading new calls; connections close once their outstanding calls are answered.
  void DrainAll();
  void CloseAll();

  ThriftUpstreamPool& PoolFor(const std::shared_ptr<UpstreamInstance>& instance,
                              const thrift::FrameSpec& spec);
  // Calls outstanding to `instance` on this worker in `spec` framing (for the balancer).
  uint32_t InFlight(const std::shared_ptr<UpstreamInstance>& instance,
                    const thrift::FrameSpec& spec) const;

  // The target framing towards `service`'s instances for a client call in `client` framing;
  // an error message when the two cannot be bridged.
  Result<thrift::FrameSpec> UpstreamSpec(const ServiceConfig& service,
                                         const thrift::FrameSpec& client) const;
  // The configured service named `name` (null if none).
  const ServiceConfig* FindServiceConfig(std::string_view name) const;
  // The index of `listener` in the config (for per-listener counters).
  size_t ListenerIndex(const ListenerConfig& listener) const;

  ThriftCounters& counters() { return counters_; }
  const ThriftCounters& counters() const { return counters_; }
  size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  Worker& worker_;
  ThriftCounters counters_;
  size_t max_frame_bytes_ = 16u << 20;  // upstream replies: the largest any listener allows
  std::list<std::unique_ptr<ThriftDownstreamConnection>> downstreams_;
  // [UpstreamInstance::id()] -> its pools, one per framing (nearly always just one): a call finds
  // its pool by index and a short scan, no hashing.
  std::vector<std::vector<std::unique_ptr<ThriftUpstreamPool>>> pools_;
};

}  // namespace canarymesh::router
