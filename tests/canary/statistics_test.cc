#include "canary/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace canarymesh::canary {
namespace {

// P(Bin(n, p) = k) for every k, by the recurrence from P(0); fine for the small n used here.
std::vector<double> BinomialPmf(uint64_t n, double p) {
  std::vector<double> pmf(n + 1);
  for (uint64_t k = 0; k <= n; ++k) {
    pmf[k] =
        std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                 (k > 0 ? k * std::log(p) : 0.0) + (n - k > 0 ? (n - k) * std::log1p(-p) : 0.0));
  }
  return pmf;
}

double TailByHand(const std::vector<double>& pmf, uint64_t k) {
  double s = 0;
  for (uint64_t i = k; i < pmf.size(); ++i) s += pmf[i];
  return s;
}

TEST(StatisticsTest, NormalTails) {
  EXPECT_DOUBLE_EQ(NormalCdf(0.0), 0.5);
  EXPECT_NEAR(NormalCdf(1.959963984540054), 0.975, 1e-12);
  EXPECT_NEAR(NormalUpperTail(2.326347874040841), 0.01, 1e-12);
  // The tail form keeps relative precision where 1 - NormalCdf would be 0.
  EXPECT_NEAR(NormalUpperTail(8.0) / 6.220960574271785e-16, 1.0, 1e-9);
  EXPECT_NEAR(NormalCdf(-3.0) + NormalUpperTail(-3.0), 1.0, 1e-15);
}

TEST(StatisticsTest, BinomialLogLikelihoodConventions) {
  EXPECT_DOUBLE_EQ(BinomialLogLikelihood(0, 10, 0.0), 0.0);  // 0 ln 0 = 0
  EXPECT_DOUBLE_EQ(BinomialLogLikelihood(10, 10, 1.0), 0.0);
  EXPECT_EQ(BinomialLogLikelihood(1, 10, 0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(BinomialLogLikelihood(9, 10, 1.0), -std::numeric_limits<double>::infinity());
  EXPECT_NEAR(BinomialLogLikelihood(3, 10, 0.3), 3 * std::log(0.3) + 7 * std::log(0.7), 1e-12);
  EXPECT_NEAR(BinomialLogLikelihood(0.5, 2.5, 0.2), 0.5 * std::log(0.2) + 2 * std::log(0.8), 1e-12);
}

TEST(StatisticsTest, BinomialUpperTailMatchesSummation) {
  for (uint64_t n : {1, 2, 7, 50, 300}) {
    for (double p : {0.01, 0.3, 0.5, 0.9, 0.99}) {
      const std::vector<double> pmf = BinomialPmf(n, p);
      for (uint64_t k = 0; k <= n + 1; ++k) {
        EXPECT_NEAR(BinomialUpperTail(n, p, k), TailByHand(pmf, k), 1e-11)
            << "n=" << n << " p=" << p << " k=" << k;
      }
    }
  }
}

TEST(StatisticsTest, IncompleteBetaSymmetryAndLargeArguments) {
  EXPECT_NEAR(RegularizedIncompleteBeta(2, 3, 0.4) + RegularizedIncompleteBeta(3, 2, 0.6), 1.0,
              1e-14);
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, 0.37), 0.37, 1e-14);  // uniform
  // Bin(10^6, 0.5) >= 500000 is a little over one half (the atom at the mean).
  const double tail = BinomialUpperTail(1'000'000, 0.5, 500'000);
  EXPECT_GT(tail, 0.5);
  EXPECT_LT(tail, 0.5 + 0.0005);
}

TEST(StatisticsTest, QuantileRanksMatchTheirDefinition) {
  for (uint64_t n : {1, 10, 60, 500, 2000}) {
    for (double q : {0.5, 0.9, 0.99}) {
      for (double conf : {0.9, 0.99}) {
        const uint64_t r = QuantileLowerConfidenceRank(n, q, conf);
        if (r > 0) {
          EXPECT_GE(BinomialUpperTail(n, q, r), conf);
          if (r < n) {
            EXPECT_LT(BinomialUpperTail(n, q, r + 1), conf);
          }
        } else {
          EXPECT_LT(BinomialUpperTail(n, q, 1), conf);
        }
        const uint64_t s = QuantileUpperConfidenceRank(n, q, conf);
        if (s > 0) {
          EXPECT_LE(BinomialUpperTail(n, q, s), 1 - conf);  // P(Bin <= s - 1) >= conf
          if (s > 1) {
            EXPECT_GT(BinomialUpperTail(n, q, s - 1), 1 - conf);
          }
        } else {
          EXPECT_GT(BinomialUpperTail(n, q, n), 1 - conf);
        }
        if (r > 0 && s > 0) {
          EXPECT_LT(r, s);
        }
      }
    }
  }
}

TEST(StatisticsTest, UpperBoundOnP99NeedsEnoughSamples) {
  // 0.99^n <= 0.01 first at n = 459: before that even the maximum is not a 99% upper bound.
  EXPECT_EQ(QuantileUpperConfidenceRank(458, 0.99, 0.99), 0u);
  EXPECT_EQ(QuantileUpperConfidenceRank(459, 0.99, 0.99), 459u);
  // The median of 100 samples: one-sided 99% bounds at ranks 38 and 63 (summed by hand).
  EXPECT_EQ(QuantileLowerConfidenceRank(100, 0.5, 0.99), 38u);
  EXPECT_EQ(QuantileUpperConfidenceRank(100, 0.5, 0.99), 63u);
}

}  // namespace
}  // namespace canarymesh::canary
