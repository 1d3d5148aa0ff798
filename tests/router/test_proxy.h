// The HTTP proxy built in-process the way app/proxy_command.cc wires it: a ProxyConfig from YAML
// text, a canary::StatsRegistry, a RouteTablePublisher and N Workers with SO_REUSEPORT
// listeners on a port picked at runtime. Teardown drains and stops the workers.
// Construct and destroy on the test thread; the accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "canary/version_stats.h"
#include "core/config.h"
#include "router/route_table_publisher.h"
#include "router/worker.h"
#include "tests/support/loopback.h"
#include "tests/support/wait.h"

namespace canarymesh::router::testing {

class TestProxy {
 public:
  // `yaml`: a proxy config without `listeners` and `workers`; the harness adds both.
  explicit TestProxy(const std::string& yaml, uint32_t workers = 1);
  ~TestProxy();
  TestProxy(const TestProxy&) = delete;
  TestProxy& operator=(const TestProxy&) = delete;

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  const ProxyConfig& config() const { return config_; }
  RouteTablePublisher& publisher() { return *publisher_; }
  canary::StatsRegistry& stats() { return *stats_; }

  // Workers stop accepting, close idle clients and finish what is in flight (as on SIGTERM).
  void BeginDrain();
  // Ends the loops now, with whatever is in flight (as when the drain grace period runs out);
  // the workers' destructors then free the connections.
  void StopWithoutDrain();

  // One router counter summed over workers, e.g. Counter(&RouterCounters::retries_total).
  uint64_t Counter(std::atomic<uint64_t> RouterCounters::*field) const;
  size_t ActiveRequests() const;
  // Per-version request statistics, summed over workers ("none" = requests without a version).
  canary::VersionStatsSnapshot VersionStats(const std::string& service, const std::string& version);
  // The interned instance for "host:port", or nullptr.
  std::shared_ptr<UpstreamInstance> Instance(const std::string& label) const;

 private:
  ProxyConfig config_;
  std::unique_ptr<canary::StatsRegistry> stats_;
  std::unique_ptr<RouteTablePublisher> publisher_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

using ::canarymesh::testing::ReservePort;
using ::canarymesh::testing::WaitUntil;

// Resident set size of this process in bytes (VmRSS).
uint64_t CurrentRssBytes();

}  // namespace canarymesh::router::testing
