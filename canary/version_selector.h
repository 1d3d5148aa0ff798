// VersionSelector: picks the version of one service for one request. It is the compiled,
// immutable form of (route policy, live versions): build it on the control path whenever either
// changes, publish it to workers, and call Pick() per request. Pick() never allocates or locks on
// success. Thread-safe for concurrent Pick() calls (it is const and holds no mutable state).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canary/route_policy.h"
#include "core/host_set.h"
#include "core/status.h"

namespace canarymesh::canary {

struct LiveVersion {
  std::string_view version;
  uint32_t instances = 0;  // 0 counts as not live
};

// The versions of `hosts` that have at least one endpoint. Views point into `hosts`.
std::vector<LiveVersion> LiveVersionsOf(const ServiceHostSet& hosts);

struct VersionPick {
  enum class Reason { kOverride, kSticky, kWeighted };
  uint32_t index = 0;        // into VersionSelector::versions()
  std::string_view version;  // points into the selector: valid while the selector lives
  Reason reason = Reason::kWeighted;
};

class VersionSelector {
 public:
  // `policy` may be null (no policy: every live instance takes an equal share, i.e. a version is
  // picked with probability proportional to its instance count). A policy with weights gives
  // ordinary traffic only to versions that have weight > 0 and live instances, in proportion to
  // the weights of those that are live; live versions without weight get override traffic only.
  static VersionSelector Compile(std::string_view service, const RoutePolicy* policy,
                                 std::span<const LiveVersion> live);

  VersionSelector() = default;

  // `override_version`: what the request's override header names for this service, if anything;
  // it wins if that version is live, and is an Unavailable error otherwise (never a silent
  // fallback). `sticky_key`: the value of the policy's sticky key (header value, client address),
  // or nullopt/empty when the request has none. `random_bits`: 64 fresh uniform bits from the
  // worker's PRNG (e.g. router::FastRandom::Next()); used only when no override or sticky key
  // decides. Errors (Unavailable) name the service, and the version for override misses; the
  // "no live instance" error is prebuilt, the override-miss message is formatted per call.
  Result<VersionPick> Pick(std::optional<std::string_view> override_version,
                           std::optional<std::string_view> sticky_key, uint64_t random_bits) const;

  const std::string& service() const { return service_; }
  // Every live version (weighted or test), newest first. VersionPick::index indexes this.
  const std::vector<std::string>& versions() const { return versions_; }
  // What the router should extract from a request and pass as `sticky_key`.
  const StickyKeySource& sticky() const { return sticky_; }
  // Share of ordinary (non-override) traffic the version gets, in [0, 1]; 0 for test versions.
  double TrafficShare(std::string_view version) const;
  // False when ordinary traffic has nowhere to go (Pick without override fails).
  bool has_ordinary_route() const { return total_weight_ > 0; }

 private:
  // One weighted version in walk order: a point x in [0, total_weight_) lands in the first
  // range whose cumulative_end > x.
  struct WeightedRange {
    uint64_t cumulative_end = 0;
    uint32_t version_index = 0;
  };

  uint32_t IndexAt(uint64_t point) const;

  std::string service_;
  std::vector<std::string> versions_;
  std::vector<WeightedRange> ranges_;  // walk order: policy order, then newest first
  uint64_t total_weight_ = 0;
  StickyKeySource sticky_;
  Status no_live_instance_;  // prebuilt so the common failure does not allocate
};

}  // namespace canarymesh::canary
