// Round trips of per-version statistics through their JSON form, and refusal of bad documents.
#include "canary/version_stats_json.h"

#include <gtest/gtest.h>

#include <random>

namespace canarymesh::canary {
namespace {

using Json = nlohmann::json;

void ExpectSameHistogram(const HistogramSnapshot& a, const HistogramSnapshot& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.sum_us, b.sum_us);
  EXPECT_EQ(a.max_us, b.max_us);
  EXPECT_TRUE(a.counts == b.counts);
}

void ExpectSameStats(const VersionStatsSnapshot& a, const VersionStatsSnapshot& b) {
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_TRUE(a.duration_buckets == b.duration_buckets);
  EXPECT_EQ(a.duration_sum_us, b.duration_sum_us);
  EXPECT_EQ(a.window_errors, b.window_errors);
  ExpectSameHistogram(a.since_start, b.since_start);
  ExpectSameHistogram(a.window, b.window);
}

// Stats recorded by the real registry, as a sidecar would have them.
VersionStatsSnapshot Recorded(uint32_t seed, int n) {
  static StatsRegistry registry(2);
  auto key = registry.Resolve("svc" + std::to_string(seed), "v1", "http");
  EXPECT_TRUE(key.ok());
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> latency(8.0, 1.5);  // ~3 ms median, long tail
  for (int i = 0; i < n; ++i) {
    registry.Shard(i % 2, key.value())
        ->Record(i % 7 == 0, static_cast<uint64_t>(latency(rng)), /*now_ms=*/1000);
  }
  return registry.Read(key.value(), 1500);
}

TEST(VersionStatsJson, RoundTripIsExact) {
  VersionStatsSnapshot original = Recorded(1, 5000);
  ASSERT_EQ(original.requests, 5000u);
  ASSERT_GT(original.errors, 0u);
  ASSERT_GT(original.window.count, 0u);
  auto parsed =
      VersionStatsSnapshotFromJson(Json::parse(VersionStatsSnapshotToJson(original).dump()));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameStats(original, parsed.value());
  EXPECT_EQ(parsed->since_start.ValueAtQuantile(0.99), original.since_start.ValueAtQuantile(0.99));
}

TEST(VersionStatsJson, EmptyStatsRoundTrip) {
  VersionStatsSnapshot empty;
  auto parsed = VersionStatsSnapshotFromJson(VersionStatsSnapshotToJson(empty));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameStats(empty, parsed.value());
}

TEST(VersionStatsJson, ServiceReportRoundTrip) {
  ServiceStatsReport report{"user", 1'700'000'000'123, {}};
  report.versions["v1"] = Recorded(2, 300);
  report.versions["v2"] = Recorded(3, 40);
  auto parsed = ParseServiceStatsReport(ServiceStatsReportToJson(report).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->service, "user");
  EXPECT_EQ(parsed->sidecar_start_unix_ms, 1'700'000'000'123);
  ASSERT_EQ(parsed->versions.size(), 2u);
  ExpectSameStats(report.versions["v1"], parsed->versions["v1"]);
  ExpectSameStats(report.versions["v2"], parsed->versions["v2"]);
}

TEST(VersionStatsJson, RefusesBadDocumentsNamingTheField) {
  Json good = ServiceStatsReportToJson({"user", 1, {{"v1", Recorded(4, 50)}}});
  ASSERT_TRUE(ServiceStatsReportFromJson(good).ok());

  auto expect_error = [](const Json& document, const std::string& mention) {
    auto parsed = ServiceStatsReportFromJson(document);
    ASSERT_FALSE(parsed.ok()) << document.dump();
    EXPECT_NE(parsed.status().message().find(mention), std::string::npos)
        << parsed.status().message();
  };
  Json bad = good;
  bad["versions"]["v1"]["errors"] = 51;
  expect_error(bad, "versions.v1.errors");
  bad = good;
  bad["versions"]["v1"]["requests"] = -1;
  expect_error(bad, "versions.v1.requests");
  bad = good;
  bad["versions"]["v1"]["duration_buckets"].erase(0);
  expect_error(bad, "versions.v1.duration_buckets");
  bad = good;
  bad["versions"]["v1"]["since_start"]["count"] = 49;
  expect_error(bad, "versions.v1.since_start.count");
  bad = good;
  bad["versions"]["v1"]["since_start"]["buckets"].push_back(Json::parse("[100000, 1]"));
  expect_error(bad, "since_start.buckets");
  bad = good;
  bad["versions"]["v1"]["window"]["buckets"] = Json::parse("[[5, 1], [5, 1]]");
  expect_error(bad, "window.buckets[1]");
  bad = good;
  bad.erase("service");
  expect_error(bad, "service");
  bad = good;
  bad["versions"] = Json::array();
  expect_error(bad, "versions");
  expect_error(Json("text"), "object");

  auto not_json = ParseServiceStatsReport("{\"service\": ");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::canary
