// A small, fast PRNG (xorshift64*) for load balancing decisions on one worker thread. Not for
// anything security-related. Not thread-safe: one per worker.
#pragma once

#include <cstdint>

namespace canarymesh::router {

class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, n) (Lemire's multiply-shift; bias is negligible for small n).
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(Next() >> 32) * n) >> 32);
  }

 private:
  uint64_t state_;
};

}  // namespace canarymesh::router
