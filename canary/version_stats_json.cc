#include "canary/version_stats_json.h"

namespace canarymesh::canary {
namespace {

using Json = nlohmann::json;

Status FieldError(const std::string& field, const std::string& problem) {
  return Status::InvalidArgument(field + ": " + problem);
}

// A required non-negative integer member of `object`.
Status ReadCount(const Json& object, const char* name, const std::string& where, uint64_t* out) {
  auto it = object.find(name);
  std::string field = where.empty() ? name : where + "." + name;
  if (it == object.end()) return FieldError(field, "missing");
  if (!it->is_number_unsigned()) {
    return FieldError(field, "must be a non-negative integer, got " + it->dump());
  }
  *out = it->get<uint64_t>();
  return Status::Ok();
}

Result<HistogramSnapshot> ParseHistogram(const Json& document, const std::string& where) {
  if (!document.is_object()) return FieldError(where, "must be an object");
  HistogramSnapshot histogram;
  if (Status s = ReadCount(document, "count", where, &histogram.count); !s.ok()) return s;
  if (Status s = ReadCount(document, "sum_us", where, &histogram.sum_us); !s.ok()) return s;
  if (Status s = ReadCount(document, "max_us", where, &histogram.max_us); !s.ok()) return s;
  auto buckets = document.find("buckets");
  if (buckets == document.end() || !buckets->is_array()) {
    return FieldError(where + ".buckets", "must be an array of [index, count] pairs");
  }
  uint64_t total = 0;
  int64_t previous = -1;
  for (size_t i = 0; i < buckets->size(); ++i) {
    const Json& pair = (*buckets)[i];
    std::string field = where + ".buckets[" + std::to_string(i) + "]";
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() ||
        !pair[1].is_number_unsigned()) {
      return FieldError(field, "must be [index, count] with non-negative integers");
    }
    uint64_t index = pair[0].get<uint64_t>();
    uint64_t count = pair[1].get<uint64_t>();
    if (index >= kLatencyBucketCount) {
      return FieldError(field, "index " + std::to_string(index) + " is past the last bucket (" +
                                   std::to_string(kLatencyBucketCount - 1) + ")");
    }
    if (static_cast<int64_t>(index) <= previous) {
      return FieldError(field, "indexes must increase");
    }
    if (count == 0) return FieldError(field, "empty buckets are left out, not written as 0");
    previous = static_cast<int64_t>(index);
    histogram.counts[index] = count;
    total += count;
  }
  if (total != histogram.count) {
    return FieldError(where + ".count", std::to_string(histogram.count) +
                                            " does not equal the sum of the buckets (" +
                                            std::to_string(total) + ")");
  }
  return histogram;
}

Result<VersionStatsSnapshot> ParseVersionStats(const Json& document, const std::string& where) {
  if (!document.is_object())
    return FieldError(where.empty() ? "stats" : where, "must be an object");
  VersionStatsSnapshot stats;
  auto prefix = [&where](const char* name) { return where.empty() ? name : where + "." + name; };
  if (Status s = ReadCount(document, "requests", where, &stats.requests); !s.ok()) return s;
  if (Status s = ReadCount(document, "errors", where, &stats.errors); !s.ok()) return s;
  if (stats.errors > stats.requests) {
    return FieldError(prefix("errors"), "more errors than requests");
  }
  auto buckets = document.find("duration_buckets");
  if (buckets == document.end() || !buckets->is_array() ||
      buckets->size() != kDurationBucketCount) {
    return FieldError(prefix("duration_buckets"),
                      "must be an array of " + std::to_string(kDurationBucketCount) + " counts");
  }
  for (size_t i = 0; i < kDurationBucketCount; ++i) {
    if (!(*buckets)[i].is_number_unsigned()) {
      return FieldError(prefix("duration_buckets") + "[" + std::to_string(i) + "]",
                        "must be a non-negative integer");
    }
    stats.duration_buckets[i] = (*buckets)[i].get<uint64_t>();
  }
  if (Status s = ReadCount(document, "duration_sum_us", where, &stats.duration_sum_us); !s.ok()) {
    return s;
  }
  if (Status s = ReadCount(document, "window_errors", where, &stats.window_errors); !s.ok()) {
    return s;
  }
  for (const char* name : {"since_start", "window"}) {
    auto it = document.find(name);
    if (it == document.end()) return FieldError(prefix(name), "missing");
    auto histogram = ParseHistogram(*it, prefix(name));
    if (!histogram.ok()) return histogram.status();
    (std::string_view(name) == "window" ? stats.window : stats.since_start) = histogram.value();
  }
  return stats;
}

}  // namespace

Json HistogramSnapshotToJson(const HistogramSnapshot& histogram) {
  Json buckets = Json::array();
  for (size_t i = 0; i < histogram.counts.size(); ++i) {
    if (histogram.counts[i] != 0) buckets.push_back(Json::array({i, histogram.counts[i]}));
  }
  return Json{{"count", histogram.count},
              {"sum_us", histogram.sum_us},
              {"max_us", histogram.max_us},
              {"buckets", std::move(buckets)}};
}

Result<HistogramSnapshot> HistogramSnapshotFromJson(const Json& document) {
  return ParseHistogram(document, "histogram");
}

Json VersionStatsSnapshotToJson(const VersionStatsSnapshot& stats) {
  return Json{{"requests", stats.requests},
              {"errors", stats.errors},
              {"duration_buckets", stats.duration_buckets},
              {"duration_sum_us", stats.duration_sum_us},
              {"since_start", HistogramSnapshotToJson(stats.since_start)},
              {"window", HistogramSnapshotToJson(stats.window)},
              {"window_errors", stats.window_errors}};
}

Result<VersionStatsSnapshot> VersionStatsSnapshotFromJson(const Json& document) {
  return ParseVersionStats(document, "");
}

Json ServiceStatsReportToJson(const ServiceStatsReport& report) {
  Json versions = Json::object();
  for (const auto& [version, stats] : report.versions) {
    versions[version] = VersionStatsSnapshotToJson(stats);
  }
  return Json{{"service", report.service},
              {"sidecar_start_unix_ms", report.sidecar_start_unix_ms},
              {"versions", std::move(versions)}};
}

Result<ServiceStatsReport> ServiceStatsReportFromJson(const Json& document) {
  if (!document.is_object()) return Status::InvalidArgument("stats report: must be an object");
  ServiceStatsReport report;
  auto service = document.find("service");
  if (service == document.end() || !service->is_string() || service->get<std::string>().empty()) {
    return FieldError("service", "must be a non-empty string");
  }
  report.service = service->get<std::string>();
  auto start = document.find("sidecar_start_unix_ms");
  if (start == document.end() || !start->is_number_integer()) {
    return FieldError("sidecar_start_unix_ms", "must be an integer");
  }
  report.sidecar_start_unix_ms = start->get<int64_t>();
  auto versions = document.find("versions");
  if (versions == document.end() || !versions->is_object()) {
    return FieldError("versions", "must be an object of version -> stats");
  }
  for (auto it = versions->begin(); it != versions->end(); ++it) {
    if (it.key().empty()) return FieldError("versions", "empty version name");
    auto stats = ParseVersionStats(it.value(), "versions." + it.key());
    if (!stats.ok()) return stats.status();
    report.versions.emplace(it.key(), std::move(stats.value()));
  }
  return report;
}

Result<ServiceStatsReport> ParseServiceStatsReport(const std::string& json_text) {
  Json document = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return Status::InvalidArgument("stats report: not valid JSON");
  }
  return ServiceStatsReportFromJson(document);
}

}  // namespace canarymesh::canary
