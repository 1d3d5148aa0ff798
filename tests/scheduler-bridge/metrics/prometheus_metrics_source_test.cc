// PrometheusMetricsSource: unit checks of the coarse latency conversion, and against Debian's
// Prometheus scraping a real proxy every second: once Prometheus has the final counters, the
// source's counts and buckets equal what the sidecar itself reports.
#include "scheduler-bridge/metrics/prometheus_metrics_source.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "scheduler-bridge/metrics/sidecar_metrics_source.h"
#include "tests/scheduler-bridge/metrics/metrics_source_test_world.h"

namespace canarymesh::bridge {
namespace {

using namespace std::chrono_literals;
using canarymesh::testing::PickFreePort;
using canarymesh::testing::WaitUntil;

TEST(PrometheusMetricsSourceUnit, CoarseBucketsBecomeAHistogramWithTheSameCounts) {
  std::array<uint64_t, canary::kDurationBucketCount> buckets{};
  buckets[0] = 90;  // <= 0.5 ms
  buckets[4] = 9;   // (5 ms, 10 ms]
  buckets[14] = 1;  // > 10 s
  canary::HistogramSnapshot h = ToLatencyHistogram(buckets, 123456);
  EXPECT_EQ(h.count, 100u);
  EXPECT_EQ(h.sum_us, 123456u);
  // Percentiles land inside the exported bucket that holds them.
  EXPECT_LE(h.ValueAtQuantile(0.5), 500.0);
  EXPECT_GT(h.ValueAtQuantile(0.95), 5000.0);
  EXPECT_LE(h.ValueAtQuantile(0.95), 10000.0);
  EXPECT_GT(h.ValueAtQuantile(1.0), 10'000'000.0);
  EXPECT_TRUE(ToLatencyHistogram({}, 0).count == 0);
}

TEST(PrometheusMetricsSourceUnit, EscapesServiceNamesInQueriesAndRefusesBadUrls) {
  EXPECT_EQ(PromQlEscape("shop"), "shop");
  EXPECT_EQ(PromQlEscape("a\"b\\c"), "a\\\"b\\\\c");
  auto bad = PrometheusMetricsSource::Create({"ftp://x", 100, 100});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

TEST(PrometheusMetricsSourceUnit, PrometheusDownIsUnavailable) {
  uint16_t port = PickFreePort();
  auto source =
      PrometheusMetricsSource::Create({"http://127.0.0.1:" + std::to_string(port), 1000, 2000});
  ASSERT_TRUE(source.ok());
  auto read = source.value()->Read("shop");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(read.status().message().find("prometheus at http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << read.status().message();
}

class PrometheusMetricsSourceTest : public testing::SidecarWorld {
 protected:
  void SetUp() override {
    SidecarWorld::SetUp();
    if (HasFatalFailure()) return;
    std::string config = dir_ + "/prometheus.yml";
    std::ofstream out(config);
    // JSON is YAML.
    out << R"({"global":{"scrape_interval":"1s","scrape_timeout":"900ms"},)"
        << R"("scrape_configs":[{"job_name":"canarymesh","metrics_path":"/metrics",)"
        << R"("static_configs":[{"targets":["127.0.0.1:)" << admin_port_ << R"("]}]}]})";
    out.close();
    prometheus_port_ = PickFreePort();
    ASSERT_TRUE(prometheus_
                    .Spawn({CANARYMESH_PROMETHEUS, "--config.file=" + config,
                            "--storage.tsdb.path=" + dir_ + "/prometheus-data",
                            "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_),
                            "--log.level=warn"},
                           dir_ + "/prometheus.log")
                    .ok());
    ASSERT_TRUE(testing::WaitHttpOk(prometheus_port_, "/-/ready")) << Logs();
    auto source = PrometheusMetricsSource::Create(
        {"http://127.0.0.1:" + std::to_string(prometheus_port_), 2000, 10000});
    ASSERT_TRUE(source.ok()) << source.status().message();
    source_ = std::move(source.value());
  }

  void TearDown() override {
    if (prometheus_.running()) {
      prometheus_.Kill(SIGTERM);
      if (!prometheus_.Wait(20s)) prometheus_.Kill(SIGKILL);
      prometheus_.Wait(10s);
    }
    SidecarWorld::TearDown();
  }

  canarymesh::testing::TestProcess prometheus_;
  uint16_t prometheus_port_ = 0;
  std::unique_ptr<PrometheusMetricsSource> source_;
};

TEST_F(PrometheusMetricsSourceTest, CountsEqualTheSidecarsOnceScraped) {
  std::map<std::string, int> sent;
  for (int i = 0; i < 90; ++i) {
    const std::string version = i % 3 == 0 ? "v2" : "v1";
    auto answer = SendThroughProxy(version);
    ASSERT_TRUE(answer.ok()) << answer.status().message();
    EXPECT_EQ(answer->first, version == "v1" ? 200u : 500u);
    ++sent[version];
  }
  SidecarMetricsSource sidecars(*session_, {testing::kSidecarsPath, 1000, 5000, 4});
  ASSERT_TRUE(WaitUntil([&] {
    auto s = sidecars.Read("shop");
    return s.ok() && s->by_reporter.size() == 1;
  })) << Logs();
  auto exact = sidecars.Read("shop");
  ASSERT_TRUE(exact.ok());
  const VersionSnapshots& expected = exact->by_reporter.begin()->second;
  ASSERT_EQ(expected.at("v1").requests, 60u);
  ASSERT_EQ(expected.at("v2").requests, 30u);

  // Wait for a scrape after the last request.
  Result<ServiceMetrics> scraped = Status::Unavailable("not read yet");
  ASSERT_TRUE(WaitUntil(
      [&] {
        scraped = source_->Read("shop");
        if (!scraped.ok() || scraped->by_reporter.count("prometheus") == 0) return false;
        const VersionSnapshots& v = scraped->by_reporter.at("prometheus");
        return v.count("v1") && v.count("v2") && v.at("v1").requests == 60 &&
               v.at("v2").requests == 30;
      },
      60s))
      << (scraped.ok() ? "" : scraped.status().message()) << Logs();

  ASSERT_EQ(scraped->by_reporter.size(), 1u);
  for (const char* version : {"v1", "v2"}) {
    const canary::VersionStatsSnapshot& p = scraped->by_reporter.at("prometheus").at(version);
    const canary::VersionStatsSnapshot& s = expected.at(version);
    EXPECT_EQ(p.requests, s.requests) << version;
    EXPECT_EQ(p.errors, s.errors) << version;
    EXPECT_TRUE(p.duration_buckets == s.duration_buckets) << version;
    EXPECT_EQ(p.since_start.count, s.since_start.count) << version;
    // Prometheus carries the sum as float seconds: equal to the microsecond.
    EXPECT_NEAR(static_cast<double>(p.duration_sum_us), static_cast<double>(s.duration_sum_us),
                1.0);
  }
  EXPECT_EQ(scraped->by_reporter.at("prometheus").at("v2").errors, 30u);
  EXPECT_EQ(scraped->by_reporter.at("prometheus").at("v1").errors, 0u);
}

}  // namespace
}  // namespace canarymesh::bridge
