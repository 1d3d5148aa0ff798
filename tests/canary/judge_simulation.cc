#include "judge_simulation.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "canary/statistics.h"

namespace canarymesh::canary::sim {
namespace {

constexpr double kMedianLatencyUs = 20'000;
constexpr double kLatencySigma = 0.5;

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1) from the top 53 bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 engine_;
};

// Cumulative probability of each histogram bucket under the log-normal latency model.
class LatencyModel {
 public:
  explicit LatencyModel(double factor) {
    const double mu = std::log(kMedianLatencyUs * factor);
    for (size_t i = 0; i < kLatencyBucketCount; ++i) {
      const double upper =
          static_cast<double>(LatencyBuckets::LowerBound(i) + LatencyBuckets::Width(i));
      cumulative_[i] = NormalCdf((std::log(upper) - mu) / kLatencySigma);
    }
    cumulative_.back() = 1.0;
    // guide_[j]: the first bucket whose cumulative probability exceeds j / kGuide, so that a
    // lookup scans a bucket or two instead of bisecting 698 (this is the simulation's hot loop).
    size_t i = 0;
    for (size_t j = 0; j < kGuide; ++j) {
      while (cumulative_[i] <= static_cast<double>(j) / kGuide) ++i;
      guide_[j] = static_cast<uint16_t>(i);
    }
  }

  void Record(double u, HistogramSnapshot& h) const {
    size_t bucket = guide_[static_cast<size_t>(u * kGuide)];
    while (cumulative_[bucket] <= u) ++bucket;  // ends: cumulative_.back() = 1 > u
    const uint64_t value =
        LatencyBuckets::LowerBound(bucket) + (LatencyBuckets::Width(bucket) - 1) / 2;
    ++h.counts[bucket];
    ++h.count;
    h.sum_us += value;
    h.max_us = std::max(h.max_us, value);
  }

 private:
  static constexpr size_t kGuide = 4096;
  std::array<double, kLatencyBucketCount> cumulative_{};
  std::array<uint16_t, kGuide> guide_{};
};

void Serve(Rng& rng, const LatencyModel& latency, double error_rate, uint32_t n, VersionSample& s) {
  for (uint32_t i = 0; i < n; ++i) {
    ++s.requests;
    if (rng.Uniform() < error_rate) ++s.errors;
    latency.Record(rng.Uniform(), s.latency);
  }
}

uint64_t NearestRank(const std::vector<uint64_t>& sorted, int trials, double q) {
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * trials - 1e-9)));
  return rank <= sorted.size() ? sorted[rank - 1] : std::numeric_limits<uint64_t>::max();
}

std::string Requests(uint64_t n) {
  return n == std::numeric_limits<uint64_t>::max() ? "never" : std::to_string(n);
}

std::string Percent(int count, int trials) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", 100.0 * count / std::max(trials, 1));
  return buf;
}

}  // namespace

uint64_t Outcome::RequestsToFail(double q) const {
  return NearestRank(requests_at_fail, trials, q);
}
uint64_t Outcome::RequestsToPass(double q) const {
  return NearestRank(requests_at_pass, trials, q);
}

Outcome Run(const CanaryJudge& judge, const Scenario& sc) {
  const LatencyModel baseline_latency(1.0);
  const LatencyModel canary_latency(sc.canary_latency_factor);
  const double canary_error_rate = std::min(1.0, sc.baseline_error_rate * sc.canary_error_factor);
  Rng rng(sc.seed);
  Outcome out;
  out.trials = sc.trials;
  for (int trial = 0; trial < sc.trials; ++trial) {
    JudgeInput in;
    std::optional<uint64_t> passed_at;
    bool failed = false;
    while (in.canary.requests < sc.horizon) {
      Serve(rng, baseline_latency, sc.baseline_error_rate, sc.baseline_per_look, in.baseline);
      Serve(rng, canary_latency, canary_error_rate, sc.canary_per_look, in.canary);
      Result<JudgeReport> report = judge.Judge(in);
      if (!report.ok()) std::abort();  // the simulation never feeds invalid counts
      if (report->verdict == Verdict::kFail) {
        failed = true;
        ++out.fails;
        out.fails_on_errors += report->failed_on_errors;
        out.fails_on_latency += report->failed_on_latency;
        out.requests_at_fail.push_back(in.canary.requests);
        break;
      }
      if (report->verdict == Verdict::kPass && !passed_at) {
        passed_at = in.canary.requests;
        if (sc.stop_at_pass) break;
      }
    }
    if (failed) continue;
    if (passed_at) {
      ++out.passes;
      out.requests_at_pass.push_back(*passed_at);
    } else {
      ++out.undecided;
    }
  }
  std::sort(out.requests_at_fail.begin(), out.requests_at_fail.end());
  std::sort(out.requests_at_pass.begin(), out.requests_at_pass.end());
  return out;
}

std::string MarkdownTable(const std::vector<Scenario>& scenarios,
                          const std::vector<Outcome>& outcomes) {
  std::string t =
      "| scenario | split canary:baseline per look | trials | FAIL (errors / latency) | PASS | "
      "undecided at horizon | "
      "canary requests to FAIL, median / p95 | canary requests to PASS, median / p95 |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < scenarios.size() && i < outcomes.size(); ++i) {
    const Scenario& s = scenarios[i];
    const Outcome& o = outcomes[i];
    t += "| " + s.name + " | " + std::to_string(s.canary_per_look) + ":" +
         std::to_string(s.baseline_per_look) + " | " + std::to_string(o.trials) + " | " +
         Percent(o.fails, o.trials) + " (" + std::to_string(o.fails_on_errors) + " / " +
         std::to_string(o.fails_on_latency) + ") | " + Percent(o.passes, o.trials) + " | " +
         Percent(o.undecided, o.trials) + " | " + Requests(o.RequestsToFail(0.5)) + " / " +
         Requests(o.RequestsToFail(0.95)) + " | " + Requests(o.RequestsToPass(0.5)) + " / " +
         Requests(o.RequestsToPass(0.95)) + " |\n";
  }
  return t;
}

std::vector<Scenario> StandardScenarios() {
  std::vector<Scenario> s;
  auto add = [&](std::string name, double base_rate, double error_factor, double latency_factor,
                 uint32_t baseline_per_look, int trials, uint64_t seed) {
    Scenario sc;
    sc.name = std::move(name);
    sc.baseline_error_rate = base_rate;
    sc.canary_error_factor = error_factor;
    sc.canary_latency_factor = latency_factor;
    sc.baseline_per_look = baseline_per_look;
    sc.trials = trials;
    sc.seed = seed;
    s.push_back(sc);
  };
  add("A/A, errors 1%", 0.01, 1.0, 1.0, 450, 2000, 101);
  add("errors 1% -> 2%", 0.01, 2.0, 1.0, 450, 1000, 102);
  add("errors 1% -> 5%", 0.01, 5.0, 1.0, 450, 1000, 103);
  add("A/A, errors 1%", 0.01, 1.0, 1.0, 50, 2000, 201);
  add("errors 1% -> 2%", 0.01, 2.0, 1.0, 50, 1000, 202);
  add("errors 1% -> 5%", 0.01, 5.0, 1.0, 50, 1000, 203);
  add("A/A, errors 0%", 0.0, 1.0, 1.0, 450, 500, 301);
  add("A/A, errors 0.1%", 0.001, 1.0, 1.0, 450, 1000, 302);
  add("A/A, errors 10%", 0.1, 1.0, 1.0, 450, 1000, 303);
  add("latency x1.5, errors 1%", 0.01, 1.0, 1.5, 450, 300, 401);
  add("latency x3, errors 1%", 0.01, 1.0, 3.0, 450, 300, 402);
  return s;
}

}  // namespace canarymesh::canary::sim
