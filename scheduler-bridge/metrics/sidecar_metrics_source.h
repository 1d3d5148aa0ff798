// SidecarMetricsSource: the judge's counts straight from the sidecars. It lists the sidecars'
// ServerSet members under <sidecars_path> in ZooKeeper (each proxy announces its admin endpoint
// there), then GETs http://<admin>/admin/stats/<service> from every ALIVE one in parallel: exact
// cumulative counts and latency histograms per version (canary/version_stats_json.h). A sidecar
// that does not route the service (404) is skipped; one that cannot be read is listed in
// `unreachable` with why. Thread-safe; Read blocks for one ZooKeeper listing and one HTTP round.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "discovery/zk_session.h"
#include "scheduler-bridge/version_metrics_source.h"

namespace canarymesh::bridge {

struct SidecarMetricsSourceOptions {
  std::string sidecars_path = "/canarymesh/sidecars";  // the proxies' zookeeper.sidecars_path
  uint32_t connect_timeout_ms = 1000;
  uint32_t request_timeout_ms = 3000;  // per sidecar
  uint32_t max_parallel = 16;          // sidecars asked at once
};

// One announced sidecar.
struct SidecarEndpoint {
  std::string id;  // "host:port" of its admin endpoint: the reporter id
  std::string host;
  uint16_t port = 0;
};

class SidecarMetricsSource : public VersionMetricsSource {
 public:
  // `session` must outlive this.
  SidecarMetricsSource(ZkSession& session, SidecarMetricsSourceOptions options = {});

  std::string Describe() const override;
  Result<ServiceMetrics> Read(const std::string& service) override;

  // The ALIVE sidecars announced now; members whose data cannot be used go to `bad` with why.
  Result<std::vector<SidecarEndpoint>> ListSidecars(std::vector<std::string>* bad);

 private:
  ZkSession& session_;
  const SidecarMetricsSourceOptions options_;
};

}  // namespace canarymesh::bridge
