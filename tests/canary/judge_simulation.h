// Seeded traffic simulation for the canary judge: one canary step, looks after every batch,
// stopping at the first PASS or FAIL (or at a horizon), repeated over many trials. Shared by the
// simulation test (which asserts the product targets) and `canary_judge_simulation` (which prints
// the README table). Deterministic for a seed on any platform: mt19937_64 is fully specified and
// the samplers are written here rather than taken from <random>'s distributions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "canary/canary_judge.h"

namespace canarymesh::canary::sim {

struct Scenario {
  std::string name;
  double baseline_error_rate = 0.01;
  double canary_error_factor = 1.0;    // canary rate = factor * baseline rate
  double canary_latency_factor = 1.0;  // every canary latency scaled by this
  uint32_t canary_per_look = 50;
  uint32_t baseline_per_look = 450;  // 9:1, the canary at a 10% step
  uint64_t horizon = 10'000;         // canary requests; the trial is undecided after that
  bool stop_at_pass = true;          // false: keep looking after PASS (only FAIL or horizon stop)
  int trials = 1000;
  uint64_t seed = 1;
};

struct Outcome {
  int trials = 0;
  int fails = 0;
  int fails_on_errors = 0;
  int fails_on_latency = 0;
  int passes = 0;
  int undecided = 0;
  // Canary requests at the verdict, one entry per trial that reached it, sorted.
  std::vector<uint64_t> requests_at_fail;
  std::vector<uint64_t> requests_at_pass;

  // The q-quantile (nearest rank) of canary requests to FAIL over *all* trials, where a trial
  // that never failed counts as never: UINT64_MAX when fewer than q of the trials failed.
  uint64_t RequestsToFail(double q) const;
  // The same over all trials for PASS.
  uint64_t RequestsToPass(double q) const;
};

// Latency model: log-normal, median 20 ms, sigma 0.5 (p99 about 64 ms), for both versions,
// the canary's scaled by canary_latency_factor.
Outcome Run(const CanaryJudge& judge, const Scenario& scenario);

// A markdown table, one row per scenario.
std::string MarkdownTable(const std::vector<Scenario>& scenarios,
                          const std::vector<Outcome>& outcomes);

// The scenarios of the README table and the simulation test.
std::vector<Scenario> StandardScenarios();

}  // namespace canarymesh::canary::sim
