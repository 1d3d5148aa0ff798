// The one path of a Thrift call to its upstream, shared by Thrift listeners
// (ThriftDownstreamConnection) and Thrift-over-HTTP (ThriftHttpExchange), so that a fix lands
// once: find the service, choose the version (override, method pin, sticky key, weighted split),
// work out the upstream framing, pick an instance (power of two choices over calls in flight,
// ejected instances avoided), take a pooled connection, build the call's context (stats key,
// override carried on or blanked) and send. A failure on the way is recorded in the version's
// stats, marks the instance (ejections counted) where the instance is at fault, and comes back
// as the reason for the caller's TApplicationException. Worker-thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"
#include "router/thrift_caller.h"
#include "router/thrift_version_choice.h"
#include "router/worker.h"
#include "thrift/message_info.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftClientUpstreams;
class ThriftUpstreamConnection;
class ThriftUpstreamPool;

// The upstream framing worked out for the last call's client framing. A client connection keeps
// its framing (bar a TTwitter upgrade), so it keeps one of these and the work is done once.
struct ThriftUpstreamSpecCache {
  bool known = false;
  thrift::FrameSpec client;
  thrift::FrameSpec upstream;
};

struct ThriftCallInput {
  const ServiceConfig* service_config = nullptr;  // null: the service is not configured
  std::string_view service;
  ThriftChoiceInput choice;  // choice.override_header empty: overrides not honoured
  // The client is not trusted with overrides: one the call itself carries is blanked on its way
  // to the next hop (an empty override is no override).
  bool strip_overrides = false;
  uint64_t start_us = 0;  // when the call arrived (SteadyMicros)
  // SteadyMicros read moments ago (one reading serves a batch of calls); 0: read the clock.
  uint64_t now_us = 0;
  ThriftUpstreamSpecCache* spec_cache = nullptr;  // optional
  // Optional: the client connection's own upstream connections (kept across its reads; the
  // caller flushes them once its read is done).
  ThriftClientUpstreams* upstreams = nullptr;
};

// A routed call, ready to be sent. Kept by the caller until Send returns.
struct ThriftRoute {
  ThriftUpstreamPool* pool = nullptr;
  ThriftUpstreamConnection* upstream = nullptr;
  ThriftCallContext context;
  std::string carry;  // the override carried on; context.carry_value points into it
  std::string error;  // why the call was not routed, for a TApplicationException
};

class ThriftCallPath {
 public:
  explicit ThriftCallPath(Worker& worker) : worker_(worker) {}

  // Routes `call`. False: `route->error` says why (prefixed "canarymesh: "), and the failure is
  // already in the per-version stats.
  bool Route(const thrift::MessageInfo& call, const ThriftCallInput& input, ThriftRoute* route);
  // Queues the call on the routed connection. `caller` null: a oneway call. A failure is
  // recorded in the stats like a routing failure; nothing was queued.
  Status Send(ThriftRoute& route, std::string_view message, thrift::MessageInfo& call,
              ThriftCaller* caller, uint64_t call_id, int32_t* upstream_seqid);

 private:
  // An error outcome for the version's stats, timed from `start_us`.
  void RecordError(uint32_t stats_key, uint64_t start_us);
  bool Fail(ThriftRoute* route, uint32_t stats_key, uint64_t start_us, std::string why);

  Worker& worker_;
};

}  // namespace canarymesh::router
