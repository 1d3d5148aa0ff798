#include "scheduler-bridge/metrics/prometheus_metrics_source.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace canarymesh::bridge {
namespace {

using Json = nlohmann::json;

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Counters summed in Prometheus are floats; they are whole numbers when they are counts.
Result<uint64_t> AsCount(double value, const std::string& what) {
  if (!std::isfinite(value) || value < 0) {
    return Status::IoError("prometheus: " + what + " is " + std::to_string(value));
  }
  return static_cast<uint64_t>(std::llround(value));
}

// Index of the exported bucket whose upper bound `le` names ("0.0005" ... "10", "+Inf").
Result<size_t> BucketIndexOf(const std::string& le) {
  if (le == "+Inf") return canary::kDurationBucketCount - 1;
  char* end = nullptr;
  double seconds = std::strtod(le.c_str(), &end);
  if (end != le.c_str() + le.size())
    return Status::IoError("prometheus: bad le label '" + le + "'");
  for (size_t i = 0; i < canary::kDurationBucketBoundsUs.size(); ++i) {
    double bound = static_cast<double>(canary::kDurationBucketBoundsUs[i]) / 1e6;
    if (std::fabs(seconds - bound) <= bound * 1e-9) return i;
  }
  return Status::IoError("prometheus: le=\"" + le +
                         "\" is not a bucket bound of canarymesh_request_duration_seconds "
                         "(a different canarymesh version?)");
}

}  // namespace

std::string PromQlEscape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

canary::HistogramSnapshot ToLatencyHistogram(
    const std::array<uint64_t, canary::kDurationBucketCount>& buckets, uint64_t sum_us) {
  canary::HistogramSnapshot histogram;
  histogram.sum_us = sum_us;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    const bool overflow = i == canary::kDurationBucketBoundsUs.size();
    uint64_t lo = i == 0 ? 0 : canary::kDurationBucketBoundsUs[i - 1];
    uint64_t hi = overflow ? lo + 1 : canary::kDurationBucketBoundsUs[i];
    uint64_t at = overflow ? hi : (lo + hi) / 2;
    histogram.counts[canary::LatencyBuckets::IndexOf(at)] += buckets[i];
    histogram.count += buckets[i];
    histogram.max_us = hi;  // the most a sample in the highest non-empty bucket can be known as
  }
  return histogram;
}

Result<std::unique_ptr<PrometheusMetricsSource>> PrometheusMetricsSource::Create(
    PrometheusMetricsSourceOptions options) {
  auto url = ParseHttpUrl(options.url);
  if (!url.ok()) return Status::InvalidArgument("prometheus url: " + url.status().message());
  HttpClientOptions http;
  http.connect_timeout_ms = options.connect_timeout_ms;
  http.request_timeout_ms = options.request_timeout_ms;
  return std::unique_ptr<PrometheusMetricsSource>(
      new PrometheusMetricsSource(HttpClient(url.value(), http), std::move(options)));
}

PrometheusMetricsSource::PrometheusMetricsSource(HttpClient client,
                                                 PrometheusMetricsSourceOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::string PrometheusMetricsSource::Describe() const {
  return "prometheus at " + client_.url().ToString();
}

namespace {

// One instant query; the result vector's samples.
Result<std::vector<Sample>> Query(const HttpClient& client, const std::string& promql) {
  HttpRequest request;
  request.target = "/api/v1/query?query=" + PercentEncode(promql);
  auto response = client.Send(request);
  if (!response.ok()) return response.status();
  Json body = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Status::IoError("prometheus: query answered with status " +
                           std::to_string(response->status) + " and no JSON body");
  }
  if (body.value("status", "") != "success") {
    return Status::IoError("prometheus: query '" + promql + "' failed: " +
                           body.value("errorType", "?") + ": " + body.value("error", "?"));
  }
  const Json& data = body["data"];
  if (!data.is_object() || data.value("resultType", "") != "vector" || !data["result"].is_array()) {
    return Status::IoError("prometheus: query '" + promql + "' did not answer an instant vector");
  }
  std::vector<Sample> samples;
  for (const Json& r : data["result"]) {
    const Json& value = r.contains("value") ? r["value"] : Json();
    if (!r.is_object() || !r["metric"].is_object() || !value.is_array() || value.size() != 2 ||
        !value[1].is_string()) {
      return Status::IoError("prometheus: malformed sample in the answer to '" + promql + "'");
    }
    Sample sample;
    for (auto it = r["metric"].begin(); it != r["metric"].end(); ++it) {
      if (it.value().is_string()) sample.labels[it.key()] = it.value().get<std::string>();
    }
    const std::string text = value[1].get<std::string>();
    char* end = nullptr;
    sample.value = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) return Status::IoError("prometheus: bad sample value '" + text + "'");
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace

Result<ServiceMetrics> PrometheusMetricsSource::Read(const std::string& service) {
  if (service.empty()) return Status::InvalidArgument("prometheus metrics: empty service name");
  const std::string selector = "{service=\"" + PromQlEscape(service) + "\"}";
  // Sums of counters across sidecars: a sidecar that restarts (or stops being scraped) makes the
  // sum go down, which the rollout reads as a restart, as it does for one sidecar.
  auto unavailable = [&](const Status& s) {
    return Status::Unavailable("prometheus metrics for " + service + " (" + Describe() +
                               "): " + s.message());
  };
  auto results =
      Query(client_, "sum by (version, result) (canarymesh_requests_total" + selector + ")");
  if (!results.ok()) return unavailable(results.status());
  auto buckets = Query(
      client_, "sum by (version, le) (canarymesh_request_duration_seconds_bucket" + selector + ")");
  if (!buckets.ok()) return unavailable(buckets.status());
  auto sums =
      Query(client_, "sum by (version) (canarymesh_request_duration_seconds_sum" + selector + ")");
  if (!sums.ok()) return unavailable(sums.status());

  VersionSnapshots versions;
  for (const Sample& s : results.value()) {
    auto version = s.labels.find("version");
    if (version == s.labels.end()) continue;
    auto count = AsCount(s.value, "requests of " + version->second);
    if (!count.ok()) return count.status();
    canary::VersionStatsSnapshot& stats = versions[version->second];
    stats.requests += count.value();
    if (s.labels.count("result") && s.labels.at("result") == "error") stats.errors += count.value();
  }
  // Cumulative per le -> per bucket.
  std::map<std::string, std::array<uint64_t, canary::kDurationBucketCount>> cumulative;
  for (const Sample& s : buckets.value()) {
    auto version = s.labels.find("version");
    auto le = s.labels.find("le");
    if (version == s.labels.end() || le == s.labels.end()) continue;
    auto index = BucketIndexOf(le->second);
    if (!index.ok()) return index.status();
    auto count = AsCount(s.value, "bucket le=" + le->second + " of " + version->second);
    if (!count.ok()) return count.status();
    cumulative[version->second][index.value()] = count.value();
  }
  std::map<std::string, uint64_t> sum_us;
  for (const Sample& s : sums.value()) {
    auto version = s.labels.find("version");
    if (version != s.labels.end() && std::isfinite(s.value) && s.value >= 0) {
      sum_us[version->second] = static_cast<uint64_t>(std::llround(s.value * 1e6));
    }
  }
  for (const auto& [version, counts] : cumulative) {
    canary::VersionStatsSnapshot& stats = versions[version];
    uint64_t below = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      // A scrape in between two series' reads can leave a bucket below the one before it.
      stats.duration_buckets[i] = counts[i] >= below ? counts[i] - below : 0;
      below = std::max(below, counts[i]);
    }
    stats.duration_sum_us = sum_us[version];
    stats.since_start = ToLatencyHistogram(stats.duration_buckets, stats.duration_sum_us);
  }
  ServiceMetrics metrics;
  metrics.by_reporter["prometheus"] = std::move(versions);
  return metrics;
}

}  // namespace canarymesh::bridge
