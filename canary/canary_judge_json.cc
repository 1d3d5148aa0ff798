// JSON for the canary judge: tunables both ways, and the full report for `rollout status`.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "canary/canary_judge.h"

namespace canarymesh::canary {
namespace {

using Field = std::variant<uint64_t CanaryJudgeTunables::*, double CanaryJudgeTunables::*,
                           bool CanaryJudgeTunables::*>;
struct NamedField {
  const char* name;
  Field field;
};

// One list for both directions, so a new tunable cannot be read but not shown.
constexpr NamedField kFields[] = {
    {"min_canary_requests", &CanaryJudgeTunables::min_canary_requests},
    {"min_baseline_requests", &CanaryJudgeTunables::min_baseline_requests},
    {"degradation_factor", &CanaryJudgeTunables::degradation_factor},
    {"min_absolute_increase", &CanaryJudgeTunables::min_absolute_increase},
    {"alpha", &CanaryJudgeTunables::alpha},
    {"beta", &CanaryJudgeTunables::beta},
    {"check_latency", &CanaryJudgeTunables::check_latency},
    {"p50_tolerance", &CanaryJudgeTunables::p50_tolerance},
    {"p99_tolerance", &CanaryJudgeTunables::p99_tolerance},
    {"latency_slack_us", &CanaryJudgeTunables::latency_slack_us},
    {"latency_confidence", &CanaryJudgeTunables::latency_confidence},
    {"min_latency_samples", &CanaryJudgeTunables::min_latency_samples},
    {"max_canary_requests", &CanaryJudgeTunables::max_canary_requests},
};

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json SampleJson(const VersionSample& s) {
  nlohmann::json buckets = nlohmann::json::array();
  for (size_t i = 0; i < kLatencyBucketCount; ++i) {
    if (s.latency.counts[i] == 0) continue;
    const uint64_t lower = LatencyBuckets::LowerBound(i);
    buckets.push_back({lower, lower + LatencyBuckets::Width(i) - 1, s.latency.counts[i]});
  }
  return {{"requests", s.requests},
          {"errors", s.errors},
          {"latency",
           {{"count", s.latency.count},
            {"sum_us", s.latency.sum_us},
            {"max_us", s.latency.max_us},
            {"buckets", std::move(buckets)}}}};
}

const char* DecisionName(SprtDecision d) {
  switch (d) {
    case SprtDecision::kPass:
      return "PASS";
    case SprtDecision::kFail:
      return "FAIL";
    case SprtDecision::kContinue:
      return "CONTINUE";
  }
  return "UNKNOWN";
}

const char* DecisionName(QuantileDecision d) {
  switch (d) {
    case QuantileDecision::kWithinTolerance:
      return "WITHIN_TOLERANCE";
    case QuantileDecision::kExceedsTolerance:
      return "EXCEEDS_TOLERANCE";
    case QuantileDecision::kUndecided:
      return "UNDECIDED";
  }
  return "UNKNOWN";
}

nlohmann::json ErrorsJson(const ErrorRateEvidence& e, const CanaryJudgeTunables& t) {
  return {{"test", "binomial SPRT, baseline rate profiled out"},
          {"h0", "canary rate = baseline rate"},
          {"h1",
           "canary rate = max(degradation_factor * baseline, baseline + "
           "min_absolute_increase)"},
          {"degradation_factor", t.degradation_factor},
          {"min_absolute_increase", t.min_absolute_increase},
          {"baseline_rate", e.baseline_rate},
          {"canary_rate", e.canary_rate},
          {"pooled_rate", e.pooled_rate},
          {"h1_baseline_rate", e.h1_baseline_rate},
          {"h1_canary_rate", e.h1_canary_rate},
          {"log_likelihood_ratio", e.llr},
          {"fail_threshold", e.fail_threshold},
          {"pass_threshold", e.pass_threshold},
          {"p_value", e.p_value},
          {"llr_drift_per_request", e.llr_drift_per_request},
          {"requests_to_pass", OrNull(e.requests_to_pass)},
          {"decision", DecisionName(e.decision)}};
}

nlohmann::json QuantileJson(const QuantileEvidence& q) {
  return {{"quantile", q.quantile},
          {"tolerance", q.tolerance},
          {"baseline_us", q.baseline_us},
          {"canary_us", q.canary_us},
          {"ratio", q.ratio},
          {"limit_us", q.limit_us},
          {"canary_lower_bound_us", OrNull(q.canary_lower_us)},
          {"baseline_upper_bound_us", OrNull(q.baseline_upper_us)},
          {"significant_limit_us", OrNull(q.significant_limit_us)},
          {"decision", DecisionName(q.decision)}};
}

nlohmann::json LatencyJson(const LatencyEvidence& l, const CanaryJudgeTunables& t) {
  const MannWhitneyResult& mw = l.mann_whitney;
  return {{"checked", t.check_latency},
          {"test", "quantile vs tolerance with order-statistic confidence bounds"},
          {"confidence", t.latency_confidence},
          {"slack_us", t.latency_slack_us},
          {"baseline_samples", l.baseline_samples},
          {"canary_samples", l.canary_samples},
          {"enough_samples", l.enough_samples},
          {"p50", QuantileJson(l.p50)},
          {"p99", QuantileJson(l.p99)},
          {"mann_whitney",
           {{"valid", mw.valid},
            {"used_for_verdict", false},
            {"u_canary", mw.u_canary},
            {"prob_canary_slower", mw.prob_canary_slower},
            {"z", mw.z},
            {"p_canary_slower", mw.p_canary_slower},
            {"p_two_sided", mw.p_two_sided}}}};
}

}  // namespace

nlohmann::json CanaryJudgeTunablesToJson(const CanaryJudgeTunables& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const NamedField& f : kFields) {
    std::visit([&](auto member) { j[f.name] = t.*member; }, f.field);
  }
  return j;
}

Result<CanaryJudgeTunables> CanaryJudgeTunablesFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("canary judge: tunables must be an object");
  CanaryJudgeTunables t;
  for (const auto& item : j.items()) {
    // Named copies rather than structured bindings: clang 14 cannot capture those in a lambda.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const NamedField* found = nullptr;
    for (const NamedField& f : kFields) {
      if (key == f.name) found = &f;
    }
    if (found == nullptr) {
      return Status::InvalidArgument("canary judge: unknown tunable " + key);
    }
    bool type_ok = false;
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(t.*member)>;
          if constexpr (std::is_same_v<T, bool>) {
            type_ok = value.is_boolean();
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            type_ok = value.is_number_unsigned();
          } else {
            type_ok = value.is_number();
          }
          if (type_ok) t.*member = value.get<T>();
        },
        found->field);
    if (!type_ok) {
      return Status::InvalidArgument("canary judge: tunable " + key + " has the wrong type");
    }
  }
  if (Status s = t.Validate(); !s.ok()) return s;
  return t;
}

nlohmann::json JudgeReport::ToJson() const {
  return {
      {"verdict", std::string(VerdictName(verdict))},
      {"reason", reason},
      {"requests_still_needed", OrNull(requests_still_needed)},
      {"failed_on_errors", failed_on_errors},
      {"failed_on_latency", failed_on_latency},
      {"truncated", truncated},
      {"input", {{"baseline", SampleJson(input.baseline)}, {"canary", SampleJson(input.canary)}}},
      {"tunables", CanaryJudgeTunablesToJson(tunables)},
      {"error_rate", ErrorsJson(errors, tunables)},
      {"latency", LatencyJson(latency, tunables)}};
}

}  // namespace canarymesh::canary
