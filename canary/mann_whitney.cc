#include "canary/mann_whitney.h"

#include <algorithm>
#include <cmath>

#include "canary/statistics.h"

namespace canarymesh::canary {

MannWhitneyResult MannWhitneyOnHistograms(const HistogramSnapshot& baseline,
                                          const HistogramSnapshot& canary) {
  MannWhitneyResult r;
  r.baseline_samples = baseline.count;
  r.canary_samples = canary.count;
  if (baseline.count == 0 || canary.count == 0) return r;

  const double nb = static_cast<double>(baseline.count);
  const double nc = static_cast<double>(canary.count);
  const double n = nb + nc;
  // Walking buckets upwards: a canary sample beats every baseline sample in lower buckets and
  // ties with those in its own. The same sum as rank-sum minus nc(nc+1)/2, without the ranks.
  double u = 0.0;
  double baseline_below = 0.0;
  double tie_term = 0.0;  // sum over tie groups of t^3 - t
  for (size_t i = 0; i < kLatencyBucketCount; ++i) {
    const double b = static_cast<double>(baseline.counts[i]);
    const double c = static_cast<double>(canary.counts[i]);
    if (b == 0 && c == 0) continue;
    u += c * (baseline_below + 0.5 * b);
    baseline_below += b;
    const double t = b + c;
    tie_term += t * t * t - t;
  }
  r.u_canary = u;
  r.prob_canary_slower = u / (nb * nc);

  const double variance = nb * nc / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
  if (!(variance > 0.0)) return r;  // every sample in one bucket: no ordering to test
  r.valid = true;
  const double centered = u - nb * nc / 2.0;
  const double corrected = std::max(std::fabs(centered) - 0.5, 0.0);
  r.z = std::copysign(corrected, centered) / std::sqrt(variance);
  r.p_canary_slower = NormalUpperTail(r.z);
  r.p_two_sided = std::min(1.0, 2.0 * NormalUpperTail(std::fabs(r.z)));
  return r;
}

}  // namespace canarymesh::canary
