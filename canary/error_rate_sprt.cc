#include "canary/error_rate_sprt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "canary/statistics.h"

namespace canarymesh::canary {
namespace {

// Counts as doubles, so that expected (fractional) counts go through the same code.
struct Sample {
  double requests;
  double errors;
};

// The canary rate a * p + b that H1 pairs with baseline rate p, on one linear piece of g.
struct Piece {
  double a;
  double b;
  double lo;  // baseline rates covered: [lo, hi]
  double hi;
};

double JointLogLikelihood(const Sample& base, const Sample& can, const Piece& piece, double p) {
  return BinomialLogLikelihood(base.errors, base.requests, p) +
         BinomialLogLikelihood(can.errors, can.requests, piece.a * p + piece.b);
}

// d/dp of JointLogLikelihood; decreasing in p (the log-likelihood is concave on a piece).
double Slope(const Sample& base, const Sample& can, const Piece& piece, double p) {
  const double g = piece.a * p + piece.b;
  double s = 0.0;
  if (base.errors > 0) s += base.errors / p;
  if (base.requests > base.errors) s -= (base.requests - base.errors) / (1.0 - p);
  if (can.errors > 0) s += piece.a * can.errors / g;
  if (can.requests > can.errors) s -= piece.a * (can.requests - can.errors) / (1.0 - g);
  return s;
}

// Maximum of the concave joint log-likelihood over one piece: bisection on the sign of the
// slope, evaluated only strictly inside the piece where every logarithm is finite.
double MaximizeOnPiece(const Sample& base, const Sample& can, const Piece& piece, double* argmax) {
  double lo = piece.lo, hi = piece.hi;
  // Relative precision 1e-10 in the rate; a rate below 1e-12 is zero for any traffic.
  for (int i = 0; i < 200 && hi - lo > 1e-10 * hi && hi > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (Slope(base, can, piece, mid) > 0) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  // The maximum may sit on an edge (no errors: at rate 0), where the bisection only comes close.
  double best_p = 0.5 * (lo + hi);
  double best = JointLogLikelihood(base, can, piece, best_p);
  for (const double edge : {piece.lo, piece.hi}) {
    if (const double l = JointLogLikelihood(base, can, piece, edge); l > best) {
      best = l;
      best_p = edge;
    }
  }
  *argmax = best_p;
  return best;
}

struct Fit {
  double llr;
  double h1_baseline_rate;
  double h1_canary_rate;
  double pooled_rate;
};

Fit FitBoth(const ErrorRateSprtConfig& config, const Sample& base, const Sample& can) {
  Fit fit;
  fit.pooled_rate = (base.errors + can.errors) / (base.requests + can.requests);
  const double l0 = BinomialLogLikelihood(base.errors + can.errors, base.requests + can.requests,
                                          fit.pooled_rate);

  // g(p) = max(k p, p + delta): p + delta up to p = delta / (k - 1), then k p; H1 holds only
  // baseline rates whose g stays below 1.
  const double k = config.degradation_factor, delta = config.min_absolute_increase;
  const double kink = k > 1.0 ? delta / (k - 1.0) : std::numeric_limits<double>::infinity();
  const Piece pieces[] = {{1.0, delta, 0.0, std::min(kink, 1.0 - delta)},
                          {k, 0.0, std::min(kink, 1.0), 1.0 / k}};
  double l1 = -std::numeric_limits<double>::infinity();
  for (const Piece& piece : pieces) {
    if (!(piece.hi > piece.lo)) continue;
    double p = 0.0;
    const double l = MaximizeOnPiece(base, can, piece, &p);
    if (l > l1) {
      l1 = l;
      fit.h1_baseline_rate = p;
      fit.h1_canary_rate = piece.a * p + piece.b;
    }
  }
  fit.llr = l1 - l0;
  return fit;
}

}  // namespace

ErrorRateEvidence EvaluateErrorRate(const ErrorRateSprtConfig& config, const ErrorCounts& baseline,
                                    const ErrorCounts& canary) {
  ErrorRateEvidence e;
  e.fail_threshold = std::log(1.0 / config.alpha);
  e.pass_threshold = std::log(config.beta / (1.0 - config.alpha));
  if (baseline.requests > 0) e.baseline_rate = double(baseline.errors) / double(baseline.requests);
  if (canary.requests > 0) e.canary_rate = double(canary.errors) / double(canary.requests);
  if (baseline.requests == 0 || canary.requests == 0) {
    e.pooled_rate = baseline.requests > 0 ? e.baseline_rate : e.canary_rate;
    return e;  // no comparison without both sides; the judge's volume gate reports it
  }

  const Sample base{double(baseline.requests), double(baseline.errors)};
  const Sample can{double(canary.requests), double(canary.errors)};
  const Fit fit = FitBoth(config, base, can);
  e.pooled_rate = fit.pooled_rate;
  e.h1_baseline_rate = fit.h1_baseline_rate;
  e.h1_canary_rate = fit.h1_canary_rate;
  e.llr = fit.llr;
  e.p_value = std::min(1.0, std::exp(-e.llr));
  if (e.llr >= e.fail_threshold) {
    e.decision = SprtDecision::kFail;
  } else if (e.llr <= e.pass_threshold) {
    e.decision = SprtDecision::kPass;
  }

  // Both profile maxima scale with the counts, so the LLR of data that match H0 exactly grows
  // linearly with traffic at a fixed split: its value now, per canary request, is the drift.
  const Sample expected_base{base.requests, base.requests * fit.pooled_rate};
  const Sample expected_can{can.requests, can.requests * fit.pooled_rate};
  e.llr_drift_per_request = FitBoth(config, expected_base, expected_can).llr / can.requests;
  if (e.decision == SprtDecision::kContinue && e.llr_drift_per_request < -1e-12) {
    const double needed = (e.llr - e.pass_threshold) / -e.llr_drift_per_request;
    e.requests_to_pass = static_cast<uint64_t>(std::ceil(std::min(needed, 1e15)));
  }
  return e;
}

}  // namespace canarymesh::canary
