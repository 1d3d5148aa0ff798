#include "router/thrift_call_path.h"

#include <cstring>

#include "core/clock.h"
#include "router/p2c_balancer.h"
#include "router/thrift_client_upstreams.h"
#include "router/thrift_connections.h"
#include "router/thrift_upstream_connection.h"
#include "router/thrift_upstream_pool.h"

namespace canarymesh::router {

void ThriftCallPath::RecordError(uint32_t stats_key, uint64_t start_us) {
  const uint64_t now_us = SteadyMicros();
  worker_.recorder().Record(stats_key, true, now_us - start_us,
                            static_cast<int64_t>(now_us / 1000));
}

bool ThriftCallPath::Fail(ThriftRoute* route, uint32_t stats_key, uint64_t start_us,
                          std::string why) {
  RecordError(stats_key, start_us);
  route->error = "canarymesh: " + why;
  return false;
}

bool ThriftCallPath::Route(const thrift::MessageInfo& call, const ThriftCallInput& input,
                           ThriftRoute* route) {
  ThriftConnections& thrift = worker_.thrift();
  Worker::RoutesLease* routes = worker_.AcquireRoutes();
  // The lease pins the route table while the call is routed; what the call keeps afterwards
  // (pool, connection, stats key, carried override) does not point into it.
  struct LeaseRelease {
    Worker& worker;
    Worker::RoutesLease* lease;
    ~LeaseRelease() { worker.ReleaseRoutes(lease); }
  } release{worker_, routes};

  const ServiceRoute* service = routes->table->FindService(input.service);
  if (service == nullptr || input.service_config == nullptr) {
    route->error = "canarymesh: no service '" + std::string(input.service) + "'";
    return false;
  }
  ThriftVersionChoice choice = ChooseThriftVersion(*service, call, input.choice);
  if (choice.group == nullptr) {
    return Fail(route, service->unrouted_thrift_stats_key, input.start_us,
                std::move(choice.message));
  }
  const VersionGroup& version = *choice.group;

  const thrift::FrameSpec client_spec = thrift::SourceFrameOf(call);
  ThriftUpstreamSpecCache local_cache;
  ThriftUpstreamSpecCache& cache = input.spec_cache ? *input.spec_cache : local_cache;
  if (!cache.known || !(cache.client == client_spec)) {
    auto spec = thrift.UpstreamSpec(*input.service_config, client_spec);
    if (!spec.ok())
      return Fail(route, version.thrift_stats_key, input.start_us, spec.status().message());
    cache.known = true;
    cache.client = client_spec;
    cache.upstream = *spec;
  }
  const thrift::FrameSpec& spec = cache.upstream;

  const uint64_t now_us = input.now_us != 0 ? input.now_us : SteadyMicros();
  const int64_t now_ms = static_cast<int64_t>(now_us / 1000);
  int chosen = PickPowerOfTwo(
      version.instances.size(),
      [&](size_t i) {
        BalancerCandidate c;
        c.in_flight = thrift.InFlight(version.instances[i], spec);
        c.ejected = version.instances[i]->IsEjected(now_ms);
        return c;
      },
      worker_.rng());
  const auto& instance = version.instances[static_cast<size_t>(chosen)];
  ThriftUpstreamPool& pool = thrift.PoolFor(instance, spec);
  ThriftUpstreamConnection* upstream = input.upstreams ? input.upstreams->Find(pool) : nullptr;
  if (upstream == nullptr) {
    int error_number = 0;
    upstream = pool.Pick(&error_number);
    if (upstream == nullptr) {
      if (instance->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
        RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
      }
      return Fail(route, version.thrift_stats_key, input.start_us,
                  "upstream connect error: " + instance->label() + " of service '" + service->name +
                      "' version '" + version.name + "': " + std::strerror(error_number));
    }
    if (input.upstreams) input.upstreams->Remember(pool, upstream);
  }

  route->pool = &pool;
  route->upstream = upstream;
  ThriftCallContext& context = route->context;
  context.stats_key = version.thrift_stats_key;
  context.start_us = input.start_us;
  context.now_us = input.now_us;
  context.caller_flushes = input.upstreams != nullptr;  // the batch is flushed when it is complete
  const bool carries = spec.format.transport == thrift::Transport::kHeader || spec.ttwitter;
  if (carries && !choice.carry.empty()) {
    route->carry = std::move(choice.carry);
    context.carry_key = worker_.config().override_header;
    context.carry_value = route->carry;
  } else if (carries && input.strip_overrides &&
             CallCarriesOverride(*service, call, worker_.config().override_header)) {
    context.carry_key = worker_.config().override_header;  // with an empty value: blanked
  }
  return true;
}

Status ThriftCallPath::Send(ThriftRoute& route, std::string_view message, thrift::MessageInfo& call,
                            ThriftCaller* caller, uint64_t call_id, int32_t* upstream_seqid) {
  Status s = route.upstream->Send(message, call, route.context, caller, call_id, upstream_seqid);
  route.pool->Update(route.upstream);
  if (!s.ok()) RecordError(route.context.stats_key, route.context.start_us);
  return s;
}

}  // namespace canarymesh::router
