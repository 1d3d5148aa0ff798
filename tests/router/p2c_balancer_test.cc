#include "router/p2c_balancer.h"

#include <gtest/gtest.h>

#include <vector>

namespace canarymesh::router {
namespace {

class P2cBalancerTest : public ::testing::Test {
 protected:
  // Runs `trials` picks over `candidates` and returns how often each index won.
  std::vector<int> Histogram(const std::vector<BalancerCandidate>& candidates, int trials) {
    std::vector<int> wins(candidates.size(), 0);
    for (int t = 0; t < trials; ++t) {
      int i = PickPowerOfTwo(
          candidates.size(), [&](size_t k) { return candidates[k]; }, rng_);
      EXPECT_GE(i, 0);
      EXPECT_LT(i, static_cast<int>(candidates.size()));
      if (i >= 0 && i < static_cast<int>(candidates.size())) ++wins[static_cast<size_t>(i)];
    }
    return wins;
  }
  static BalancerCandidate Load(uint32_t in_flight) {
    return BalancerCandidate{in_flight, false, false};
  }
  static BalancerCandidate Ejected(uint32_t in_flight = 0) {
    return BalancerCandidate{in_flight, true, false};
  }
  static BalancerCandidate Excluded() { return BalancerCandidate{0, false, true}; }

  FastRandom rng_{12345};
};

TEST_F(P2cBalancerTest, EmptyAndSingle) {
  EXPECT_EQ(PickPowerOfTwo(
                0, [](size_t) { return BalancerCandidate{}; }, rng_),
            -1);
  EXPECT_EQ(PickPowerOfTwo(
                1,
                [](size_t) {
                  return BalancerCandidate{0, true, true};
                },
                rng_),
            0);
}

TEST_F(P2cBalancerTest, PrefersTheLessLoadedOfTwo) {
  EXPECT_EQ(Histogram({Load(5), Load(0)}, 200), (std::vector<int>{0, 200}));
  EXPECT_EQ(Histogram({Load(0), Load(5)}, 200), (std::vector<int>{200, 0}));
}

TEST_F(P2cBalancerTest, TheMostLoadedNeverWinsAndTheLeastWinsTwoThirds) {
  std::vector<int> wins = Histogram({Load(0), Load(5), Load(10)}, 3000);
  EXPECT_EQ(wins[2], 0);
  EXPECT_GT(wins[0], 1700);  // ~2000 expected: it wins every pair it is in
  EXPECT_LT(wins[0], 2300);
  EXPECT_GT(wins[1], 700);
}

TEST_F(P2cBalancerTest, EqualLoadSpreadsEvenly) {
  std::vector<int> wins = Histogram({Load(1), Load(1), Load(1), Load(1)}, 4000);
  for (int w : wins) {
    EXPECT_GT(w, 800);
    EXPECT_LT(w, 1200);
  }
}

TEST_F(P2cBalancerTest, SkipsEjectedEvenWhenTheyAreIdle) {
  EXPECT_EQ(Histogram({Ejected(0), Load(50)}, 200), (std::vector<int>{0, 200}));
  std::vector<int> wins =
      Histogram({Ejected(), Ejected(), Load(9), Ejected(), Ejected(), Ejected()}, 500);
  EXPECT_EQ(wins[2], 500);
}

TEST_F(P2cBalancerTest, PanicsAcrossAllWhenEveryInstanceIsEjected) {
  std::vector<int> wins = Histogram({Ejected(), Ejected(), Ejected()}, 600);
  for (int w : wins) EXPECT_GT(w, 100) << "panic mode should still balance over all instances";
}

TEST_F(P2cBalancerTest, AvoidsTheExcludedInstance) {
  EXPECT_EQ(Histogram({Excluded(), Load(100), Load(100)}, 300)[0], 0);
  // Avoided even in favour of an ejected one...
  EXPECT_EQ(Histogram({Excluded(), Ejected()}, 100), (std::vector<int>{0, 100}));
  // ...but used when nothing else exists.
  BalancerCandidate both_excluded{0, false, true};
  std::vector<int> wins = Histogram({both_excluded, both_excluded}, 100);
  EXPECT_EQ(wins[0] + wins[1], 100);
}

}  // namespace
}  // namespace canarymesh::router
