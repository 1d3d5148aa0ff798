// VersionMetricsSource: where the rollout reads what each version of a service has served, for
// the canary judge. Two implementations: the sidecars themselves (each sidecar's admin endpoint,
// found through the sidecar's own ZooKeeper announcement) and Prometheus's HTTP query API.
// Counts are cumulative since each sidecar started; the rollout takes differences between two
// reads per sidecar (a sidecar whose counts went backwards restarted: its new counts are all new).
// Implementations are thread-safe; Read may block for one round of HTTP requests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "canary/version_stats.h"
#include "core/status.h"

namespace canarymesh::bridge {

// version -> cumulative counts and latency histograms.
using VersionSnapshots = std::map<std::string, canary::VersionStatsSnapshot>;

struct ServiceMetrics {
  // reporter id (a sidecar's "host:admin_port", or "prometheus") -> what it counted.
  std::map<std::string, VersionSnapshots> by_reporter;
  // Reporters that should have answered and did not, with why; the judge's input says so.
  std::vector<std::string> unreachable;
};

class VersionMetricsSource {
 public:
  virtual ~VersionMetricsSource() = default;
  // e.g. "sidecars under /canarymesh/sidecars" or "prometheus at http://127.0.0.1:9090".
  virtual std::string Describe() const = 0;
  // Unavailable when no reporter at all could be read.
  virtual Result<ServiceMetrics> Read(const std::string& service) = 0;
};

}  // namespace canarymesh::bridge
