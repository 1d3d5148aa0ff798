// Numerical building blocks for the canary judge: the normal tail, binomial log-likelihoods and
// tail probabilities, and distribution-free confidence ranks for a quantile. Pure functions of
// their arguments; thread-safe.
#pragma once

#include <cstdint>

namespace canarymesh::canary {

// Standard normal P(Z <= z) and P(Z > z); the tail form keeps its precision far out (z = 8).
double NormalCdf(double z);
double NormalUpperTail(double z);

// x*ln(p) + (n-x)*ln(1-p), the binomial log-likelihood without its constant, with 0*ln(0) = 0.
// Counts may be fractional (expected counts). -inf when p makes the data impossible.
double BinomialLogLikelihood(double x, double n, double p);

// Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1] (continued fraction, ~1e-14).
double RegularizedIncompleteBeta(double a, double b, double x);

// P(Binomial(n, p) >= k). 1 for k == 0, 0 for k > n.
double BinomialUpperTail(uint64_t n, double p, uint64_t k);

// Order-statistic confidence bounds for the q-quantile of a continuous distribution from n
// samples, 1-based ranks into the sorted sample, no distributional assumption:
// - lower: the largest r with P(X_(r) <= quantile) >= confidence, i.e. P(Bin(n, q) >= r);
// - upper: the smallest s with P(X_(s) >= quantile) >= confidence, i.e. P(Bin(n, q) <= s-1).
// 0 when n is too small for such a bound (an upper bound on p99 at 99% needs n >= 459).
uint64_t QuantileLowerConfidenceRank(uint64_t n, double q, double confidence);
uint64_t QuantileUpperConfidenceRank(uint64_t n, double q, double confidence);

}  // namespace canarymesh::canary
