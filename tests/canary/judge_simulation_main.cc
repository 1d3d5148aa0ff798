// Prints the canary judge's simulation table (markdown) for the README:
//   build/tests/canary/canary_judge_simulation [--trials-scale=F]
// Default tunables; seeds fixed, so the table is reproducible.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "judge_simulation.h"

int main(int argc, char** argv) {
  using namespace canarymesh::canary;
  double scale = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--trials-scale=", 15) == 0) {
      scale = std::atof(argv[i] + 15);
    } else {
      std::fprintf(stderr, "usage: %s [--trials-scale=F]\n", argv[0]);
      return 2;
    }
  }
  const CanaryJudge judge;
  std::vector<sim::Scenario> scenarios = sim::StandardScenarios();
  std::vector<sim::Outcome> outcomes;
  for (sim::Scenario& s : scenarios) {
    s.trials = std::max(1, static_cast<int>(s.trials * scale));
    outcomes.push_back(sim::Run(judge, s));
  }
  std::printf("%s", sim::MarkdownTable(scenarios, outcomes).c_str());
  return 0;
}
