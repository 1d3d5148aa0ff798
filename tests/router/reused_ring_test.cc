// ReusedRing: FIFO order through growth and wrap-around, and slots that keep their buffers.
#include "router/reused_ring.h"

#include <gtest/gtest.h>

#include <string>

namespace canarymesh::router {
namespace {

TEST(ReusedRing, KeepsFifoOrderThroughWrapAroundAndGrowth) {
  ReusedRing<int> ring;
  EXPECT_TRUE(ring.empty());
  int next_in = 0, next_out = 0;
  // Uneven pushes and pops walk the head around the ring and make it grow several times.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 7 + 2; ++i) ring.push_back() = next_in++;
    for (int i = 0; i < round % 5 + 1 && !ring.empty(); ++i) {
      EXPECT_EQ(ring.front(), next_out++);
      ring.pop_front();
    }
    ASSERT_EQ(ring.size(), static_cast<size_t>(next_in - next_out));
    for (size_t i = 0; i < ring.size(); ++i) EXPECT_EQ(ring[i], next_out + static_cast<int>(i));
  }
  while (!ring.empty()) {
    EXPECT_EQ(ring.front(), next_out++);
    ring.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(ReusedRing, SlotsComeBackWithTheirBuffers) {
  ReusedRing<std::string> ring;
  std::string* first = &ring.push_back();
  first->assign(1000, 'x');
  const size_t capacity = first->capacity();
  ring.pop_front();
  // One element at a time never grows the ring: pushes walk round it back to the first slot,
  // which comes back as its last user left it (the caller resets what it uses).
  std::string* slot = nullptr;
  for (int i = 0; i < 64; ++i) {
    slot = &ring.push_back();
    if (slot == first) break;
    ring.pop_front();
  }
  ASSERT_EQ(slot, first);
  EXPECT_EQ(slot->capacity(), capacity);
  EXPECT_EQ(*slot, std::string(1000, 'x'));
  ring.clear();
  EXPECT_TRUE(ring.empty());
}

}  // namespace
}  // namespace canarymesh::router
