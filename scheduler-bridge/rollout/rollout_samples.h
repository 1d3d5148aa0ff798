// What the canary judge is fed at a step: the counts each reporter (sidecar) gave at the step's
// start are kept in the rollout record as compact JSON, and the judge's input is the sum over
// reporters of (now - start) for the baseline and for the canary. A reporter whose counts went
// backwards restarted, and one that appeared mid-step is new: all their counts belong to the step.
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "canary/canary_judge.h"
#include "canary/version_stats.h"
#include "core/status.h"
#include "scheduler-bridge/version_metrics_source.h"

namespace canarymesh::bridge {

// Counters and the since-start latency histogram (non-empty buckets only); the rest of a
// snapshot is not needed to judge.
nlohmann::json SnapshotToJson(const canary::VersionStatsSnapshot& s);
Result<canary::VersionStatsSnapshot> SnapshotFromJson(const nlohmann::json& j);

// reporter -> version -> SnapshotToJson, for `versions` only.
nlohmann::json StepStartJson(const ServiceMetrics& metrics, const std::string& baseline_version,
                             const std::string& canary_version);

// The judge's input for the interval since the step started. InvalidArgument when the stored
// step start cannot be read.
Result<canary::JudgeInput> JudgeInputSince(const nlohmann::json& step_start,
                                           const ServiceMetrics& now,
                                           const std::string& baseline_version,
                                           const std::string& canary_version);

}  // namespace canarymesh::bridge
