// RoutePolicy: how one service's ordinary traffic is split between its versions (relative
// weights, an optional sticky key, an optional walk order) and where that policy came from.
// Built from the YAML config or from JSON (ZooKeeper, admin API); strictly validated. Immutable
// value once built. Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace canarymesh::canary {

enum class PolicySource { kDefault, kConfig, kZooKeeper, kAdmin };

// "default", "config", "zookeeper", "admin".
std::string_view PolicySourceName(PolicySource source);

// What a request is hashed on so that the same caller keeps landing on the same version.
struct StickyKeySource {
  enum class Kind { kNone, kHeader, kClientIp };
  Kind kind = Kind::kNone;
  std::string header;  // lower-cased header name when kind == kHeader
  bool operator==(const StickyKeySource&) const = default;
};

// version -> relative weight; std::less<> so lookups by string_view need no temporary string.
using VersionWeights = std::map<std::string, uint32_t, std::less<>>;

class RoutePolicy {
 public:
  // No weights, no sticky key: every live instance takes an equal share.
  RoutePolicy() = default;

  // Checks what the parts cannot check alone: version names and the sticky header are tokens,
  // weights are not all zero, order entries are weighted versions named once. Field paths in
  // messages follow the JSON document ("weights.v2", "order[1]", "sticky.header").
  static Result<RoutePolicy> Create(VersionWeights weights, StickyKeySource sticky,
                                    std::vector<std::string> version_order, PolicySource source,
                                    int64_t updated_unix_ms);

  static Result<RoutePolicy> FromConfig(const RoutePolicyConfig& config, int64_t updated_unix_ms);

  // Accepts the document that ToJson() writes:
  //   {"weights":{"v1":95,"v2":5}, "sticky":{"header":"x-user-id"} | {"client_ip":true},
  //    "order":["v2","v1"]}
  // Every field is optional; unknown fields are errors. The message names the offending field
  // ("weights.v2: must be an integer, got 2.5"). Does not throw.
  static Result<RoutePolicy> FromJson(std::string_view json_text, PolicySource source,
                                      int64_t updated_unix_ms);
  static Result<RoutePolicy> FromJsonValue(const nlohmann::json& document, PolicySource source,
                                           int64_t updated_unix_ms);

  // The policy document alone: FromJson(ToJson().dump()) gives back an equal policy (apart from
  // provenance). This is what goes to ZooKeeper.
  nlohmann::json ToJson() const;
  // The document plus {"provenance":{"source":"admin","updated_unix_ms":...}}, for the admin API.
  // FromJson rejects the "provenance" field: provenance is set by whoever stores the policy.
  nlohmann::json ToJsonWithProvenance() const;

  // Relative weights; empty means "no weights: share by live instance count". When not empty at
  // least one weight is > 0. A live version missing here has weight 0 (override traffic only).
  const VersionWeights& weights() const { return weights_; }
  bool has_weights() const { return !weights_.empty(); }
  uint32_t WeightOf(std::string_view version) const;

  const StickyKeySource& sticky() const { return sticky_; }

  // Versions to put first, in this order, when walking cumulative weights for sticky keys; the
  // canary (newest) goes first so that growing its weight only ever adds keys to it. Versions not
  // listed follow newest first (descending natural order). Every entry is a key of weights().
  const std::vector<std::string>& version_order() const { return version_order_; }

  PolicySource source() const { return source_; }
  int64_t updated_unix_ms() const { return updated_unix_ms_; }

  // Same routing behaviour; provenance is ignored.
  bool SameRouting(const RoutePolicy& other) const;

 private:
  VersionWeights weights_;
  StickyKeySource sticky_;
  std::vector<std::string> version_order_;
  PolicySource source_ = PolicySource::kDefault;
  int64_t updated_unix_ms_ = 0;
};

}  // namespace canarymesh::canary
