// SidecarMetricsSource against a real proxy: the sidecar announces itself in ZooKeeper, traffic
// goes through it to v1 (healthy) and v2 (every answer a 500), and the source reads back exactly
// what was sent. Also: unreachable and unusable members are listed, a stopped sidecar leaves the
// list, and route weights written by ZkRouteWeightsWriter steer the real sidecar.
#include "scheduler-bridge/metrics/sidecar_metrics_source.h"

#include <gtest/gtest.h>

#include <csignal>
#include <numeric>

#include "canary/version_stats_json.h"
#include "discovery/serverset_member.h"
#include "discovery/zk_ops.h"
#include "scheduler-bridge/zookeeper/zk_route_weights_writer.h"
#include "tests/scheduler-bridge/metrics/metrics_source_test_world.h"

namespace canarymesh::bridge {
namespace {

using namespace std::chrono_literals;
using canarymesh::testing::PickFreePort;
using canarymesh::testing::WaitUntil;

class SidecarMetricsSourceTest : public testing::SidecarWorld {
 protected:
  void SetUp() override {
    SidecarWorld::SetUp();
    if (HasFatalFailure()) return;
    source_ = std::make_unique<SidecarMetricsSource>(
        *session_, SidecarMetricsSourceOptions{testing::kSidecarsPath, 1000, 5000, 4});
    ASSERT_TRUE(WaitUntil([&] {
      auto sidecars = source_->ListSidecars(nullptr);
      return sidecars.ok() && sidecars->size() == 1;
    })) << Logs();
  }

  // Sends `n` requests pinned to `version`; returns how many came back with each status.
  std::map<unsigned, int> Send(const std::string& version, int n) {
    std::map<unsigned, int> statuses;
    for (int i = 0; i < n; ++i) {
      auto answer = SendThroughProxy(version);
      EXPECT_TRUE(answer.ok()) << answer.status().message();
      if (!answer.ok()) continue;
      EXPECT_EQ(answer->second, version);
      ++statuses[answer->first];
    }
    return statuses;
  }

  std::string SidecarId() const { return "127.0.0.1:" + std::to_string(admin_port_); }

  std::unique_ptr<SidecarMetricsSource> source_;
};

uint64_t Sum(const std::array<uint64_t, canary::kDurationBucketCount>& buckets) {
  return std::accumulate(buckets.begin(), buckets.end(), uint64_t{0});
}

TEST_F(SidecarMetricsSourceTest, ReadsExactCountsPerVersionFromTheSidecar) {
  auto before = source_->Read("shop");
  ASSERT_TRUE(before.ok()) << before.status().message();
  ASSERT_EQ(before->by_reporter.count(SidecarId()), 1u);
  EXPECT_TRUE(before->unreachable.empty());
  for (const auto& [version, stats] : before->by_reporter[SidecarId()]) {
    EXPECT_EQ(stats.requests, 0u) << version;
  }

  EXPECT_EQ(Send("v1", 120), (std::map<unsigned, int>{{200, 120}}));
  EXPECT_EQ(Send("v2", 45), (std::map<unsigned, int>{{500, 45}}));

  auto after = source_->Read("shop");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE(after->unreachable.empty());
  ASSERT_EQ(after->by_reporter.size(), 1u);
  const VersionSnapshots& versions = after->by_reporter[SidecarId()];
  ASSERT_EQ(versions.count("v1"), 1u);
  ASSERT_EQ(versions.count("v2"), 1u);
  const canary::VersionStatsSnapshot& v1 = versions.at("v1");
  const canary::VersionStatsSnapshot& v2 = versions.at("v2");
  EXPECT_EQ(v1.requests, 120u);
  EXPECT_EQ(v1.errors, 0u);
  EXPECT_EQ(v2.requests, 45u);
  EXPECT_EQ(v2.errors, 45u);
  // The latency histograms hold every request exactly once.
  EXPECT_EQ(v1.since_start.count, 120u);
  EXPECT_EQ(v2.since_start.count, 45u);
  EXPECT_EQ(Sum(v1.duration_buckets), 120u);
  EXPECT_EQ(Sum(v2.duration_buckets), 45u);
  EXPECT_GT(v1.since_start.sum_us, 0u);

  // The endpoint itself, as the bridge's operators would see it.
  auto raw = Admin("/admin/stats/shop");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 200u);
  auto report = canary::ParseServiceStatsReport(raw->body);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->service, "shop");
  EXPECT_GT(report->sidecar_start_unix_ms, 0);
  EXPECT_EQ(report->versions["v1"].requests, 120u);
  auto unknown = Admin("/admin/stats/nosuch");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404u);

  // A service no sidecar routes is not "zero traffic".
  auto not_routed = source_->Read("nosuch");
  ASSERT_FALSE(not_routed.ok());
  EXPECT_EQ(not_routed.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(not_routed.status().message().find("none of the 1 sidecars routes"), std::string::npos)
      << not_routed.status().message();
}

TEST_F(SidecarMetricsSourceTest, ListsUnreachableAndUnusableSidecars) {
  EXPECT_EQ(Send("v1", 10), (std::map<unsigned, int>{{200, 10}}));
  // A sidecar that announced itself and then stopped answering, and a member with junk data.
  ServerSetMember dead;
  dead.service_endpoint = {"127.0.0.1", PickFreePort()};
  std::string member_path = std::string(testing::kSidecarsPath) + "/member_";
  ASSERT_TRUE(ZkCreate(*session_, member_path, SerializeServerSetMember(dead),
                       ZnodeMode::kEphemeralSequential)
                  .ok());
  auto junk = ZkCreate(*session_, member_path, "{not a member", ZnodeMode::kEphemeralSequential);
  ASSERT_TRUE(junk.ok());

  auto metrics = source_->Read("shop");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  ASSERT_EQ(metrics->by_reporter.size(), 1u);
  EXPECT_EQ(metrics->by_reporter[SidecarId()]["v1"].requests, 10u);
  ASSERT_EQ(metrics->unreachable.size(), 2u);
  std::string dead_id = "127.0.0.1:" + std::to_string(dead.service_endpoint.port);
  bool dead_listed = false, junk_listed = false;
  for (const std::string& line : metrics->unreachable) {
    dead_listed |= line.rfind(dead_id + ": ", 0) == 0;
    junk_listed |= line.rfind(junk.value() + ": ", 0) == 0;
  }
  EXPECT_TRUE(dead_listed && junk_listed) << ::testing::PrintToString(metrics->unreachable);
}

TEST_F(SidecarMetricsSourceTest, StoppedSidecarLeavesTheListAndNothingIsReadable) {
  proxy_.Kill(SIGTERM);
  ASSERT_TRUE(proxy_.Wait(30s).has_value());
  auto sidecars = source_->ListSidecars(nullptr);
  ASSERT_TRUE(sidecars.ok());
  EXPECT_TRUE(sidecars->empty());  // withdrawn on shutdown, not left to the session timeout
  auto metrics = source_->Read("shop");
  ASSERT_FALSE(metrics.ok());
  EXPECT_EQ(metrics.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(metrics.status().message().find("no sidecar is announced"), std::string::npos)
      << metrics.status().message();

  // A restarted sidecar announces itself again and counts from zero.
  ASSERT_TRUE(StartProxy().ok()) << Logs();
  ASSERT_TRUE(WaitUntil([&] {
    auto again = source_->Read("shop");
    return again.ok() && again->by_reporter.count(SidecarId()) == 1;
  })) << Logs();
}

TEST_F(SidecarMetricsSourceTest, WrittenRouteWeightsSteerTheSidecar) {
  ZkRouteWeightsWriter writer(*session_, "/canarymesh/routes");
  for (const char* version : {"v2", "v1"}) {
    auto policy =
        canary::RoutePolicy::Create({{version, 1}}, {}, {}, canary::PolicySource::kAdmin, 0);
    ASSERT_TRUE(policy.ok());
    ASSERT_TRUE(writer.Write("shop", policy.value()).ok());
    // Unpinned requests all go to the one weighted version once the sidecar has the policy.
    ASSERT_TRUE(WaitUntil([&] {
      auto answer = SendThroughProxy("");
      return answer.ok() && answer->second == version;
    })) << Logs();
    for (int i = 0; i < 20; ++i) {
      auto answer = SendThroughProxy("");
      ASSERT_TRUE(answer.ok());
      EXPECT_EQ(answer->second, version);
    }
  }
}

}  // namespace
}  // namespace canarymesh::bridge
