// The per-service canary summary: what GET /admin/canary/<service> shows and what a canary
// judge reads. Every number behind a verdict is here, with its window.
#include <nlohmann/json.hpp>

#include "canary/version_stats.h"

namespace canarymesh::canary {
namespace {

using Json = nlohmann::json;

// Unknown (null) rather than 0 when there is nothing to divide by: "no traffic" must not look
// like "no errors".
Json ErrorRate(uint64_t errors, uint64_t requests) {
  if (requests == 0) return nullptr;
  return static_cast<double>(errors) / static_cast<double>(requests);
}

Json LatencyMs(const HistogramSnapshot& latency) {
  auto at = [&latency](double q) -> Json {
    if (latency.count == 0) return nullptr;
    return latency.ValueAtQuantile(q) / 1000.0;
  };
  return Json{{"p50", at(0.50)},
              {"p90", at(0.90)},
              {"p99", at(0.99)},
              {"p999", at(0.999)},
              {"max", latency.count == 0 ? Json(nullptr) : Json(latency.max_us / 1000.0)},
              {"samples", latency.count}};
}

}  // namespace

std::vector<StatsRegistry::VersionSummary> StatsRegistry::SummarizeService(std::string_view service,
                                                                           int64_t now_ms) const {
  std::map<std::string, VersionStatsSnapshot, std::less<>> by_version;
  const size_t keys = num_keys();
  for (StatKey key = 0; key < keys; ++key) {
    const KeyEntry& entry = Entry(key);
    if (entry.labels.service != service) continue;
    VersionStatsSnapshot& total = by_version[entry.labels.version];
    for (uint32_t worker = 0; worker < num_workers_; ++worker) {
      entry.shards[worker].AddTo(total, now_ms);
    }
  }
  std::vector<VersionSummary> summaries;
  summaries.reserve(by_version.size());
  for (auto& [version, stats] : by_version) {
    summaries.push_back(VersionSummary{version, std::move(stats)});
  }
  return summaries;
}

Json StatsRegistry::ServiceSummaryJson(std::string_view service, int64_t now_ms) const {
  Json versions = Json::object();
  for (const VersionSummary& summary : SummarizeService(service, now_ms)) {
    const VersionStatsSnapshot& s = summary.stats;
    const uint64_t window_requests = s.window.count;
    versions[summary.version] = {
        {"requests", s.requests},
        {"errors", s.errors},
        {"error_rate", ErrorRate(s.errors, s.requests)},
        {"latency_ms", LatencyMs(s.since_start)},
        {"window",
         {{"seconds", LatencyWindow::kSlots * LatencyWindow::kDefaultSlotMs / 1000},
          {"requests", window_requests},
          {"errors", s.window_errors},
          {"error_rate", ErrorRate(s.window_errors, window_requests)},
          {"latency_ms", LatencyMs(s.window)}}}};
  }
  return Json{{"service", std::string(service)}, {"versions", std::move(versions)}};
}

}  // namespace canarymesh::canary
