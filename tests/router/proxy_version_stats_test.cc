// The proxy on real sockets: requests are counted per (service, version) in the stats registry,
// successes and errors apart, as the canary judge and /metrics read them.
#include <gtest/gtest.h>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

BackendHandler AlwaysStatus(int status) {
  return [status](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      if (!conn.Respond(status, "status " + std::to_string(status))) return;
    }
  };
}

class ProxyVersionStatsTest : public ::testing::Test {
 protected:
  // Value of canarymesh_requests_total for one label set; -1 when the series is missing.
  double PrometheusCount(const std::string& version, const std::string& result) {
    for (const auto& family : proxy_.stats().CollectPrometheus()) {
      if (family.name != "canarymesh_requests_total") continue;
      for (const auto& metric : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : metric.label) labels[l.name] = l.value;
        if (labels["service"] == "user" && labels["version"] == version &&
            labels["protocol"] == "http" && labels["result"] == result) {
          return metric.counter.value;
        }
      }
    }
    return -1;
  }

  TestBackend v1_{AlwaysStatus(200), "v1"};
  TestBackend v2_{AlwaysStatus(500), "v2"};
  TestProxy proxy_{"services:\n  - name: user\n    hosts: [user]\n    versions:\n      v1: [\"" +
                       v1_.address() + "\"]\n      v2: [\"" + v2_.address() + "\"]\n",
                   /*workers=*/2};
};

TEST_F(ProxyVersionStatsTest, CountsSuccessesAndErrorsPerVersion) {
  TestClient client(proxy_.port());
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(client.RoundTrip(Get("user", "/", "X-Canary-Version: user=v1\r\n")).status, 200);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.RoundTrip(Get("user", "/", "x-canary-version: user=v2\r\n")).status, 500);
  }
  canary::VersionStatsSnapshot v1 = proxy_.VersionStats("user", "v1");
  canary::VersionStatsSnapshot v2 = proxy_.VersionStats("user", "v2");
  EXPECT_EQ(v1.requests, 7u);
  EXPECT_EQ(v1.errors, 0u);
  EXPECT_EQ(v2.requests, 3u);
  EXPECT_EQ(v2.errors, 3u);
  EXPECT_EQ(v1_.requests(), 7);
  EXPECT_EQ(v2_.requests(), 3);
  EXPECT_EQ(PrometheusCount("v1", "success"), 7);
  EXPECT_EQ(PrometheusCount("v1", "error"), 0);
  EXPECT_EQ(PrometheusCount("v2", "success"), 0);
  EXPECT_EQ(PrometheusCount("v2", "error"), 3);
}

TEST_F(ProxyVersionStatsTest, OrdinaryTrafficIsSplitAndEveryRequestCountedOnce) {
  const int kRequests = 60;
  for (int i = 0; i < kRequests; ++i) {
    TestClient client(proxy_.port());  // new connections spread over both workers
    int status = client.RoundTrip(Get("user")).status;
    EXPECT_TRUE(status == 200 || status == 500) << status;
  }
  canary::VersionStatsSnapshot v1 = proxy_.VersionStats("user", "v1");
  canary::VersionStatsSnapshot v2 = proxy_.VersionStats("user", "v2");
  EXPECT_EQ(v1.requests + v2.requests, static_cast<uint64_t>(kRequests));
  EXPECT_EQ(v1.requests, static_cast<uint64_t>(v1_.requests()));
  EXPECT_EQ(v2.errors, static_cast<uint64_t>(v2_.requests()));
  EXPECT_GT(v1.requests, 10u);  // equal instance counts: about half each
  EXPECT_GT(v2.requests, 10u);
}

TEST_F(ProxyVersionStatsTest, OverrideToAMissingVersionIs503AndCountedUnrouted) {
  TestClient client(proxy_.port());
  ClientResponse r = client.RoundTrip(Get("user", "/", "X-Canary-Version: user=v9\r\n"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("v9"), std::string::npos) << r.body;
  EXPECT_EQ(proxy_.VersionStats("user", "none").errors, 1u);
  EXPECT_EQ(v1_.requests() + v2_.requests(), 0);
}

}  // namespace
}  // namespace canarymesh::router::testing
