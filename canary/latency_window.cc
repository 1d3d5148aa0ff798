#include "canary/latency_window.h"

#include <algorithm>

namespace canarymesh::canary {

LatencyWindow::LatencyWindow(int64_t slot_ms) : slot_ms_(std::max<int64_t>(slot_ms, 1)) {}

void LatencyWindow::Rotate(int64_t now_ms) {
  const int64_t epoch = std::max<int64_t>(now_ms, 0) / slot_ms_;
  Slot& slot = slots_[static_cast<size_t>(epoch % kSlots)];
  if (slot.epoch.load(std::memory_order_relaxed) != epoch) {
    // Seqlock writer: mark the slot invalid, clear it, then publish the new epoch. A reader that
    // saw any cleared counter also sees an epoch different from the one it started with.
    slot.epoch.store(kNoEpoch, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    slot.errors.store(0, std::memory_order_relaxed);
    slot.latency.Reset();
    slot.epoch.store(epoch, std::memory_order_release);
  }
  current_ = &slot;
  current_end_ms_ = (epoch + 1) * slot_ms_;
}

void LatencyWindow::AddTo(HistogramSnapshot& latency, uint64_t& errors, int64_t now_ms) const {
  const int64_t current_epoch = std::max<int64_t>(now_ms, 0) / slot_ms_;
  HistogramSnapshot slot_latency;
  for (const Slot& slot : slots_) {
    const int64_t epoch = slot.epoch.load(std::memory_order_acquire);
    // Older than the window. A slot ahead of `now_ms` (the writer's clock ran slightly ahead of
    // the reader's) is kept.
    if (epoch == kNoEpoch || epoch + kSlots <= current_epoch) continue;
    slot_latency = HistogramSnapshot{};
    const uint64_t slot_errors = slot.errors.load(std::memory_order_relaxed);
    slot.latency.AddTo(slot_latency);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.epoch.load(std::memory_order_relaxed) != epoch) continue;  // recycled meanwhile
    latency.Merge(slot_latency);
    errors += slot_errors;
  }
}

}  // namespace canarymesh::canary
