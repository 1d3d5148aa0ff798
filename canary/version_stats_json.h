// JSON form of per-version statistics, exact to the bucket: what a sidecar serves at
// GET /admin/stats/<service> and what the scheduler bridge reads back for the canary judge. One
// codec for both ends so that they cannot drift apart. Parsing never throws: bad input is an
// error naming the field. Thread-compatible: pure functions over plain values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "canary/latency_histogram.h"
#include "canary/version_stats.h"
#include "core/status.h"

namespace canarymesh::canary {

// {"count":N,"sum_us":N,"max_us":N,"buckets":[[index,count],...]}: only non-empty buckets of the
// shared LatencyBuckets layout, in index order.
nlohmann::json HistogramSnapshotToJson(const HistogramSnapshot& histogram);
// Checks indexes (in range, increasing), counts (> 0) and that they add up to "count".
Result<HistogramSnapshot> HistogramSnapshotFromJson(const nlohmann::json& document);

// {"requests","errors","duration_buckets":[15 per-bucket counts, the last is +Inf],
//  "duration_sum_us","since_start":{histogram},"window":{histogram},"window_errors"}
nlohmann::json VersionStatsSnapshotToJson(const VersionStatsSnapshot& stats);
Result<VersionStatsSnapshot> VersionStatsSnapshotFromJson(const nlohmann::json& document);

// One sidecar's cumulative counts for one service, since the sidecar started.
struct ServiceStatsReport {
  std::string service;
  int64_t sidecar_start_unix_ms = 0;
  std::map<std::string, VersionStatsSnapshot> versions;
};

// {"service":..,"sidecar_start_unix_ms":..,"versions":{"v1":{VersionStatsSnapshot},...}}
nlohmann::json ServiceStatsReportToJson(const ServiceStatsReport& report);
Result<ServiceStatsReport> ServiceStatsReportFromJson(const nlohmann::json& document);
// Parses the text first; a syntax error is InvalidArgument too.
Result<ServiceStatsReport> ParseServiceStatsReport(const std::string& json_text);

}  // namespace canarymesh::canary
