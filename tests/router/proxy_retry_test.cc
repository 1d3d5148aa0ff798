// The proxy on real sockets: which failures are retried, how the retry budget bounds retries
// when everything fails, and outlier ejection taking a failing instance out of rotation.
#include <gtest/gtest.h>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

std::string TwoInstances(const std::string& a, const std::string& b, const std::string& top = "") {
  return top + "services:\n  - name: svc\n    hosts: [svc]\n    versions:\n      v1: [\"" + a +
         "\", \"" + b + "\"]\n";
}

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

BackendHandler ResetAfterReading() {
  return [](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req)) conn.Reset();
  };
}

TEST(ProxyRetryTest, GetsSucceedWhenOneInstanceRefusesConnections) {
  ClosedPort closed;
  TestBackend good(EchoHandler("good"));
  TestProxy proxy(TwoInstances(Loopback(closed.port()), good.address(),
                               "outlier: {consecutive_failures: 0}\n"));
  for (int i = 0; i < 40; ++i) {
    TestClient client(proxy.port());  // a new connection each time: no stickiness anywhere
    ClientResponse r = client.RoundTrip(Get("svc", "/r" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(good.requests(), 40);
  // Roughly half the first attempts went to the refusing instance; each was retried.
  EXPECT_GT(proxy.Counter(&RouterCounters::retries_total), 5u);
  EXPECT_EQ(proxy.Counter(&RouterCounters::retries_total),
            proxy.Counter(&RouterCounters::upstream_connect_failures_total));
}

TEST(ProxyRetryTest, PostToAnUpstreamThatResetsIsNotRetried) {
  TestBackend a(ResetAfterReading()), b(ResetAfterReading());
  TestProxy proxy(TwoInstances(a.address(), b.address()));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Post("svc", "/charge", "amount=10"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(a.requests() + b.requests(), 1) << "a POST that may have been processed was sent again";
  EXPECT_EQ(proxy.Counter(&RouterCounters::retries_total), 0u);

  // The same failure on a GET is retried (max_attempts 2): the test can tell the difference.
  TestClient again(proxy.port());
  EXPECT_EQ(again.RoundTrip(Get("svc", "/read")).status, 502);
  EXPECT_EQ(a.requests() + b.requests(), 3);
  EXPECT_EQ(proxy.Counter(&RouterCounters::retries_total), 1u);
}

TEST(ProxyRetryTest, PostIsRetriedWhenTheConnectFailed) {
  ClosedPort closed;
  TestBackend good(EchoHandler("good"));
  TestProxy proxy(TwoInstances(Loopback(closed.port()), good.address(),
                               "outlier: {consecutive_failures: 0}\n"));
  for (int i = 0; i < 20; ++i) {
    TestClient client(proxy.port());
    ClientResponse r = client.RoundTrip(Post("svc", "/p", "body" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << "request " << i << ": nothing was sent, so retrying is safe";
    EXPECT_EQ(r.head.Header("x-body-length"), std::to_string(4 + std::to_string(i).size()));
  }
  EXPECT_EQ(good.requests(), 20);
}

TEST(ProxyRetryTest, RetryBudgetBoundsRetriesWhenEverythingFails) {
  TestBackend a(ResetAfterReading()), b(ResetAfterReading());
  TestProxy proxy(
      TwoInstances(a.address(), b.address(),
                   "outlier: {consecutive_failures: 0}\n"
                   "retries: {budget_percent: 20, min_per_second: 0, max_attempts: 5}\n"));
  const int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    TestClient c(proxy.port());
    EXPECT_EQ(c.RoundTrip(Get("svc", "/x")).status, 502);
  }
  int attempts = a.requests() + b.requests();
  uint64_t retries = proxy.Counter(&RouterCounters::retries_total);
  // Without the budget every request would take 5 attempts (250); 20% of 50 funds 10 retries.
  EXPECT_EQ(static_cast<uint64_t>(attempts), kRequests + retries);
  EXPECT_GE(retries, 9u);
  EXPECT_LE(retries, 10u);
  EXPECT_GT(proxy.Counter(&RouterCounters::retries_budget_exhausted_total), 0u);
}

TEST(ProxyRetryTest, OutlierEjectionStopsConnectAttemptsToARefusingInstance) {
  ClosedPort closed;
  TestBackend good(EchoHandler("good"));
  TestProxy proxy(TwoInstances(Loopback(closed.port()), good.address(),
                               "outlier: {consecutive_failures: 3, base_ejection_ms: 600000}\n"));
  auto failures = [&] { return proxy.Counter(&RouterCounters::upstream_connect_failures_total); };
  TestClient client(proxy.port());
  int sent = 0;
  while (failures() < 3 && sent < 500) {
    ASSERT_EQ(client.RoundTrip(Get("svc", "/warmup")).status, 200);
    ++sent;
  }
  ASSERT_EQ(failures(), 3u) << "the refusing instance was never picked in " << sent << " requests";
  std::shared_ptr<UpstreamInstance> bad = proxy.Instance(Loopback(closed.port()));
  ASSERT_NE(bad, nullptr);
  EXPECT_GT(bad->ejected_until_ms(), 0);
  EXPECT_EQ(proxy.Counter(&RouterCounters::outlier_ejections_total), 1u);
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(client.RoundTrip(Get("svc", "/after")).status, 200);
  }
  EXPECT_EQ(failures(), 3u) << "an ejected instance was still tried";
  EXPECT_EQ(good.requests(), sent + 60);
}

TEST(ProxyRetryTest, OutlierEjectionStopsTrafficToAResettingInstance) {
  TestBackend bad(ResetAfterReading()), good(EchoHandler("good"));
  TestProxy proxy(TwoInstances(bad.address(), good.address(),
                               "outlier: {consecutive_failures: 3, base_ejection_ms: 600000}\n"));
  TestClient client(proxy.port());
  int sent = 0;
  while (bad.connections() < 3 && sent < 500) {
    ASSERT_EQ(client.RoundTrip(Get("svc", "/warmup")).status, 200);  // retried on the good one
    ++sent;
  }
  ASSERT_EQ(bad.connections(), 3);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(client.RoundTrip(Get("svc", "/after")).status, 200);
  EXPECT_EQ(bad.connections(), 3) << "connections kept going to the ejected instance";
  EXPECT_EQ(proxy.Counter(&RouterCounters::outlier_ejections_total), 1u);
}

TEST(ProxyRetryTest, AllInstancesEjectedStillGetTraffic) {
  TestBackend a(ResetAfterReading()), b(ResetAfterReading());
  TestProxy proxy(TwoInstances(a.address(), b.address(),
                               "outlier: {consecutive_failures: 1, base_ejection_ms: 600000}\n"));
  TestClient client(proxy.port());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(client.RoundTrip(Get("svc")).status, 502);
  // Both are ejected now; panic mode keeps sending rather than failing without trying.
  int before = a.requests() + b.requests();
  TestClient c2(proxy.port());
  EXPECT_EQ(c2.RoundTrip(Get("svc")).status, 502);
  EXPECT_GT(a.requests() + b.requests(), before);
}

}  // namespace
}  // namespace canarymesh::router::testing
