// The router's counters as /metrics exports them (app/proxy_metrics.cc over the stats lists in
// router/router_stats.h and router/thrift_counters.h): every counter of the lists exported
// once, HTTP requests counted apart from Thrift calls, local answers under their own status
// code, and ejections counted when Thrift-over-HTTP calls find an instance dead. Real sockets:
// the proxy's workers in-process, raw HTTP and Thrift clients on loopback.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "app/proxy_metrics.h"
#include "router/router_stats.h"
#include "router/thrift_counters.h"
#include "tests/router/test_proxy.h"
#include "tests/router/thrift_test_proxy.h"
#include "tests/router/thrift_test_servers.h"

namespace canarymesh::router::testing {
namespace {

// family name -> label "code"/"reason" value (or "") -> value
using Exported = std::map<std::string, std::map<std::string, double>>;

Exported Export(const ThriftTestProxy& proxy) {
  Exported out;
  for (const auto& family : CollectRouterFamilies(proxy.workers())) {
    auto& samples = out[family.name];
    for (const auto& m : family.metric) {
      std::string label;
      for (const auto& l : m.label) {
        if (l.name == "code" || l.name == "reason") label = l.value;
      }
      samples[label] +=
          family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return out;
}

std::string Request(uint16_t port, const std::string& request) {
  int fd = ConnectRaw(port);
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response = ReadUntilClosed(fd);
  close(fd);
  return response;
}

std::string PostThrift(uint16_t port, const std::string& body) {
  return Request(port, "POST /thrift/echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

std::string EchoConfig(const std::string& v1_address, const std::string& extra = "") {
  return "timeouts: {header_read_ms: 200}\n"
         "services:\n  - name: echo\n    hosts: [echo]\n    versions: {v1: [\"" +
         v1_address + "\"]}\n    thrift: {http_path: /thrift/echo}\n" + extra;
}

TEST(RouterStatsList, EveryCounterIsExportedOnceUnderItsOwnName) {
  std::set<std::string> names;
  for (const auto& stat : kRouterStats) EXPECT_TRUE(names.insert(stat.name).second) << stat.name;
  for (const auto& stat : kThriftStats) EXPECT_TRUE(names.insert(stat.name).second) << stat.name;
  EXPECT_TRUE(names.insert(kLocalResponsesName).second);
  EXPECT_TRUE(names.insert(kThriftProtocolErrorsName).second);
  for (const char* promised :
       {"canarymesh_http_requests_received_total", "canarymesh_downstream_connections_total",
        "canarymesh_outlier_ejections_total", "canarymesh_thrift_calls_total",
        "canarymesh_local_responses_total", "canarymesh_retries_total"}) {
    EXPECT_TRUE(names.count(promised)) << promised;
  }
}

TEST(RouterStatsList, EachLocalStatusIsCountedUnderItsOwnCode) {
  RouterCounters counters;
  for (int status : {400, 404, 408, 413, 431, 501, 502, 503, 504}) {
    counters.CountLocalResponse(status);
    for (const auto& stat : kLocalResponseStats) {
      const uint64_t want = std::string(stat.code) == std::to_string(status) ? 1 : 0;
      EXPECT_EQ((counters.*stat.field).load(), want)
          << "status " << status << " code " << stat.code;
    }
    for (const auto& stat : kLocalResponseStats) (counters.*stat.field).store(0);
  }
  counters.CountLocalResponse(418);
  EXPECT_EQ(counters.local_other.load(), 1u);
}

TEST(RouterStatsExport, HttpRequestsExcludeThriftListenerCalls) {
  EchoServer v1("v1");
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}, {"http", ""}},
                        EchoConfig(v1.address()));
  ASSERT_TRUE(proxy.ok());
  {
    EchoTestClient client(proxy.port("thrift"), ClientFormat::kFramedBinary);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(client.Echo("t" + std::to_string(i)), "v1|t" + std::to_string(i) + "|-");
  }
  std::string call = EncodeFramedEchoCall("over-http", 7).substr(4);  // unframed, as THttpClient
  for (int i = 0; i < 3; ++i) {
    std::string r = PostThrift(proxy.port("http"), call);
    EXPECT_NE(r.find("v1|over-http|-"), std::string::npos) << r;
  }
  ASSERT_TRUE(WaitUntil([&] { return proxy.ActiveRequests() == 0; }));
  Exported e = Export(proxy);
  EXPECT_EQ(e["canarymesh_http_requests_received_total"][""], 3);  // the POSTs only
  EXPECT_EQ(e["canarymesh_thrift_calls_total"][""], 8);            // listener and HTTP calls
  EXPECT_EQ(proxy.RouterCounter(&RouterCounters::http_requests_total), 3u);
}

TEST(RouterStatsExport, LocalAnswersAreExportedUnderTheirOwnStatus) {
  EchoServer v1("v1");
  ThriftTestProxy proxy({{"http", ""}}, EchoConfig(v1.address()));
  ASSERT_TRUE(proxy.ok());
  const uint16_t http = proxy.port("http");
  // 408: the head never completes.
  std::string timed_out = Request(http, "GET / HTTP/1.1\r\nHost: echo\r\n");
  EXPECT_NE(timed_out.find("408"), std::string::npos) << timed_out;
  // 400 twice: a body that is no Thrift call, and a malformed request.
  std::string garbage = PostThrift(http, "this is not thrift");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  std::string malformed = Request(http, "GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
  EXPECT_NE(malformed.find("400"), std::string::npos) << malformed;
  // 404: no service.
  std::string missing =
      Request(http, "GET / HTTP/1.1\r\nHost: nowhere\r\nConnection: close\r\n\r\n");
  EXPECT_NE(missing.find("404"), std::string::npos) << missing;
  ASSERT_TRUE(WaitUntil([&] { return proxy.ActiveRequests() == 0; }));
  Exported e = Export(proxy);
  const auto& local = e["canarymesh_local_responses_total"];
  EXPECT_EQ(local.at("408"), 1);
  EXPECT_EQ(local.at("413"), 0);  // (a 16 MiB body; CountLocalResponse is checked above)
  EXPECT_EQ(local.at("400"), 2);
  EXPECT_EQ(local.at("404"), 1);
  EXPECT_EQ(local.at("502"), 0);
  EXPECT_EQ(local.at("other"), 0);
}

TEST(RouterStatsExport, ThriftOverHttpCallsToADeadInstanceEjectItAndAreCounted) {
  // 255.255.255.255 fails at connect() itself (ENETUNREACH): the failure is met on the call
  // path, not later on the connection.
  ThriftTestProxy proxy(
      {{"http", ""}}, EchoConfig("255.255.255.255:9",
                                 "outlier: {consecutive_failures: 3, base_ejection_ms: 60000}\n"));
  ASSERT_TRUE(proxy.ok());
  std::string call = EncodeFramedEchoCall("nobody", 1).substr(4);
  for (int i = 0; i < 3; ++i) {
    std::string r = PostThrift(proxy.port("http"), call);
    EXPECT_NE(r.find("200 OK"), std::string::npos) << r;  // a TApplicationException in a 200
    EXPECT_NE(r.find("upstream connect error"), std::string::npos) << r;
  }
  ASSERT_TRUE(WaitUntil([&] { return proxy.ActiveRequests() == 0; }));
  EXPECT_EQ(proxy.RouterCounter(&RouterCounters::outlier_ejections_total), 1u);
  EXPECT_EQ(Export(proxy)["canarymesh_outlier_ejections_total"][""], 1);
  EXPECT_EQ(proxy.ThriftStats("echo", "v1").errors, 3u);
}

}  // namespace
}  // namespace canarymesh::router::testing
