// The proxy on real sockets: every way a backend can frame its answer (Content-Length, chunked,
// until close, 1xx first, bodiless statuses) and what the client receives, and backends that
// end their side of keep-alive.
#include <gtest/gtest.h>

#include <thread>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

std::string OneService(const std::string& address) {
  return "services:\n  - name: svc\n    hosts: [svc]\n    versions:\n      v1: [\"" + address +
         "\"]\n";
}

TEST(ProxyFramingTest, ChunkedAnswerReachesHttp11ClientChunked) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      conn.Send(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6\r\npedia \r\n"
          "E\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n");
    }
  });
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  for (int i = 0; i < 2; ++i) {
    ClientResponse r = client.RoundTrip(Get("svc"));
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.head.HasToken("transfer-encoding", "chunked"));
    EXPECT_EQ(r.body, "Wikipedia in \r\n\r\nchunks.");
  }
  EXPECT_EQ(backend.connections(), 1);
}

TEST(ProxyFramingTest, CloseDelimitedAnswerIsReframedAndTheClientKeptAlive) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    if (conn.ReadRequest(&req))
      conn.Send("HTTP/1.1 200 OK\r\nX-Framing: close\r\n\r\nuntil the very end");
  });  // returning closes the connection: that ends the body
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  for (int i = 0; i < 3; ++i) {
    ClientResponse r = client.RoundTrip(Get("svc"));
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_TRUE(r.head.HasToken("transfer-encoding", "chunked"));
    EXPECT_EQ(r.body, "until the very end");
  }
  EXPECT_EQ(backend.connections(), 3);  // a close-delimited connection is never reused
}

TEST(ProxyFramingTest, Http10ClientGetsAChunkedAnswerDelimitedByClose) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      conn.Send(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
    }
  });
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  ClientResponse r =
      client.RoundTrip("GET / HTTP/1.0\r\nHost: svc\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version(), "HTTP/1.0");
  EXPECT_FALSE(r.head.Has("transfer-encoding"));
  EXPECT_FALSE(r.head.Has("content-length"));
  EXPECT_TRUE(r.head.HasToken("connection", "close"));
  EXPECT_EQ(r.body, "abcdef");  // read until close
}

TEST(ProxyFramingTest, HundredContinueIsRelayedBeforeTheBody) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadHead(&req)) {
      if (req.head.Header("expect") == "100-continue") conn.Send("HTTP/1.1 100 Continue\r\n\r\n");
      if (!conn.ReadBody(&req)) return;
      conn.Respond(201, "got " + req.body);
    }
  });
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send(
      "PUT /doc HTTP/1.1\r\nHost: svc\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  ClientResponse interim;
  ASSERT_TRUE(client.Read(&interim));
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(client.Send("hello"));
  ClientResponse final_answer;
  ASSERT_TRUE(client.Read(&final_answer));
  EXPECT_EQ(final_answer.status, 201);
  EXPECT_EQ(final_answer.body, "got hello");
  EXPECT_EQ(client.RoundTrip(Get("svc")).body, "got ") << "keep-alive after 100-continue";
}

TEST(ProxyFramingTest, HeadAnsweredAfterAnInterimResponse) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      if (req.method() == "HEAD") {
        conn.Send(
            "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
            "10\r\n\r\n");
      } else {
        conn.Respond(200, "get");
      }
    }
  });
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: svc\r\n\r\n"));
  ClientResponse early, head;
  ASSERT_TRUE(client.Read(&early, true));
  EXPECT_EQ(early.status, 103);
  ASSERT_TRUE(client.Read(&head, true)) << "the answer to HEAD waited for a body that never comes";
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.head.Header("content-length"), "10");
  EXPECT_EQ(client.RoundTrip(Get("svc")).body, "get");
}

TEST(ProxyFramingTest, BodilessStatusesWithContentLength) {
  TestBackend backend([](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      if (req.target() == "/304") {
        conn.Send("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"v1\"\r\n\r\n");
      } else if (req.target() == "/204") {
        conn.Send("HTTP/1.1 204 No Content\r\n\r\n");
      } else {
        conn.Respond(200, "plain");
      }
    }
  });
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  ClientResponse not_modified = client.RoundTrip(Get("svc", "/304", "If-None-Match: \"v1\"\r\n"));
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.head.Header("etag"), "\"v1\"");
  EXPECT_EQ(client.RoundTrip(Get("svc", "/204")).status, 204);
  ClientResponse plain = client.RoundTrip(Get("svc", "/plain"));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "plain");
  EXPECT_EQ(backend.connections(), 1);
}

// A backend that says "Connection: close" (or speaks HTTP/1.0) and closes a moment later must
// not get the next request on that connection: a POST sent there is lost (reset), not retried.
TEST(ProxyFramingTest, UpstreamConnectionCloseIsNotReused) {
  for (const char* answer : {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                             "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"}) {
    TestBackend backend([answer](BackendConnection& conn) {
      BackendRequest req;
      if (!conn.ReadRequest(&req)) return;
      conn.Send(answer);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a lazy close
    });
    TestProxy proxy(OneService(backend.address()));
    TestClient client(proxy.port());
    for (int i = 0; i < 3; ++i) {
      ClientResponse r = client.RoundTrip(Post("svc", "/form", "a=1"));
      EXPECT_EQ(r.status, 200) << answer << " request " << i << ": " << r.body;
    }
    EXPECT_EQ(backend.connections(), 3) << answer;
  }
}

TEST(ProxyFramingTest, ManyClientsAtOnceOverTwoWorkers) {
  TestBackend backend(EchoHandler("b"));
  TestProxy proxy(OneService(backend.address()), /*workers=*/2);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      TestClient client(proxy.port());
      for (int i = 0; i < 20; ++i) {
        std::string target = "/c" + std::to_string(c) + "/" + std::to_string(i);
        ClientResponse r = client.RoundTrip(Get("svc", target));
        if (r.status == 200 && r.body == "b GET " + target) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(backend.requests(), 160);
}

}  // namespace
}  // namespace canarymesh::router::testing
