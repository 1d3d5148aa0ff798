#include "canary/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace canarymesh::canary {

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

double BinomialLogLikelihood(double x, double n, double p) {
  double ll = 0.0;
  if (x > 0) ll += p > 0 ? x * std::log(p) : -std::numeric_limits<double>::infinity();
  if (n - x > 0) ll += p < 1 ? (n - x) * std::log1p(-p) : -std::numeric_limits<double>::infinity();
  return ll;
}

namespace {

// Continued fraction for I_x(a, b) by the modified Lentz method; converges quickly for
// x < (a + 1) / (a + b + 2), in about sqrt(max(a, b)) steps.
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 1'000'000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

double BinomialUpperTail(uint64_t n, double p, uint64_t k) {
  if (k == 0) return 1.0;
  if (k > n) return 0.0;
  return RegularizedIncompleteBeta(static_cast<double>(k), static_cast<double>(n - k + 1), p);
}

namespace {

// The smallest k in [1, n + 1] with `holds(k)`, for a predicate false up to some k and true from
// there on (holds(n + 1) is taken as true). Gallops from the binomial mean, where the answer
// lies within a few standard deviations, so that ~10 evaluations do instead of log2(n).
template <typename Predicate>
uint64_t FirstTrue(uint64_t n, double q, Predicate holds) {
  auto eval = [&](uint64_t k) { return k > n || holds(k); };
  const double mean = static_cast<double>(n) * q;
  const auto step0 = static_cast<uint64_t>(std::max(1.0, std::sqrt(mean * (1.0 - q))));
  uint64_t lo = 0, hi = n + 1;  // invariant: answer in (lo, hi]
  uint64_t k = std::clamp<uint64_t>(static_cast<uint64_t>(mean), 1, n + 1);
  if (eval(k)) {
    hi = k;
    for (uint64_t step = step0; hi > 1; step *= 2) {
      const uint64_t probe = hi > step ? hi - step : 1;
      if (!eval(probe)) {
        lo = probe;
        break;
      }
      hi = probe;
    }
  } else {
    lo = k;
    for (uint64_t step = step0; lo < n + 1; step *= 2) {
      const uint64_t probe = std::min(lo + step, n + 1);
      if (eval(probe)) {
        hi = probe;
        break;
      }
      lo = probe;
    }
  }
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (eval(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

}  // namespace

uint64_t QuantileLowerConfidenceRank(uint64_t n, double q, double confidence) {
  if (n == 0 || BinomialUpperTail(n, q, 1) < confidence) return 0;
  // The tail P(Bin >= k) falls with k: the bound is the last k where it is still >= confidence.
  return FirstTrue(n, q, [&](uint64_t k) { return BinomialUpperTail(n, q, k) < confidence; }) - 1;
}

uint64_t QuantileUpperConfidenceRank(uint64_t n, double q, double confidence) {
  const double allowed = 1.0 - confidence;
  if (n == 0 || BinomialUpperTail(n, q, n) > allowed) return 0;
  return FirstTrue(n, q, [&](uint64_t k) { return BinomialUpperTail(n, q, k) <= allowed; });
}

}  // namespace canarymesh::canary
