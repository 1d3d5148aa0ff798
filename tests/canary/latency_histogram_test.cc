#include "canary/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace canarymesh::canary {
namespace {

TEST(LatencyBucketsTest, BucketsTileTheRangeWithBoundedWidth) {
  uint64_t expected_lower = 0;
  for (size_t i = 0; i < kLatencyBucketCount; ++i) {
    const uint64_t lower = LatencyBuckets::LowerBound(i);
    const uint64_t width = LatencyBuckets::Width(i);
    ASSERT_EQ(lower, expected_lower) << "gap or overlap at bucket " << i;
    EXPECT_EQ(LatencyBuckets::IndexOf(lower), i);
    EXPECT_EQ(LatencyBuckets::IndexOf(lower + width - 1), i);
    // Width at most 1/32 of the values it holds (exact buckets below 64 us).
    if (lower >= 64) {
      EXPECT_LE(width * 32, lower) << i;
    } else {
      EXPECT_EQ(width, 1u);
    }
    expected_lower = lower + width;
  }
  EXPECT_GT(expected_lower, LatencyBuckets::kMaxTrackedUs);
  EXPECT_EQ(LatencyBuckets::IndexOf(UINT64_MAX), kLatencyBucketCount - 1);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram histogram;
  HistogramSnapshot snapshot;
  histogram.AddTo(snapshot);
  EXPECT_EQ(snapshot.count, 0u);
  EXPECT_EQ(snapshot.ValueAtQuantile(0.5), 0.0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (uint64_t v = 1; v <= 50; ++v) histogram.Record(v);
  HistogramSnapshot snapshot;
  histogram.AddTo(snapshot);
  EXPECT_EQ(snapshot.count, 50u);
  EXPECT_EQ(snapshot.ValueAtQuantile(0.5), 25.0);
  EXPECT_EQ(snapshot.ValueAtQuantile(0.9), 45.0);
  EXPECT_EQ(snapshot.ValueAtQuantile(1.0), 50.0);
  EXPECT_EQ(snapshot.ValueAtQuantile(0.0), 1.0);
  EXPECT_EQ(snapshot.sum_us, 50u * 51u / 2u);
  EXPECT_EQ(snapshot.max_us, 50u);
}

double ExactNearestRank(const std::vector<uint64_t>& sorted, double q) {
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(sorted.size()) - 1e-9));
  return static_cast<double>(sorted[static_cast<size_t>(rank) - 1]);
}

// Log-normal latencies from 1 us to past 60 s; every percentile within 1.6% (+0.5 us for the
// integer midpoint) of the exact nearest-rank value of the same samples.
TEST(LatencyHistogramTest, PercentilesMatchExactSortedSamples) {
  std::mt19937_64 random(12345);
  std::lognormal_distribution<double> latency(std::log(5000.0), 2.0);
  std::vector<uint64_t> samples;
  LatencyHistogram histogram;
  for (int i = 0; i < 200000; ++i) {
    const auto us = static_cast<uint64_t>(std::min(latency(random), 5.0e7));
    samples.push_back(us);
    histogram.Record(us);
  }
  std::sort(samples.begin(), samples.end());
  HistogramSnapshot snapshot;
  histogram.AddTo(snapshot);
  ASSERT_EQ(snapshot.count, samples.size());
  for (double q : {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = ExactNearestRank(samples, q);
    EXPECT_NEAR(snapshot.ValueAtQuantile(q), exact, exact / 64.0 + 0.5) << "q=" << q;
  }
}

TEST(LatencyHistogramTest, ValuesAboveRangeLandInTopBucket) {
  LatencyHistogram histogram;
  histogram.Record(3'600'000'000);  // an hour
  HistogramSnapshot snapshot;
  histogram.AddTo(snapshot);
  EXPECT_EQ(snapshot.counts[kLatencyBucketCount - 1], 1u);
  EXPECT_EQ(snapshot.max_us, 3'600'000'000u);
  EXPECT_LE(snapshot.ValueAtQuantile(0.5), 61e6);
}

TEST(LatencyHistogramTest, MergedShardsEqualOneHistogram) {
  LatencyHistogram a;
  LatencyHistogram b;
  LatencyHistogram both;
  for (uint64_t v = 0; v < 100000; v += 7) {
    ((v / 7) % 3 == 0 ? a : b).Record(v);
    both.Record(v);
  }
  HistogramSnapshot merged;
  a.AddTo(merged);
  b.AddTo(merged);
  HistogramSnapshot single;
  both.AddTo(single);
  EXPECT_EQ(merged.counts, single.counts);
  EXPECT_EQ(merged.count, single.count);
  EXPECT_EQ(merged.sum_us, single.sum_us);
  EXPECT_EQ(merged.max_us, single.max_us);

  HistogramSnapshot by_merge;
  HistogramSnapshot a_only;
  a.AddTo(a_only);
  HistogramSnapshot b_only;
  b.AddTo(b_only);
  by_merge.Merge(a_only);
  by_merge.Merge(b_only);
  EXPECT_EQ(by_merge.counts, single.counts);
  EXPECT_EQ(by_merge.ValueAtQuantile(0.99), single.ValueAtQuantile(0.99));
}

TEST(LatencyHistogramTest, ResetClears) {
  CompactLatencyHistogram histogram;
  histogram.Record(100);
  histogram.Reset();
  HistogramSnapshot snapshot;
  histogram.AddTo(snapshot);
  EXPECT_EQ(snapshot.count, 0u);
  EXPECT_EQ(snapshot.sum_us, 0u);
  EXPECT_EQ(snapshot.max_us, 0u);
}

}  // namespace
}  // namespace canarymesh::canary
