#include "canary/latency_window.h"

#include <gtest/gtest.h>

namespace canarymesh::canary {
namespace {

struct WindowRead {
  HistogramSnapshot latency;
  uint64_t errors = 0;
};

WindowRead Read(const LatencyWindow& window, int64_t now_ms) {
  WindowRead read;
  window.AddTo(read.latency, read.errors, now_ms);
  return read;
}

TEST(LatencyWindowTest, CountsWithinTheWindow) {
  LatencyWindow window;  // 6 x 10 s
  window.Record(1000, false, 0);
  window.Record(2000, true, 5'000);
  window.Record(3000, false, 15'000);
  const WindowRead read = Read(window, 20'000);
  EXPECT_EQ(read.latency.count, 3u);
  EXPECT_EQ(read.errors, 1u);
  EXPECT_EQ(read.latency.max_us, 3000u);
}

TEST(LatencyWindowTest, SlotsExpireAsTheReaderClockMoves) {
  LatencyWindow window;
  window.Record(1000, true, 1'000);    // slot [0, 10 s)
  window.Record(2000, false, 12'000);  // slot [10 s, 20 s)
  // At 59.999 s the window holds slots 0..5: both samples.
  EXPECT_EQ(Read(window, 59'999).latency.count, 2u);
  // At 60 s slot 0 has left the window: only the second sample, and its error is gone.
  const WindowRead at_60 = Read(window, 60'000);
  EXPECT_EQ(at_60.latency.count, 1u);
  EXPECT_EQ(at_60.errors, 0u);
  EXPECT_EQ(at_60.latency.max_us, 2000u);
  EXPECT_EQ(Read(window, 70'000).latency.count, 0u);
}

TEST(LatencyWindowTest, WriterRecyclesOldSlots) {
  LatencyWindow window;
  window.Record(1000, true, 0);
  // 60 s later the writer reuses slot 0's storage: the old sample must not leak into it.
  window.Record(5000, false, 60'000);
  const WindowRead read = Read(window, 60'000);
  EXPECT_EQ(read.latency.count, 1u);
  EXPECT_EQ(read.errors, 0u);
  EXPECT_EQ(read.latency.max_us, 5000u);
}

TEST(LatencyWindowTest, LongIdleGapLeavesNothingStale) {
  LatencyWindow window;
  for (int64_t t = 0; t < 60'000; t += 1'000) window.Record(100, false, t);
  EXPECT_EQ(Read(window, 59'000).latency.count, 60u);
  window.Record(200, false, 3'600'000);
  const WindowRead read = Read(window, 3'600'000);
  EXPECT_EQ(read.latency.count, 1u);
  EXPECT_EQ(read.latency.max_us, 200u);
}

TEST(LatencyWindowTest, ClockSteppingBackStaysInCurrentSlot) {
  LatencyWindow window;
  window.Record(100, false, 25'000);
  window.Record(100, false, 3'000);  // earlier than the current slot
  EXPECT_EQ(Read(window, 25'000).latency.count, 2u);
}

TEST(LatencyWindowTest, CustomSlotLength) {
  LatencyWindow window(1'000);
  EXPECT_EQ(window.span_ms(), 6'000);
  window.Record(100, false, 0);
  EXPECT_EQ(Read(window, 5'999).latency.count, 1u);
  EXPECT_EQ(Read(window, 6'000).latency.count, 0u);
}

}  // namespace
}  // namespace canarymesh::canary
