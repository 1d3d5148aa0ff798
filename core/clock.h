// The three clocks the code reads: monotonic milliseconds and microseconds (timeouts, windows,
// latency) and wall-clock Unix milliseconds (provenance and "last updated" stamps shown to
// operators). One definition so every module agrees on units and epochs. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace canarymesh {

inline int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline uint64_t SteadyMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

inline int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace canarymesh
