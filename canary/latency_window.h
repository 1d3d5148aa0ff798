// LatencyWindow: latency and error counts over the last minute, as a ring of 6 time slots of
// 10 s that the writer rotates lazily when it records (time is passed in, from a coarse monotonic
// clock, so tests are deterministic). Single writer; any thread may read concurrently: a reader
// skips a slot that is being recycled under it (seqlock-style epoch check), so it never mixes an
// old slot's counts with a new one's.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "canary/latency_histogram.h"

namespace canarymesh::canary {

class LatencyWindow {
 public:
  static constexpr int kSlots = 6;
  static constexpr int64_t kDefaultSlotMs = 10'000;

  explicit LatencyWindow(int64_t slot_ms = kDefaultSlotMs);
  LatencyWindow(const LatencyWindow&) = delete;
  LatencyWindow& operator=(const LatencyWindow&) = delete;

  // Writer thread only. `now_ms`: monotonic milliseconds (>= 0). A clock that steps back is
  // tolerated: the sample goes to the current slot.
  void Record(uint64_t latency_us, bool error, int64_t now_ms) {
    if (now_ms >= current_end_ms_) Rotate(now_ms);
    current_->latency.Record(latency_us);
    if (error) {
      current_->errors.store(current_->errors.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    }
  }

  // Any thread. Adds the slots of the window that ends at `now_ms` (the current, partly filled
  // slot plus the 5 before it: between 50 and 60 s of data) to `latency` and `errors`.
  void AddTo(HistogramSnapshot& latency, uint64_t& errors, int64_t now_ms) const;

  int64_t slot_ms() const { return slot_ms_; }
  int64_t span_ms() const { return slot_ms_ * kSlots; }

 private:
  static constexpr int64_t kNoEpoch = -1;

  struct Slot {
    // Which slot_ms-long interval (now_ms / slot_ms) the counts belong to; kNoEpoch while empty
    // or being recycled.
    std::atomic<int64_t> epoch{kNoEpoch};
    std::atomic<uint64_t> errors{0};
    CompactLatencyHistogram latency;
  };

  void Rotate(int64_t now_ms);

  const int64_t slot_ms_;
  std::array<Slot, kSlots> slots_;
  // Writer-only: the slot being filled and the interval it covers. Starts "expired" so that the
  // first Record rotates.
  Slot* current_ = nullptr;
  int64_t current_end_ms_ = INT64_MIN;
};

}  // namespace canarymesh::canary
