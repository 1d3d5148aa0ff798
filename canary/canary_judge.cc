#include "canary/canary_judge.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "canary/version_stats.h"

namespace canarymesh::canary {
namespace {

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  return buf;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

std::string Rate(double rate, uint64_t errors, uint64_t requests) {
  return Format("%.2f%% (%llu/%llu)", 100.0 * rate, static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(requests));
}

std::string ErrorRates(const JudgeInput& in, const ErrorRateEvidence& e) {
  return "error rate " + Rate(e.canary_rate, in.canary.errors, in.canary.requests) +
         " vs baseline " + Rate(e.baseline_rate, in.baseline.errors, in.baseline.requests);
}

double Ms(double us) { return us / 1000.0; }

std::string QuantileName(const QuantileEvidence& q) { return q.quantile == 0.5 ? "p50" : "p99"; }

std::string QuantileFailure(const QuantileEvidence& q) {
  return Format(
      "%s latency %.1f ms vs baseline %.1f ms (%.2fx): at least %.1f ms > %.1f ms "
      "(%.2fx the baseline's upper bound + slack)",
      QuantileName(q).c_str(), Ms(q.canary_us), Ms(q.baseline_us), q.ratio,
      Ms(q.canary_lower_us.value_or(0)), Ms(q.significant_limit_us.value_or(0)), q.tolerance);
}

std::string QuantileSummary(const QuantileEvidence& q) {
  return Format("%s %.1f ms vs baseline %.1f ms (%.2fx, limit %.1f ms)", QuantileName(q).c_str(),
                Ms(q.canary_us), Ms(q.baseline_us), q.ratio, Ms(q.limit_us));
}

bool OverLimit(const QuantileEvidence& q) { return q.canary_us > q.limit_us; }

}  // namespace

Status CanaryJudgeTunables::Validate() const {
  auto bad = [](const char* field, const char* why) {
    return Status::InvalidArgument(std::string("canary judge: ") + field + " " + why);
  };
  if (min_canary_requests < 1) return bad("min_canary_requests", "must be >= 1");
  if (min_baseline_requests < 1) return bad("min_baseline_requests", "must be >= 1");
  if (!(degradation_factor >= 1.0 && degradation_factor <= 1000.0)) {
    return bad("degradation_factor", "must be in [1, 1000]");
  }
  if (!(min_absolute_increase >= 0.0 && min_absolute_increase <= 0.5)) {
    return bad("min_absolute_increase", "must be in [0, 0.5]");
  }
  if (degradation_factor == 1.0 && min_absolute_increase == 0.0) {
    return bad("degradation_factor", "must be > 1 when min_absolute_increase is 0 (H1 = H0)");
  }
  if (!(alpha > 0.0 && alpha <= 0.5)) return bad("alpha", "must be in (0, 0.5]");
  if (!(beta > 0.0 && beta <= 0.5)) return bad("beta", "must be in (0, 0.5]");
  if (!(p50_tolerance >= 1.0 && p50_tolerance <= 1000.0)) {
    return bad("p50_tolerance", "must be in [1, 1000]");
  }
  if (!(p99_tolerance >= 1.0 && p99_tolerance <= 1000.0)) {
    return bad("p99_tolerance", "must be in [1, 1000]");
  }
  if (latency_slack_us > LatencyBuckets::kMaxTrackedUs) {
    return bad("latency_slack_us", "must be <= 60 s");
  }
  if (!(latency_confidence >= 0.5 && latency_confidence < 1.0)) {
    return bad("latency_confidence", "must be in [0.5, 1)");
  }
  if (min_latency_samples < 1) return bad("min_latency_samples", "must be >= 1");
  if (max_canary_requests != 0 && max_canary_requests < min_canary_requests) {
    return bad("max_canary_requests", "must be 0 (off) or >= min_canary_requests");
  }
  return Status::Ok();
}

ErrorRateSprtConfig CanaryJudgeTunables::ErrorRateConfig() const {
  return {degradation_factor, min_absolute_increase, alpha, beta};
}

LatencyTestConfig CanaryJudgeTunables::LatencyConfig() const {
  return {p50_tolerance, p99_tolerance, latency_slack_us, latency_confidence, min_latency_samples};
}

VersionSample SampleBetween(const VersionStatsSnapshot& step_start,
                            const VersionStatsSnapshot& now) {
  auto minus = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  VersionSample s;
  s.requests = minus(now.requests, step_start.requests);
  s.errors = std::min(minus(now.errors, step_start.errors), s.requests);
  for (size_t i = 0; i < kLatencyBucketCount; ++i) {
    s.latency.counts[i] = minus(now.since_start.counts[i], step_start.since_start.counts[i]);
    s.latency.count += s.latency.counts[i];
  }
  s.latency.sum_us = minus(now.since_start.sum_us, step_start.since_start.sum_us);
  s.latency.max_us = now.since_start.max_us;
  return s;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kNeedMoreData:
      return "NEED_MORE_DATA";
  }
  return "UNKNOWN";
}

Result<CanaryJudge> CanaryJudge::Create(const CanaryJudgeTunables& tunables) {
  if (Status s = tunables.Validate(); !s.ok()) return s;
  return CanaryJudge(tunables);
}

Result<JudgeReport> CanaryJudge::Judge(const JudgeInput& in) const {
  if (in.baseline.errors > in.baseline.requests) {
    return Status::InvalidArgument("canary judge: baseline errors exceed requests");
  }
  if (in.canary.errors > in.canary.requests) {
    return Status::InvalidArgument("canary judge: canary errors exceed requests");
  }
  const CanaryJudgeTunables& t = tunables_;
  JudgeReport r;
  r.input = in;
  r.tunables = t;
  r.errors = EvaluateErrorRate(t.ErrorRateConfig(), {in.baseline.requests, in.baseline.errors},
                               {in.canary.requests, in.canary.errors});
  r.latency = EvaluateLatency(t.LatencyConfig(), in.baseline.latency, in.canary.latency);
  const ErrorRateEvidence& e = r.errors;
  const LatencyEvidence& l = r.latency;

  auto at_least = [](std::optional<uint64_t> a, uint64_t b) -> std::optional<uint64_t> {
    const uint64_t v = std::max(a.value_or(0), b);
    return v > 0 ? std::optional<uint64_t>(v) : std::nullopt;
  };

  // 1. Volume: no verdict, however clear the numbers look, on a handful of requests.
  if (in.canary.requests < t.min_canary_requests ||
      in.baseline.requests < t.min_baseline_requests) {
    std::vector<std::string> parts;
    if (in.canary.requests < t.min_canary_requests) {
      parts.push_back(Format("canary has %llu of %llu requests needed before a verdict",
                             static_cast<unsigned long long>(in.canary.requests),
                             static_cast<unsigned long long>(t.min_canary_requests)));
    }
    if (in.baseline.requests < t.min_baseline_requests) {
      parts.push_back(Format("baseline has %llu of %llu requests needed before a verdict",
                             static_cast<unsigned long long>(in.baseline.requests),
                             static_cast<unsigned long long>(t.min_baseline_requests)));
    }
    parts.push_back(ErrorRates(in, e));
    r.requests_still_needed =
        at_least(e.requests_to_pass,
                 t.min_canary_requests - std::min(t.min_canary_requests, in.canary.requests));
    if (r.requests_still_needed) {
      parts.push_back(Format("~%llu more canary requests needed",
                             static_cast<unsigned long long>(*r.requests_still_needed)));
    }
    r.reason = Join(parts);
    return r;
  }

  // 2. Each test's own decision.
  const bool latency_decides = t.check_latency && l.enough_samples;
  r.failed_on_errors = e.decision == SprtDecision::kFail;
  r.failed_on_latency = latency_decides && (l.p50.decision == QuantileDecision::kExceedsTolerance ||
                                            l.p99.decision == QuantileDecision::kExceedsTolerance);
  const bool latency_ok =
      !t.check_latency ||
      (latency_decides && l.p50.decision == QuantileDecision::kWithinTolerance &&
       l.p99.decision == QuantileDecision::kWithinTolerance);
  const std::string error_part = ErrorRates(in, e);

  if (r.failed_on_errors || r.failed_on_latency) {
    std::vector<std::string> parts;
    if (r.failed_on_errors) {
      parts.push_back(error_part + Format(": LLR %.2f >= %.2f", e.llr, e.fail_threshold));
    }
    for (const QuantileEvidence* q : {&l.p50, &l.p99}) {
      if (r.failed_on_latency && q->decision == QuantileDecision::kExceedsTolerance) {
        parts.push_back(QuantileFailure(*q));
      }
    }
    r.verdict = Verdict::kFail;
    r.reason = Join(parts);
    return r;
  }

  const std::string latency_part = t.check_latency
                                       ? QuantileSummary(l.p50) + ", " + QuantileSummary(l.p99)
                                       : "latency unchecked";
  if (e.decision == SprtDecision::kPass && latency_ok) {
    r.verdict = Verdict::kPass;
    r.reason = error_part + Format(": LLR %.2f <= %.2f; ", e.llr, e.pass_threshold) + latency_part;
    return r;
  }

  // 3. Undecided, but the step has waited long enough: settle on the evidence so far.
  if (t.max_canary_requests != 0 && in.canary.requests >= t.max_canary_requests) {
    r.truncated = true;
    const bool errors_bad = e.decision == SprtDecision::kContinue && e.llr > 0;
    const bool latency_bad =
        t.check_latency && l.enough_samples && (OverLimit(l.p50) || OverLimit(l.p99));
    r.failed_on_errors = errors_bad;
    r.failed_on_latency = latency_bad;
    r.verdict = errors_bad || latency_bad ? Verdict::kFail : Verdict::kPass;
    r.reason = Format(
                   "undecided after %llu canary requests (max_canary_requests), settled on "
                   "the evidence so far: ",
                   static_cast<unsigned long long>(in.canary.requests)) +
               error_part + Format(", LLR %.2f; ", e.llr) + latency_part;
    if (t.check_latency && !l.enough_samples) r.reason += " (too few latency samples to judge)";
    return r;
  }

  // 4. Wait, and say for what.
  std::vector<std::string> parts;
  if (e.decision == SprtDecision::kContinue) {
    std::string s = error_part + Format(": LLR %.2f between %.2f (PASS) and %.2f (FAIL)", e.llr,
                                        e.pass_threshold, e.fail_threshold);
    if (e.requests_to_pass) {
      s += Format(", ~%llu more canary requests to PASS if the canary errs like the baseline",
                  static_cast<unsigned long long>(*e.requests_to_pass));
    }
    parts.push_back(s);
    r.requests_still_needed = e.requests_to_pass;
  } else {
    parts.push_back(error_part + Format(": passes (LLR %.2f <= %.2f), waiting on latency", e.llr,
                                        e.pass_threshold));
  }
  if (t.check_latency && !l.enough_samples) {
    parts.push_back(Format("latency: %llu baseline and %llu canary samples, %llu needed per side",
                           static_cast<unsigned long long>(l.baseline_samples),
                           static_cast<unsigned long long>(l.canary_samples),
                           static_cast<unsigned long long>(t.min_latency_samples)));
    r.requests_still_needed =
        at_least(r.requests_still_needed,
                 t.min_latency_samples - std::min(t.min_latency_samples, l.canary_samples));
  } else if (t.check_latency) {
    for (const QuantileEvidence* q : {&l.p50, &l.p99}) {
      if (q->decision == QuantileDecision::kUndecided) {
        parts.push_back(QuantileSummary(*q) + ": over the limit, not significantly yet");
      }
    }
  }
  r.reason = Join(parts);
  return r;
}

}  // namespace canarymesh::canary
