// The proxy on real sockets when things go wrong: bad requests, unknown hosts, nothing to route
// to, upstreams that refuse, stall or reset, clients that vanish. Each test also checks that the
// proxy keeps serving afterwards.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "core/host_set.h"
#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

// One healthy service ("ok") plus whatever the test adds.
class ProxyErrorsTest : public ::testing::Test {
 protected:
  std::string Config(const std::string& extra_services, const std::string& top = "") {
    return top + "services:\n  - name: ok\n    hosts: [ok]\n    versions:\n      v1: [\"" +
           healthy_.address() + "\"]\n" + extra_services;
  }
  static std::string Service(const std::string& name, const std::string& address) {
    return "  - name: " + name + "\n    hosts: [" + name + "]\n    versions:\n      v1: [\"" +
           address + "\"]\n";
  }
  // The proxy still answers a fresh client.
  void ExpectStillServing(TestProxy& proxy) {
    TestClient client(proxy.port());
    ClientResponse r = client.RoundTrip(Get("ok", "/alive"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "healthy GET /alive");
  }

  TestBackend healthy_{EchoHandler("healthy"), "healthy"};
};

TEST_F(ProxyErrorsTest, MalformedRequestGets400SayingWhyThenClose) {
  TestProxy proxy(Config(""));
  const char* const bad[] = {
      "GET / HTTP/1.1\r\nHost: ok\r\nNo colon in this line\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: ok\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: ok\r\nContent-Length: nope\r\n\r\n",
      "\x16\x03\x01\x02\x01\x01\xfc\x03\x03",  // the start of a TLS ClientHello on the plain port
  };
  for (const char* input : bad) {
    TestClient client(proxy.port());
    ClientResponse r = client.RoundTrip(input);
    EXPECT_EQ(r.status, 400) << input;
    EXPECT_EQ(r.head.Header("content-type"), "text/plain; charset=utf-8");
    EXPECT_NE(r.body.find("malformed HTTP request: "), std::string::npos) << r.body;
    EXPECT_GT(r.body.size(), std::string("malformed HTTP request: \n").size())
        << "the reason is missing";
    EXPECT_TRUE(r.head.HasToken("connection", "close"));
    EXPECT_TRUE(client.WaitForClose()) << input;
  }
  EXPECT_EQ(proxy.Counter(&RouterCounters::local_400), 4u);
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, MalformedRequestAfterAGoodOneOnTheSameConnection) {
  TestProxy proxy(Config(""));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send(Get("ok", "/first") + "BROKEN\x01 / HTTP/1.1\r\n\r\n"));
  ClientResponse first, second;
  ASSERT_TRUE(client.Read(&first));
  EXPECT_EQ(first.status, 200);
  ASSERT_TRUE(client.Read(&second));
  EXPECT_EQ(second.status, 400);
  EXPECT_TRUE(client.WaitForClose());
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, OversizedHeadersGet431) {
  TestProxy proxy(Config("", "limits: {max_request_header_bytes: 4096}\n"));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("ok", "/", "X-Huge: " + std::string(6000, 'h') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("4096"), std::string::npos) << r.body;
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(healthy_.requests(), 0);
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, HeadersFarOverTheLimitStillGetTheAnswer) {
  // The proxy stops reading at the limit; the rest of the client's bytes are unread when it
  // closes, which must not turn the 431 into a bare reset.
  TestProxy proxy(Config(""));
  TestClient client(proxy.port());
  std::string huge = Get("ok", "/", "X-Huge: " + std::string(512 * 1024, 'h') + "\r\n");
  std::thread sender([&] { client.Send(huge); });
  ClientResponse r;
  bool got = client.Read(&r);
  sender.join();
  ASSERT_TRUE(got) << "no 431, errno " << std::strerror(errno);
  EXPECT_EQ(r.status, 431);
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, UnknownHostGets404NamingTheHost) {
  TestProxy proxy(Config(""));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("nope.example:8080", "/where"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("nope.example"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("/where"), std::string::npos) << r.body;
  // A local answer to a bodiless request keeps the connection.
  EXPECT_EQ(client.RoundTrip(Get("ok", "/then")).status, 200);
  EXPECT_EQ(proxy.Counter(&RouterCounters::local_404), 1u);
}

TEST_F(ProxyErrorsTest, HeadToUnknownHostGets404WithoutBody) {
  TestProxy proxy(Config(""));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: nope\r\n\r\n" + Get("ok", "/after-head")));
  ClientResponse head, next;
  ASSERT_TRUE(client.Read(&head, /*head_request=*/true));
  EXPECT_EQ(head.status, 404);
  ASSERT_TRUE(client.Read(&next)) << "the 404 body desynchronised the connection";
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "healthy GET /after-head");
}

TEST_F(ProxyErrorsTest, NoLiveInstanceGets503) {
  TestProxy proxy(
      Config("  - name: empty\n    hosts: [empty]\n    serverset: {path: /discovery/empty}\n",
             "zookeeper: {connect: \"127.0.0.1:2181\"}\n"));
  auto none = std::make_shared<ServiceHostSet>();
  none->service = "empty";
  none->source = "zookeeper:/discovery/empty";
  proxy.publisher().OnHostSet(none);
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("empty"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("empty"), std::string::npos) << r.body;
  EXPECT_EQ(client.RoundTrip(Get("ok")).status, 200);
  EXPECT_EQ(proxy.VersionStats("empty", "none").errors, 1u);
}

TEST_F(ProxyErrorsTest, ConnectRefusedGets502) {
  ClosedPort closed;
  TestProxy proxy(Config(Service("down", "127.0.0.1:" + std::to_string(closed.port()))));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("down", "/"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream connect error"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(std::to_string(closed.port())), std::string::npos) << r.body;
  EXPECT_EQ(client.RoundTrip(Get("ok")).status, 200);
  EXPECT_EQ(proxy.VersionStats("down", "v1").errors, 1u);
}

TEST_F(ProxyErrorsTest, ConnectTimeoutGets504) {
  UnacceptingPort blackhole;
  TestProxy proxy(Config(Service("hole", "127.0.0.1:" + std::to_string(blackhole.port())),
                         "timeouts: {connect_ms: 200}\n"));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("hole", "/"));
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("upstream connect timeout"), std::string::npos) << r.body;
  EXPECT_EQ(client.RoundTrip(Get("ok")).status, 200);
}

TEST_F(ProxyErrorsTest, TooManyHeadersGet431) {
  TestProxy proxy(Config(""));
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("ok", "/", many));
  EXPECT_EQ(r.status, 431);
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(healthy_.requests(), 0);
}

TEST_F(ProxyErrorsTest, SlowUpstreamGets504) {
  TestBackend slow([](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req)) conn.WaitForPeerClose();  // never answers
  });
  TestProxy proxy(Config(Service("slow", slow.address()), "timeouts: {request_ms: 300}\n"));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("slow", "/"));
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("timeout"), std::string::npos) << r.body;
  // The stalled upstream connection is dropped, the client connection is not.
  EXPECT_TRUE(WaitUntil([&] { return slow.connections() == 1 && proxy.ActiveRequests() == 0; }));
  EXPECT_EQ(client.RoundTrip(Get("ok", "/after")).status, 200);
  EXPECT_EQ(proxy.Counter(&RouterCounters::local_504), 1u);
}

TEST_F(ProxyErrorsTest, UpstreamResetBeforeAnswerGets502) {
  TestBackend resetting([](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req)) conn.Reset();
  });
  TestProxy proxy(Config(Service("reset", resetting.address())));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("reset", "/"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("upstream reset before response"), std::string::npos) << r.body;
  EXPECT_EQ(client.RoundTrip(Get("ok")).status, 200);
}

TEST_F(ProxyErrorsTest, UpstreamClosingMidBodyClosesTheClient) {
  TestBackend truncating([](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req))
      conn.Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
  });
  TestProxy proxy(Config(Service("cut", truncating.address())));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send(Get("cut")));
  ClientResponse r;
  EXPECT_FALSE(client.Read(&r)) << "a truncated body must not look complete";
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(client.WaitForClose());
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, MalformedUpstreamAnswerGets502) {
  TestBackend broken([](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req)) conn.Send("HTTP/1.1 two hundred\r\n\r\n");
    conn.WaitForPeerClose();
  });
  TestProxy proxy(Config(Service("broken", broken.address())));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("broken"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("malformed upstream response"), std::string::npos) << r.body;
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, ClientsThatDisappearMidRequestHurtNobody) {
  TestBackend slow([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!conn.Respond(200, "late")) return;
    }
  });
  TestProxy proxy(Config(Service("slow", slow.address())));
  {  // inside the head
    TestClient c(proxy.port());
    c.Send("GET / HTTP/1.1\r\nHost: o");
    c.Reset();
  }
  {  // inside the body
    TestClient c(proxy.port());
    c.Send("POST / HTTP/1.1\r\nHost: ok\r\nContent-Length: 100000\r\n\r\npartial");
    WaitUntil([&] { return healthy_.requests() > 0; }, std::chrono::milliseconds(2000));
  }
  {  // waiting for the answer
    TestClient c(proxy.port());
    c.Send(Get("slow"));
    WaitUntil([&] { return slow.requests() > 0; }, std::chrono::milliseconds(2000));
    c.Reset();
  }
  {  // half-closed while a body is expected
    TestClient c(proxy.port());
    c.Send("POST / HTTP/1.1\r\nHost: ok\r\nContent-Length: 10\r\n\r\nabc");
    c.ShutdownWrite();
    EXPECT_TRUE(c.WaitForClose());
  }
  EXPECT_TRUE(WaitUntil([&] { return proxy.ActiveRequests() == 0; })) << proxy.ActiveRequests();
  ExpectStillServing(proxy);
  // The slow backend's answer to the vanished client did not end up anywhere else.
  TestClient c(proxy.port());
  EXPECT_EQ(c.RoundTrip(Get("slow", "/x")).body, "late");
}

TEST_F(ProxyErrorsTest, IncompleteHeadTimesOutWith408) {
  TestProxy proxy(Config("", "timeouts: {header_read_ms: 200}\n"));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: ok\r\n"));
  ClientResponse r;
  ASSERT_TRUE(client.Read(&r));
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(client.WaitForClose());
  ExpectStillServing(proxy);
}

TEST_F(ProxyErrorsTest, UpgradeIsRefusedWith501) {
  TestProxy proxy(Config(""));
  TestClient client(proxy.port());
  ClientResponse r =
      client.RoundTrip(Get("ok", "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
  EXPECT_EQ(r.status, 501);
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(healthy_.requests(), 0);
  ExpectStillServing(proxy);
}

}  // namespace
}  // namespace canarymesh::router::testing
