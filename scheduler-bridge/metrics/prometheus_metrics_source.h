// PrometheusMetricsSource: the judge's counts from Prometheus's HTTP query API (/api/v1/query),
// over the series every sidecar exports (canary/version_stats.h): canarymesh_requests_total for
// requests and errors, canarymesh_request_duration_seconds for latency, each summed over all
// sidecars (and protocols) into one reporter, "prometheus". Coarser than asking the sidecars:
// counts are as of Prometheus's last scrape, and latency is known only to the 15 buckets of the
// exported histogram (see ToLatencyHistogram). Thread-safe; Read blocks for three HTTP queries.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "scheduler-bridge/http/http_client.h"
#include "scheduler-bridge/version_metrics_source.h"

namespace canarymesh::bridge {

struct PrometheusMetricsSourceOptions {
  std::string url = "http://127.0.0.1:9090";  // Prometheus's base URL
  uint32_t connect_timeout_ms = 2000;
  uint32_t request_timeout_ms = 10000;  // per query
};

class PrometheusMetricsSource : public VersionMetricsSource {
 public:
  // InvalidArgument for a URL that is not http(s)://host[:port][/path].
  static Result<std::unique_ptr<PrometheusMetricsSource>> Create(
      PrometheusMetricsSourceOptions options);

  std::string Describe() const override;
  Result<ServiceMetrics> Read(const std::string& service) override;

 private:
  PrometheusMetricsSource(HttpClient client, PrometheusMetricsSourceOptions options);

  HttpClient client_;
  const PrometheusMetricsSourceOptions options_;
};

// The exported histogram's per-bucket counts spread onto the fine latency layout: each bucket's
// count lands at the midpoint of its range ((lo, hi] of kDurationBucketBoundsUs; the +Inf bucket
// just above 10 s), so percentiles are only as good as those 15 buckets.
canary::HistogramSnapshot ToLatencyHistogram(
    const std::array<uint64_t, canary::kDurationBucketCount>& buckets, uint64_t sum_us);

// `service` as a PromQL string literal's contents (backslash and double quote escaped).
std::string PromQlEscape(const std::string& value);

}  // namespace canarymesh::bridge
