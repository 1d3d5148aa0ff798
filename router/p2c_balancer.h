// Power-of-two-choices, least loaded (Finagle's default balancer): pick two distinct instances
// at random and take the one with fewer requests in flight on this worker. Ejected instances
// are skipped unless every instance is ejected ("panic": balance across all rather than fail),
// and an excluded instance (the one a retry is moving away from) is avoided when possible.
// Header-only template so the caller passes its own accessor and nothing is copied or allocated.
// Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "router/fast_random.h"

namespace canarymesh::router {

struct BalancerCandidate {
  uint32_t in_flight = 0;  // requests outstanding on this worker
  bool ejected = false;
  bool excluded = false;
};

// `candidate_at(i)` returns the BalancerCandidate for instance i in [0, n).
// Returns the chosen index, or -1 if n == 0.
template <typename CandidateAt>
int PickPowerOfTwo(size_t n, CandidateAt&& candidate_at, FastRandom& rng) {
  if (n == 0) return -1;
  if (n == 1) return 0;
  // strictness 0: healthy and not excluded; 1: not excluded; 2: anything (panic).
  auto usable = [](const BalancerCandidate& c, int strictness) {
    if (strictness == 0) return !c.ejected && !c.excluded;
    if (strictness == 1) return !c.excluded;
    return true;
  };
  const uint32_t count = static_cast<uint32_t>(n);
  for (int strictness = 0; strictness < 3; ++strictness) {
    // A few random probes find two usable instances quickly in the common case...
    int first = -1;
    BalancerCandidate first_c;
    for (int probe = 0; probe < 8; ++probe) {
      uint32_t i = rng.Below(count);
      if (static_cast<int>(i) == first) continue;
      BalancerCandidate c = candidate_at(i);
      if (!usable(c, strictness)) continue;
      if (first < 0) {
        first = static_cast<int>(i);
        first_c = c;
        continue;
      }
      return c.in_flight < first_c.in_flight ? static_cast<int>(i) : first;
    }
    // ...and a scan settles the rare case where most are unusable.
    uint32_t start = rng.Below(count);
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t i = (start + k) % count;
      if (static_cast<int>(i) == first) continue;
      BalancerCandidate c = candidate_at(i);
      if (!usable(c, strictness)) continue;
      if (first < 0) return static_cast<int>(i);
      return c.in_flight < first_c.in_flight ? static_cast<int>(i) : first;
    }
    if (first >= 0) return first;
  }
  return 0;
}

}  // namespace canarymesh::router
