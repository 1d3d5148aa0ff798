#include "canary/mann_whitney.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "canary/statistics.h"

namespace canarymesh::canary {
namespace {

HistogramSnapshot HistogramOf(const std::vector<uint64_t>& values_us) {
  HistogramSnapshot h;
  for (uint64_t v : values_us) {
    ++h.counts[LatencyBuckets::IndexOf(v)];
    ++h.count;
    h.sum_us += v;
    h.max_us = std::max(h.max_us, v);
  }
  return h;
}

// The textbook procedure on explicit samples: pool, sort by bucket, give ties their midrank,
// U from the canary's rank sum, variance with the tie correction.
MannWhitneyResult ByRanks(const std::vector<uint64_t>& baseline,
                          const std::vector<uint64_t>& canary) {
  std::vector<std::pair<size_t, bool>> pooled;  // bucket, is_canary
  for (uint64_t v : baseline) pooled.push_back({LatencyBuckets::IndexOf(v), false});
  for (uint64_t v : canary) pooled.push_back({LatencyBuckets::IndexOf(v), true});
  std::sort(pooled.begin(), pooled.end());
  double rank_sum = 0, ties = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double midrank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) rank_sum += pooled[k].second ? midrank : 0.0;
    const double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    i = j;
  }
  const double nb = baseline.size(), nc = canary.size(), n = nb + nc;
  MannWhitneyResult r;
  r.u_canary = rank_sum - nc * (nc + 1) / 2;
  const double sd = std::sqrt(nb * nc / 12 * ((n + 1) - ties / (n * (n - 1))));
  const double centered = r.u_canary - nb * nc / 2;
  r.z = std::copysign(std::max(std::fabs(centered) - 0.5, 0.0), centered) / sd;
  r.p_canary_slower = NormalUpperTail(r.z);
  return r;
}

TEST(MannWhitneyTest, MatchesRankSumWithTies) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<uint64_t> baseline, canary;
    const int nb = 5 + static_cast<int>(rng() % 60), nc = 5 + static_cast<int>(rng() % 60);
    // Few distinct values, so that ties are common, and the canary sometimes shifted up.
    const uint64_t shift = round % 2 == 0 ? 0 : 3;
    for (int i = 0; i < nb; ++i) baseline.push_back(100 + rng() % 8 * 10);
    for (int i = 0; i < nc; ++i) canary.push_back(100 + (rng() % 8 + shift) * 10);
    const MannWhitneyResult want = ByRanks(baseline, canary);
    const MannWhitneyResult got =
        MannWhitneyOnHistograms(HistogramOf(baseline), HistogramOf(canary));
    ASSERT_TRUE(got.valid);
    EXPECT_NEAR(got.u_canary, want.u_canary, 1e-9);
    EXPECT_NEAR(got.z, want.z, 1e-9);
    EXPECT_NEAR(got.p_canary_slower, want.p_canary_slower, 1e-12);
    EXPECT_NEAR(got.prob_canary_slower, want.u_canary / (nb * nc), 1e-12);
  }
}

TEST(MannWhitneyTest, SeparatedSamples) {
  // Every canary sample slower than every baseline sample: U = nb * nc, no ties.
  const std::vector<uint64_t> baseline = {1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700};
  const std::vector<uint64_t> canary = {3000, 3100, 3200, 3300, 3400, 3500, 3600, 3700};
  const MannWhitneyResult r = MannWhitneyOnHistograms(HistogramOf(baseline), HistogramOf(canary));
  ASSERT_TRUE(r.valid);
  EXPECT_DOUBLE_EQ(r.u_canary, 64.0);
  EXPECT_DOUBLE_EQ(r.prob_canary_slower, 1.0);
  // mean 32, sd sqrt(8 * 8 * 17 / 12) = 9.522; z = (32 - 0.5) / 9.522 = 3.308.
  EXPECT_NEAR(r.z, 31.5 / std::sqrt(64.0 * 17 / 12), 1e-12);
  EXPECT_LT(r.p_canary_slower, 0.001);
  EXPECT_NEAR(r.p_two_sided, 2 * r.p_canary_slower, 1e-15);

  const MannWhitneyResult reversed =
      MannWhitneyOnHistograms(HistogramOf(canary), HistogramOf(baseline));
  EXPECT_DOUBLE_EQ(reversed.u_canary, 0.0);
  EXPECT_NEAR(reversed.z, -r.z, 1e-12);
  EXPECT_GT(reversed.p_canary_slower, 0.999);
}

TEST(MannWhitneyTest, IdenticalHistogramsShowNoShift) {
  const HistogramSnapshot h = HistogramOf({500, 900, 900, 2000, 40'000, 41'000, 90'000});
  const MannWhitneyResult r = MannWhitneyOnHistograms(h, h);
  ASSERT_TRUE(r.valid);
  EXPECT_DOUBLE_EQ(r.prob_canary_slower, 0.5);
  EXPECT_DOUBLE_EQ(r.z, 0.0);
  EXPECT_DOUBLE_EQ(r.p_canary_slower, 0.5);
  EXPECT_DOUBLE_EQ(r.p_two_sided, 1.0);
}

TEST(MannWhitneyTest, NothingToCompare) {
  const HistogramSnapshot some = HistogramOf({100, 200});
  EXPECT_FALSE(MannWhitneyOnHistograms(HistogramSnapshot{}, some).valid);
  EXPECT_FALSE(MannWhitneyOnHistograms(some, HistogramSnapshot{}).valid);
  // All in one bucket: everything tied, no ordering.
  const MannWhitneyResult tied = MannWhitneyOnHistograms(HistogramOf({7, 7}), HistogramOf({7}));
  EXPECT_FALSE(tied.valid);
  EXPECT_DOUBLE_EQ(tied.p_canary_slower, 1.0);
}

}  // namespace
}  // namespace canarymesh::canary
