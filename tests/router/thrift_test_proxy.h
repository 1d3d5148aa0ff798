// The proxy with Thrift listeners built in-process as app/proxy_command.cc wires it (as
// TestProxy does for HTTP): listeners given as YAML flow mappings whose "listen" is filled in
// with a free loopback port, a StatsRegistry, a RouteTablePublisher and N Workers.
// Construct and destroy on the test thread; accessors are thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "canary/version_stats.h"
#include "core/config.h"
#include "router/route_table_publisher.h"
#include "router/thrift_counters.h"
#include "router/worker.h"

namespace canarymesh::router::testing {

class ThriftTestProxy {
 public:
  // `listeners`: name -> the rest of its flow mapping, e.g. {"thrift", "protocol: thrift, service:
  // echo"}. `yaml`: the rest of the config (services, timeouts...).
  ThriftTestProxy(const std::map<std::string, std::string>& listeners, const std::string& yaml,
                  uint32_t workers = 2);
  ~ThriftTestProxy();
  ThriftTestProxy(const ThriftTestProxy&) = delete;
  ThriftTestProxy& operator=(const ThriftTestProxy&) = delete;

  bool ok() const { return !ports_.empty(); }
  uint16_t port(const std::string& listener) const { return ports_.at(listener); }
  // Per-version Thrift statistics ("none": calls that found no version).
  canary::VersionStatsSnapshot ThriftStats(const std::string& service, const std::string& version);
  uint64_t ThriftCounter(std::atomic<uint64_t> ThriftCounters::*field) const;
  // One router counter summed over workers, e.g.
  // RouterCounter(&RouterCounters::upstream_connections_total).
  uint64_t RouterCounter(std::atomic<uint64_t> RouterCounters::*field) const;
  uint64_t ProtocolErrors(const std::string& listener, ThriftProtocolError reason) const;
  size_t ActiveRequests() const;
  // The workers, as app/proxy_metrics.cc reads them for /metrics.
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

 private:
  ProxyConfig config_;
  std::unique_ptr<canary::StatsRegistry> stats_;
  std::unique_ptr<RouteTablePublisher> publisher_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::string, uint16_t> ports_;
};

}  // namespace canarymesh::router::testing
