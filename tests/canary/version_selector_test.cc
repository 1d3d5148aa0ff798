#include "canary/version_selector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "canary/sticky_hash.h"

namespace canarymesh::canary {
namespace {

// splitmix64: the tests' stand-in for a worker's PRNG; seeded, so every run draws the same bits.
class TestRandom {
 public:
  explicit TestRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

RoutePolicy Policy(const std::string& json) {
  Result<RoutePolicy> policy = RoutePolicy::FromJson(json, PolicySource::kAdmin, 0);
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
  return policy.value();
}

// Draws `n` unsticky picks and counts them by version.
std::map<std::string, int> CountPicks(const VersionSelector& selector, int n, uint64_t seed) {
  TestRandom random(seed);
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) {
    Result<VersionPick> pick = selector.Pick(std::nullopt, std::nullopt, random.Next());
    EXPECT_TRUE(pick.ok());
    if (!pick.ok()) break;
    EXPECT_EQ(pick->reason, VersionPick::Reason::kWeighted);
    ++counts[std::string(pick->version)];
  }
  return counts;
}

std::string StickyVersion(const VersionSelector& selector, const std::string& key) {
  Result<VersionPick> pick = selector.Pick(std::nullopt, key, 0);
  EXPECT_TRUE(pick.ok());
  return pick.ok() ? std::string(pick->version) : "";
}

// A count from n independent draws with probability p must lie within 5 standard deviations of
// n*p. The draws are seeded, so this cannot flake; the tolerance keeps the test valid for any
// correct PRNG or hash rather than one lucky seed.
void ExpectBinomial(int observed, int n, double p) {
  const double mean = n * p;
  const double sigma = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(observed, mean, 5 * sigma) << "n=" << n << " p=" << p;
}

const std::vector<LiveVersion> kTwoLive = {{"v1", 4}, {"v2", 1}};

TEST(VersionSelectorTest, OverrideHitsALiveVersion) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":100}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  Result<VersionPick> pick = selector.Pick("v2", std::nullopt, 0);
  ASSERT_TRUE(pick.ok()) << pick.status().ToString();
  EXPECT_EQ(pick->version, "v2");
  EXPECT_EQ(pick->reason, VersionPick::Reason::kOverride);
  EXPECT_EQ(selector.versions()[pick->index], "v2");
}

TEST(VersionSelectorTest, OverrideMissIsAnErrorNotAFallback) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":100,"v3":1}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  Result<VersionPick> pick = selector.Pick("v3", "some-user", 0);
  ASSERT_FALSE(pick.ok());
  EXPECT_EQ(pick.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(pick.status().message(), "no live instance of service user version v3");
}

TEST(VersionSelectorTest, TestVersionGetsOnlyOverrideTraffic) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":100}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  const std::map<std::string, int> counts = CountPicks(selector, 100000, 1);
  EXPECT_EQ(counts.count("v2"), 0u);
  EXPECT_EQ(counts.at("v1"), 100000);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(StickyVersion(selector, "user-" + std::to_string(i)), "v1");
  }
  EXPECT_EQ(selector.TrafficShare("v2"), 0.0);
  EXPECT_EQ(selector.Pick("v2", std::nullopt, 0)->version, "v2");
}

TEST(VersionSelectorTest, NoPolicySharesByInstanceCount) {
  const VersionSelector selector = VersionSelector::Compile("user", nullptr, kTwoLive);
  constexpr int kDraws = 100000;
  const std::map<std::string, int> counts = CountPicks(selector, kDraws, 2);
  ExpectBinomial(counts.at("v2"), kDraws, 0.2);
  EXPECT_EQ(counts.at("v1") + counts.at("v2"), kDraws);
  EXPECT_DOUBLE_EQ(selector.TrafficShare("v1"), 0.8);
  EXPECT_EQ(selector.sticky().kind, StickyKeySource::Kind::kNone);
}

TEST(VersionSelectorTest, PolicyWithoutWeightsSharesByInstanceCount) {
  const RoutePolicy policy = Policy(R"({"sticky":{"header":"x-user"}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  EXPECT_DOUBLE_EQ(selector.TrafficShare("v2"), 0.2);
  EXPECT_EQ(selector.sticky().header, "x-user");
}

TEST(VersionSelectorTest, WeightedSplitFollowsWeightsNotInstances) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":95,"v2":5}})");
  const std::vector<LiveVersion> live = {{"v1", 10}, {"v2", 1}};
  const VersionSelector selector = VersionSelector::Compile("user", &policy, live);
  constexpr int kDraws = 100000;
  const std::map<std::string, int> counts = CountPicks(selector, kDraws, 3);
  ExpectBinomial(counts.at("v2"), kDraws, 0.05);
  EXPECT_EQ(counts.at("v1") + counts.at("v2"), kDraws);
}

TEST(VersionSelectorTest, StickyKeyIsDeterministic) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":50,"v2":50},"sticky":{"header":"x"}})");
  const VersionSelector first = VersionSelector::Compile("user", &policy, kTwoLive);
  const VersionSelector second = VersionSelector::Compile("user", &policy, kTwoLive);
  TestRandom random(4);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    Result<VersionPick> pick = first.Pick(std::nullopt, key, random.Next());
    ASSERT_TRUE(pick.ok());
    EXPECT_EQ(pick->reason, VersionPick::Reason::kSticky);
    for (int repeat = 0; repeat < 3; ++repeat) {
      EXPECT_EQ(first.Pick(std::nullopt, key, random.Next())->version, pick->version);
    }
    EXPECT_EQ(StickyVersion(second, key), pick->version);
    seen.insert(std::string(pick->version));
  }
  EXPECT_EQ(seen.size(), 2u);  // the key really decides, it is not one constant answer
}

TEST(VersionSelectorTest, StickyKeysSplitByWeight) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":90,"v2":10}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  constexpr int kKeys = 100000;
  int in_canary = 0;
  for (int i = 0; i < kKeys; ++i) in_canary += StickyVersion(selector, std::to_string(i)) == "v2";
  ExpectBinomial(in_canary, kKeys, 0.10);
}

TEST(VersionSelectorTest, EmptyStickyKeyFallsBackToRandomSplit) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":1,"v2":1}})");
  const VersionSelector selector = VersionSelector::Compile("user", &policy, kTwoLive);
  Result<VersionPick> pick = selector.Pick(std::nullopt, "", 0);
  ASSERT_TRUE(pick.ok());
  EXPECT_EQ(pick->reason, VersionPick::Reason::kWeighted);
}

std::set<int> KeysIn(const VersionSelector& selector, const std::string& version, int keys) {
  std::set<int> in;
  for (int i = 0; i < keys; ++i) {
    if (StickyVersion(selector, "user-" + std::to_string(i)) == version) in.insert(i);
  }
  return in;
}

bool IsSubset(const std::set<int>& small, const std::set<int>& large) {
  for (int key : small) {
    if (large.count(key) == 0) return false;
  }
  return true;
}

// The property canary rollouts rely on: raising the canary's weight only adds users to it.
TEST(VersionSelectorTest, StickyCanaryMembershipIsMonotone) {
  const std::vector<LiveVersion> live = {{"v9", 3}, {"v10", 1}};
  constexpr int kKeys = 20000;
  std::set<int> previous;
  for (int percent : {5, 10, 25, 50}) {
    const RoutePolicy policy = Policy(R"({"weights":{"v9":)" + std::to_string(100 - percent) +
                                      R"(,"v10":)" + std::to_string(percent) + "}}");
    const VersionSelector selector = VersionSelector::Compile("user", &policy, live);
    const std::set<int> in_canary = KeysIn(selector, "v10", kKeys);
    ExpectBinomial(static_cast<int>(in_canary.size()), kKeys, percent / 100.0);
    EXPECT_TRUE(IsSubset(previous, in_canary)) << "a key left the canary at " << percent << "%";
    previous = in_canary;
  }
}

// With three versions the newest still comes first, so the canary stays monotone even while the
// two older versions trade weight between themselves.
TEST(VersionSelectorTest, MonotoneWithThreeVersions) {
  const std::vector<LiveVersion> live = {{"v1", 1}, {"v2", 1}, {"v3", 1}};
  const RoutePolicy small = Policy(R"({"weights":{"v1":60,"v2":35,"v3":5}})");
  const RoutePolicy large = Policy(R"({"weights":{"v1":10,"v2":60,"v3":30}})");
  const std::set<int> before = KeysIn(VersionSelector::Compile("s", &small, live), "v3", 20000);
  const std::set<int> after = KeysIn(VersionSelector::Compile("s", &large, live), "v3", 20000);
  EXPECT_FALSE(before.empty());
  EXPECT_TRUE(IsSubset(before, after));
}

// Pins the layout behind monotonicity: the newest version owns the bottom of the hash space, so
// a key is in the canary exactly when its hash, read as a fraction of 2^64, is below the share.
TEST(VersionSelectorTest, NewestVersionOwnsTheLowEndOfTheHashSpace) {
  const std::vector<LiveVersion> live = {{"v1", 1}, {"v2", 1}, {"v3", 1}};
  const RoutePolicy policy = Policy(R"({"weights":{"v1":60,"v2":30,"v3":10}})");
  const VersionSelector selector = VersionSelector::Compile("s", &policy, live);
  EXPECT_EQ(selector.versions(), (std::vector<std::string>{"v3", "v2", "v1"}));
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const double position = std::ldexp(static_cast<double>(StickyHash64(key)), -64);
    const std::string expected = position < 0.10 ? "v3" : position < 0.40 ? "v2" : "v1";
    // Skip the few keys within rounding distance of a boundary.
    if (std::abs(position - 0.10) < 1e-12 || std::abs(position - 0.40) < 1e-12) continue;
    ASSERT_EQ(StickyVersion(selector, key), expected) << key;
  }
}

// Names that do not sort newest-first ("canary" < "stable") need the explicit order.
TEST(VersionSelectorTest, ExplicitOrderPutsTheCanaryFirst) {
  const std::vector<LiveVersion> live = {{"stable", 5}, {"canary", 1}};
  std::set<int> previous;
  for (int percent : {5, 20, 50}) {
    const RoutePolicy policy =
        Policy(R"({"order":["canary"],"weights":{"stable":)" + std::to_string(100 - percent) +
               R"(,"canary":)" + std::to_string(percent) + "}}");
    const std::set<int> in_canary =
        KeysIn(VersionSelector::Compile("s", &policy, live), "canary", 20000);
    EXPECT_TRUE(IsSubset(previous, in_canary)) << percent;
    previous = in_canary;
  }
  EXPECT_FALSE(previous.empty());
}

TEST(VersionSelectorTest, ShareOfAWeightedVersionWithoutInstancesIsRedistributed) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":80,"v2":10,"v3":10}})");
  const std::vector<LiveVersion> live = {{"v1", 2}, {"v2", 2}, {"v3", 0}};
  const VersionSelector selector = VersionSelector::Compile("user", &policy, live);
  EXPECT_DOUBLE_EQ(selector.TrafficShare("v2"), 10.0 / 90.0);
  EXPECT_EQ(selector.TrafficShare("v3"), 0.0);
  constexpr int kDraws = 100000;
  const std::map<std::string, int> counts = CountPicks(selector, kDraws, 5);
  EXPECT_EQ(counts.count("v3"), 0u);
  ExpectBinomial(counts.at("v2"), kDraws, 10.0 / 90.0);
  // Zero instances means not live, for overrides too.
  EXPECT_FALSE(selector.Pick("v3", std::nullopt, 0).ok());
}

TEST(VersionSelectorTest, NothingLeftIsAnError) {
  const RoutePolicy policy = Policy(R"({"weights":{"v1":100}})");
  const std::vector<LiveVersion> only_test_version = {{"v2", 3}};
  const VersionSelector selector = VersionSelector::Compile("user", &policy, only_test_version);
  EXPECT_FALSE(selector.has_ordinary_route());
  Result<VersionPick> pick = selector.Pick(std::nullopt, "key", 7);
  ASSERT_FALSE(pick.ok());
  EXPECT_EQ(pick.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(pick.status().message(), "no live instance of service user");
  EXPECT_TRUE(selector.Pick("v2", std::nullopt, 0).ok());

  const VersionSelector empty = VersionSelector::Compile("user", nullptr, {});
  EXPECT_EQ(empty.Pick(std::nullopt, std::nullopt, 0).status().message(),
            "no live instance of service user");
}

TEST(VersionSelectorTest, LiveVersionsOfHostSet) {
  ServiceHostSet hosts;
  hosts.service = "user";
  Endpoint endpoint;
  endpoint.host = "10.0.0.1";
  endpoint.port = 80;
  hosts.versions["v1"] = {endpoint, endpoint};
  hosts.versions["v2"] = {};
  hosts.versions["v10"] = {endpoint};
  const std::vector<LiveVersion> live = LiveVersionsOf(hosts);
  ASSERT_EQ(live.size(), 2u);
  const VersionSelector selector = VersionSelector::Compile("user", nullptr, live);
  EXPECT_EQ(selector.versions(), (std::vector<std::string>{"v10", "v1"}));
  EXPECT_DOUBLE_EQ(selector.TrafficShare("v1"), 2.0 / 3.0);
}

}  // namespace
}  // namespace canarymesh::canary
