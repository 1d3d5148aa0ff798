#include "scheduler-bridge/rollout/rollout_samples.h"

namespace canarymesh::bridge {
namespace {

canary::VersionSample& Add(canary::VersionSample& total, const canary::VersionSample& part) {
  total.requests += part.requests;
  total.errors += part.errors;
  total.latency.Merge(part.latency);
  return total;
}

}  // namespace

nlohmann::json SnapshotToJson(const canary::VersionStatsSnapshot& s) {
  nlohmann::json buckets = nlohmann::json::array();
  for (size_t i = 0; i < s.since_start.counts.size(); ++i) {
    if (s.since_start.counts[i] != 0) buckets.push_back({i, s.since_start.counts[i]});
  }
  return {{"requests", s.requests},
          {"errors", s.errors},
          {"latency_sum_us", s.since_start.sum_us},
          {"latency_max_us", s.since_start.max_us},
          {"latency_buckets", std::move(buckets)}};
}

Result<canary::VersionStatsSnapshot> SnapshotFromJson(const nlohmann::json& j) {
  canary::VersionStatsSnapshot s;
  try {
    s.requests = j.at("requests").get<uint64_t>();
    s.errors = j.at("errors").get<uint64_t>();
    s.since_start.sum_us = j.value("latency_sum_us", uint64_t{0});
    s.since_start.max_us = j.value("latency_max_us", uint64_t{0});
    for (const auto& b : j.value("latency_buckets", nlohmann::json::array())) {
      const auto index = b.at(0).get<size_t>();
      const auto count = b.at(1).get<uint64_t>();
      if (index >= s.since_start.counts.size()) {
        return Status::InvalidArgument("snapshot: latency bucket " + std::to_string(index) +
                                       " out of range");
      }
      s.since_start.counts[index] = count;
      s.since_start.count += count;
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("snapshot: ") + e.what());
  }
  return s;
}

nlohmann::json StepStartJson(const ServiceMetrics& metrics, const std::string& baseline_version,
                             const std::string& canary_version) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [reporter, versions] : metrics.by_reporter) {
    nlohmann::json per_version = nlohmann::json::object();
    for (const std::string& v : {baseline_version, canary_version}) {
      auto it = versions.find(v);
      if (it != versions.end()) per_version[v] = SnapshotToJson(it->second);
    }
    out[reporter] = std::move(per_version);
  }
  return out;
}

Result<canary::JudgeInput> JudgeInputSince(const nlohmann::json& step_start,
                                           const ServiceMetrics& now,
                                           const std::string& baseline_version,
                                           const std::string& canary_version) {
  canary::JudgeInput input;
  for (const auto& [reporter, versions] : now.by_reporter) {
    for (const std::string& v : {baseline_version, canary_version}) {
      auto it = versions.find(v);
      if (it == versions.end()) continue;
      canary::VersionStatsSnapshot start;  // zero: a new reporter or version counts in full
      if (step_start.is_object() && step_start.contains(reporter) &&
          step_start[reporter].contains(v)) {
        auto parsed = SnapshotFromJson(step_start[reporter][v]);
        if (!parsed.ok()) return parsed.status();
        start = parsed.value();
      }
      // Counts that went backwards: the sidecar restarted and everything it has is new.
      if (it->second.requests < start.requests || it->second.errors < start.errors) {
        start = canary::VersionStatsSnapshot{};
      }
      canary::VersionSample part = canary::SampleBetween(start, it->second);
      Add(v == canary_version ? input.canary : input.baseline, part);
    }
  }
  return input;
}

}  // namespace canarymesh::bridge
