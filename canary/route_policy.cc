#include "canary/route_policy.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "canary/http_token.h"

namespace canarymesh::canary {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view PolicySourceName(PolicySource source) {
  switch (source) {
    case PolicySource::kDefault:
      return "default";
    case PolicySource::kConfig:
      return "config";
    case PolicySource::kZooKeeper:
      return "zookeeper";
    case PolicySource::kAdmin:
      return "admin";
  }
  return "unknown";
}

Result<RoutePolicy> RoutePolicy::Create(VersionWeights weights, StickyKeySource sticky,
                                        std::vector<std::string> version_order, PolicySource source,
                                        int64_t updated_unix_ms) {
  bool any_positive = false;
  for (const auto& [version, weight] : weights) {
    if (!IsToken(version)) {
      return Status::InvalidArgument("weights: version name " + QuoteForMessage(version) +
                                     " must be a non-empty token (letters, digits, -._~ etc.)");
    }
    any_positive = any_positive || weight > 0;
  }
  if (!weights.empty() && !any_positive) {
    return Status::InvalidArgument(
        "weights: all weights are zero; give at least one version a weight > 0, or no weights "
        "at all to share traffic by instance count");
  }
  for (size_t i = 0; i < version_order.size(); ++i) {
    const std::string field = "order[" + std::to_string(i) + "]";
    const std::string& version = version_order[i];
    if (weights.find(version) == weights.end()) {
      return Status::InvalidArgument(field + ": version " + QuoteForMessage(version) +
                                     " is not in weights");
    }
    if (std::find(version_order.begin(), version_order.begin() + static_cast<ptrdiff_t>(i),
                  version) != version_order.begin() + static_cast<ptrdiff_t>(i)) {
      return Status::InvalidArgument(field + ": version " + QuoteForMessage(version) +
                                     " is listed twice");
    }
  }
  if (sticky.kind == StickyKeySource::Kind::kHeader) {
    if (!IsToken(sticky.header)) {
      return Status::InvalidArgument("sticky.header: " + QuoteForMessage(sticky.header) +
                                     " is not a valid header name");
    }
    sticky.header = LowerAscii(sticky.header);
  } else {
    sticky.header.clear();
  }

  RoutePolicy policy;
  policy.weights_ = std::move(weights);
  policy.sticky_ = std::move(sticky);
  policy.version_order_ = std::move(version_order);
  policy.source_ = source;
  policy.updated_unix_ms_ = updated_unix_ms;
  return policy;
}

Result<RoutePolicy> RoutePolicy::FromConfig(const RoutePolicyConfig& config,
                                            int64_t updated_unix_ms) {
  if (!config.sticky_header.empty() && config.sticky_client_ip) {
    return Status::InvalidArgument(
        "sticky: give either sticky_header or sticky_client_ip, not both");
  }
  StickyKeySource sticky;
  if (!config.sticky_header.empty()) {
    sticky.kind = StickyKeySource::Kind::kHeader;
    sticky.header = config.sticky_header;
  } else if (config.sticky_client_ip) {
    sticky.kind = StickyKeySource::Kind::kClientIp;
  }
  VersionWeights weights(config.weights.begin(), config.weights.end());
  return Create(std::move(weights), std::move(sticky), {}, PolicySource::kConfig, updated_unix_ms);
}

nlohmann::json RoutePolicy::ToJson() const {
  nlohmann::json doc = nlohmann::json::object();
  nlohmann::json weights = nlohmann::json::object();
  for (const auto& [version, weight] : weights_) weights[version] = weight;
  doc["weights"] = std::move(weights);
  switch (sticky_.kind) {
    case StickyKeySource::Kind::kNone:
      break;
    case StickyKeySource::Kind::kHeader:
      doc["sticky"] = {{"header", sticky_.header}};
      break;
    case StickyKeySource::Kind::kClientIp:
      doc["sticky"] = {{"client_ip", true}};
      break;
  }
  if (!version_order_.empty()) doc["order"] = version_order_;
  return doc;
}

nlohmann::json RoutePolicy::ToJsonWithProvenance() const {
  nlohmann::json doc = ToJson();
  doc["provenance"] = {{"source", std::string(PolicySourceName(source_))},
                       {"updated_unix_ms", updated_unix_ms_}};
  return doc;
}

uint32_t RoutePolicy::WeightOf(std::string_view version) const {
  const auto it = weights_.find(version);
  return it == weights_.end() ? 0 : it->second;
}

bool RoutePolicy::SameRouting(const RoutePolicy& other) const {
  return weights_ == other.weights_ && sticky_ == other.sticky_ &&
         version_order_ == other.version_order_;
}

}  // namespace canarymesh::canary
