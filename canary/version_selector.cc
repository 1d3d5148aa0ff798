#include "canary/version_selector.h"

#include <algorithm>
#include <optional>

#include "canary/http_token.h"
#include "canary/sticky_hash.h"
#include "canary/version_order.h"

namespace canarymesh::canary {
namespace {

// floor(bits * range / 2^64): maps 64 uniform bits onto [0, range) without division. For a hash
// h, the result is < w exactly when h / 2^64 < w / range, which is what makes sticky routing
// monotone: a key inside the first w/range of [0, 1) stays inside when w/range grows.
uint64_t ScaleToRange(uint64_t bits, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * range) >> 64);
}

std::optional<uint32_t> IndexOf(const std::vector<std::string>& versions,
                                std::string_view version) {
  for (uint32_t i = 0; i < versions.size(); ++i) {
    if (versions[i] == version) return i;
  }
  return std::nullopt;
}

// Indexes of `versions` (sorted newest first) in the order cumulative weights are laid out: the
// policy's explicit order, then everything else newest first. It depends only on version names,
// never on weights or instance counts, so a sticky key's position is stable as they change.
std::vector<uint32_t> WalkOrder(const std::vector<std::string>& versions,
                                const RoutePolicy* policy) {
  std::vector<uint32_t> walk;
  walk.reserve(versions.size());
  if (policy != nullptr) {
    for (const std::string& version : policy->version_order()) {
      if (const std::optional<uint32_t> index = IndexOf(versions, version)) walk.push_back(*index);
    }
  }
  for (uint32_t i = 0; i < versions.size(); ++i) {
    if (std::find(walk.begin(), walk.end(), i) == walk.end()) walk.push_back(i);
  }
  return walk;
}

}  // namespace

std::vector<LiveVersion> LiveVersionsOf(const ServiceHostSet& hosts) {
  std::vector<LiveVersion> live;
  live.reserve(hosts.versions.size());
  for (const auto& [version, endpoints] : hosts.versions) {
    if (!endpoints.empty()) {
      live.push_back(LiveVersion{version, static_cast<uint32_t>(endpoints.size())});
    }
  }
  return live;
}

VersionSelector VersionSelector::Compile(std::string_view service, const RoutePolicy* policy,
                                         std::span<const LiveVersion> live) {
  VersionSelector selector;
  selector.service_ = std::string(service);
  selector.no_live_instance_ =
      Status::Unavailable("no live instance of service " + selector.service_);
  if (policy != nullptr) selector.sticky_ = policy->sticky();

  // Live versions, each once, newest first; instance counts of repeated names add up.
  for (const LiveVersion& entry : live) {
    if (entry.instances > 0) selector.versions_.emplace_back(entry.version);
  }
  SortNewestFirst(selector.versions_);
  selector.versions_.erase(std::unique(selector.versions_.begin(), selector.versions_.end()),
                           selector.versions_.end());
  std::vector<uint64_t> instances(selector.versions_.size(), 0);
  for (const LiveVersion& entry : live) {
    if (entry.instances == 0) continue;
    instances[*IndexOf(selector.versions_, entry.version)] += entry.instances;
  }

  const bool by_policy_weight = policy != nullptr && policy->has_weights();
  for (uint32_t index : WalkOrder(selector.versions_, policy)) {
    const uint64_t weight =
        by_policy_weight ? policy->WeightOf(selector.versions_[index]) : instances[index];
    if (weight == 0) continue;  // a test version: override traffic only
    selector.total_weight_ += weight;
    selector.ranges_.push_back(WeightedRange{selector.total_weight_, index});
  }
  return selector;
}

uint32_t VersionSelector::IndexAt(uint64_t point) const {
  for (const WeightedRange& range : ranges_) {
    if (point < range.cumulative_end) return range.version_index;
  }
  return ranges_.back().version_index;  // unreachable: point < total_weight_
}

Result<VersionPick> VersionSelector::Pick(std::optional<std::string_view> override_version,
                                          std::optional<std::string_view> sticky_key,
                                          uint64_t random_bits) const {
  if (override_version.has_value() && !override_version->empty()) {
    if (const std::optional<uint32_t> index = IndexOf(versions_, *override_version)) {
      return VersionPick{*index, versions_[*index], VersionPick::Reason::kOverride};
    }
    const std::string shown = IsToken(*override_version) ? std::string(*override_version)
                                                         : QuoteForMessage(*override_version);
    return Status::Unavailable("no live instance of service " + service_ + " version " + shown);
  }
  if (total_weight_ == 0) return no_live_instance_;
  if (sticky_key.has_value() && !sticky_key->empty()) {
    const uint32_t index = IndexAt(ScaleToRange(StickyHash64(*sticky_key), total_weight_));
    return VersionPick{index, versions_[index], VersionPick::Reason::kSticky};
  }
  const uint32_t index = IndexAt(ScaleToRange(random_bits, total_weight_));
  return VersionPick{index, versions_[index], VersionPick::Reason::kWeighted};
}

double VersionSelector::TrafficShare(std::string_view version) const {
  uint64_t range_start = 0;
  for (const WeightedRange& range : ranges_) {
    if (versions_[range.version_index] == version) {
      return static_cast<double>(range.cumulative_end - range_start) /
             static_cast<double>(total_weight_);
    }
    range_start = range.cumulative_end;
  }
  return 0.0;
}

}  // namespace canarymesh::canary
