// The proxy on real sockets, happy paths: forwarding, keep-alive, pipelining, request bodies,
// HEAD, HTTP/1.0 clients and header rewriting in both directions.
#include <gtest/gtest.h>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

std::string OneService(const std::string& host, const std::string& address) {
  return "services:\n  - name: echo\n    hosts: [" + host + "]\n    versions:\n      v1: [\"" +
         address + "\"]\n";
}

class ProxyForwardingTest : public ::testing::Test {
 protected:
  TestBackend backend_{EchoHandler("b1"), "b1"};
  TestProxy proxy_{OneService("echo.local", backend_.address())};
};

TEST_F(ProxyForwardingTest, ForwardsARequestAndItsAnswer) {
  ASSERT_TRUE(proxy_.ok());
  TestClient client(proxy_.port());
  ClientResponse r = client.RoundTrip(Get("echo.local", "/hello?x=1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version(), "HTTP/1.1");
  EXPECT_EQ(r.body, "b1 GET /hello?x=1");
  EXPECT_EQ(r.head.Header("x-backend"), "b1");
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].version(), "HTTP/1.1");
  EXPECT_EQ(seen[0].head.Header("host"), "echo.local");
}

TEST_F(ProxyForwardingTest, KeepAliveReusesOneUpstreamConnection) {
  TestClient client(proxy_.port());
  for (int i = 0; i < 25; ++i) {
    ClientResponse r = client.RoundTrip(Get("Echo.Local:4140", "/n" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.body, "b1 GET /n" + std::to_string(i));
    EXPECT_EQ(r.head.Header("x-connection"), "0");
  }
  EXPECT_EQ(backend_.connections(), 1);
  EXPECT_EQ(backend_.requests(), 25);
  // A second client connection takes the pooled upstream connection too.
  TestClient other(proxy_.port());
  EXPECT_EQ(other.RoundTrip(Get("echo.local")).status, 200);
  EXPECT_EQ(backend_.connections(), 1);
}

TEST_F(ProxyForwardingTest, PipelinedRequestsAreAnsweredInOrder) {
  TestClient client(proxy_.port());
  ASSERT_TRUE(client.Send(Get("echo.local", "/1") + Post("echo.local", "/2", "body-two") +
                          Get("echo.local", "/3")));
  const char* expected[] = {"b1 GET /1", "b1 POST /2", "b1 GET /3"};
  for (const char* body : expected) {
    ClientResponse r;
    ASSERT_TRUE(client.Read(&r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, body);
  }
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].body, "body-two");
  // The connection is still good afterwards.
  EXPECT_EQ(client.RoundTrip(Get("echo.local", "/4")).body, "b1 GET /4");
}

TEST_F(ProxyForwardingTest, PipelinedRequestsBeforeAHalfCloseAreAllAnswered) {
  TestClient client(proxy_.port());
  ASSERT_TRUE(
      client.Send(Get("echo.local", "/1") + Get("echo.local", "/2") + Get("echo.local", "/3")));
  client.ShutdownWrite();  // "printf requests | nc": the client is done sending, not reading
  for (const char* body : {"b1 GET /1", "b1 GET /2", "b1 GET /3"}) {
    ClientResponse r;
    ASSERT_TRUE(client.Read(&r)) << "no answer for " << body;
    EXPECT_EQ(r.body, body);
  }
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ProxyForwardingTest, ChunkedRequestBodyIsForwardedIntact) {
  TestClient client(proxy_.port());
  std::string request =
      "POST /upload HTTP/1.1\r\nHost: echo.local\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=x\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: dropped\r\n\r\n";
  ClientResponse r = client.RoundTrip(request);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.Header("x-body-length"), "11");
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "hello world");
  EXPECT_TRUE(seen[0].head.HasToken("transfer-encoding", "chunked"));
  EXPECT_FALSE(seen[0].head.Has("content-length"));
  EXPECT_EQ(client.RoundTrip(Get("echo.local", "/after")).status, 200);
}

TEST_F(ProxyForwardingTest, LargeRequestBodyIsForwardedIntact) {
  std::string body(4 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  TestClient client(proxy_.port());
  ClientResponse r = client.RoundTrip(Post("echo.local", "/big", body));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.Header("x-body-length"), std::to_string(body.size()));
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].body == body) << "body differs";
}

TEST_F(ProxyForwardingTest, XForwardedForKeepsEarlierHops) {
  TestClient client(proxy_.port());
  client.RoundTrip(Get("echo.local", "/", "X-Forwarded-For: 203.0.113.9\r\n"));
  client.RoundTrip(Get("echo.local", "/"));
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].head.Joined("x-forwarded-for"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(seen[1].head.Joined("x-forwarded-for"), "127.0.0.1");
}

TEST_F(ProxyForwardingTest, HopByHopHeadersDoNotReachTheBackend) {
  TestClient client(proxy_.port());
  ClientResponse r =
      client.RoundTrip(Get("echo.local", "/",
                           "Connection: keep-alive, X-Secret\r\n"
                           "X-Secret: s3cr3t\r\nKeep-Alive: timeout=5\r\n"
                           "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                           "Trailer: X-Sum\r\nX-End-To-End: kept\r\n"));
  EXPECT_EQ(r.status, 200);
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  for (const char* name :
       {"connection", "x-secret", "keep-alive", "proxy-connection", "te", "upgrade", "trailer"}) {
    EXPECT_FALSE(seen[0].head.Has(name)) << name << " reached the backend";
  }
  EXPECT_EQ(seen[0].head.Header("x-end-to-end"), "kept");
}

TEST(ProxyResponseHeadersTest, HopByHopHeadersDoNotReachTheClient) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      conn.Respond(
          200, "ok",
          "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=30\r\nX-Kept: 2\r\n");
    }
  });
  TestProxy proxy(OneService("h", backend.address()));
  TestClient client(proxy.port());
  ClientResponse r = client.RoundTrip(Get("h"));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.head.Has("x-hop"));
  EXPECT_FALSE(r.head.Has("keep-alive"));
  EXPECT_FALSE(r.head.Has("connection"));
  EXPECT_EQ(r.head.Header("x-kept"), "2");
  EXPECT_EQ(r.body, "ok");
}

TEST(ProxyHeadTest, HeadAnswerHasNoBodyAndTheConnectionStaysInSync) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      if (req.method() == "HEAD") {
        conn.Send("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Head: yes\r\n\r\n");
      } else {
        conn.Respond(200, "after-head");
      }
    }
  });
  TestProxy proxy(OneService("h", backend.address()));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send("HEAD /doc HTTP/1.1\r\nHost: h\r\n\r\n"));
  ClientResponse r;
  ASSERT_TRUE(client.Read(&r, /*head_request=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head.Header("content-length"), "1234");
  EXPECT_EQ(r.head.Header("x-head"), "yes");
  // Had the proxy sent body bytes or waited for them, this answer would be garbled or missing.
  ClientResponse next = client.RoundTrip(Get("h", "/next"));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "after-head");
  EXPECT_EQ(backend.connections(), 1);
}

TEST_F(ProxyForwardingTest, Http10ClientWithoutKeepAliveIsClosedAfterTheAnswer) {
  TestClient client(proxy_.port());
  ClientResponse r = client.RoundTrip("GET /old HTTP/1.0\r\nHost: echo.local\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version(), "HTTP/1.0");
  EXPECT_EQ(r.body, "b1 GET /old");
  EXPECT_TRUE(r.head.HasToken("connection", "close"));
  EXPECT_TRUE(client.WaitForClose());
  std::vector<BackendRequest> seen = backend_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].version(), "HTTP/1.1");
}

TEST_F(ProxyForwardingTest, Http10ClientCanAskForKeepAlive) {
  TestClient client(proxy_.port());
  for (int i = 0; i < 3; ++i) {
    ClientResponse r =
        client.RoundTrip("GET /ka HTTP/1.0\r\nHost: echo.local\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.version(), "HTTP/1.0");
    EXPECT_TRUE(r.head.HasToken("connection", "keep-alive"));
  }
}

TEST_F(ProxyForwardingTest, ConnectionCloseFromTheClientIsHonoured) {
  TestClient client(proxy_.port());
  ClientResponse r = client.RoundTrip(Get("echo.local", "/", "Connection: close\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.head.HasToken("connection", "close"));
  EXPECT_TRUE(client.WaitForClose());
  // The upstream connection is not tied to the client's: it stays pooled.
  TestClient again(proxy_.port());
  EXPECT_EQ(again.RoundTrip(Get("echo.local")).status, 200);
  EXPECT_EQ(backend_.connections(), 1);
}

}  // namespace
}  // namespace canarymesh::router::testing
