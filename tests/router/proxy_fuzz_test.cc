// Robustness on real sockets: thousands of garbage, truncated and mutated requests from a seeded
// PRNG. Every connection must be answered or closed (none left hanging once the client is done
// sending), and the proxy must still serve a valid request at the end. The codec itself is
// fuzzed on plain bytes in tests/fuzz/; this exercises the connection state machine around it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

const char* const kValid[] = {
    "GET /a?b=c HTTP/1.1\r\nHost: fuzz\r\nAccept: */*\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 11\r\n\r\nhello world",
    "POST /c HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: "
    "chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
    "GET /1 HTTP/1.1\r\nHost: fuzz\r\n\r\nGET /2 HTTP/1.1\r\nHost: fuzz\r\nConnection: "
    "close\r\n\r\n",
    "GET /old HTTP/1.0\r\nHost: fuzz\r\n\r\n",
    "HEAD /h HTTP/1.1\r\nHost: fuzz\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: fuzz\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: fuzz\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",
};

const char* const kTokens[] = {"GET ",
                               "POST ",
                               "/",
                               " HTTP/1.1",
                               " HTTP/1.0",
                               "\r\n",
                               "\r\n\r\n",
                               ": ",
                               "Host",
                               "fuzz",
                               "Content-Length",
                               "Transfer-Encoding",
                               "chunked",
                               "0",
                               "1",
                               "ff",
                               "-1",
                               "99999999999999999999",
                               "Connection",
                               "close",
                               "keep-alive",
                               "Upgrade",
                               " ",
                               "\t",
                               "\n",
                               ";",
                               "\0",
                               "\xff",
                               "Expect",
                               "100-continue"};

class ProxyFuzzTest : public ::testing::Test {
 protected:
  std::string RandomBytes(size_t max_len) {
    std::string s(rng_() % max_len + 1, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::string RandomTokens() {
    std::string s;
    size_t n = rng_() % 40 + 1;
    for (size_t i = 0; i < n; ++i) {
      const char* t = kTokens[rng_() % std::size(kTokens)];
      s.append(t, t[0] == '\0' ? 1 : std::strlen(t));
    }
    return s;
  }
  std::string Truncated() {
    std::string s = kValid[rng_() % std::size(kValid)];
    return s.substr(0, rng_() % s.size());
  }
  std::string Mutated() {
    std::string s = kValid[rng_() % std::size(kValid)];
    size_t edits = rng_() % 4 + 1;
    for (size_t i = 0; i < edits && !s.empty(); ++i) {
      size_t at = rng_() % s.size();
      switch (rng_() % 4) {
        case 0:
          s[at] = static_cast<char>(rng_());
          break;
        case 1:
          s.erase(at, rng_() % 8 + 1);
          break;
        case 2:
          s.insert(at, std::string(rng_() % 8 + 1, static_cast<char>(rng_())));
          break;
        case 3:
          s.insert(at, s.substr(rng_() % s.size(), rng_() % 32));
          break;
      }
    }
    return s;
  }

  void ExpectServesValidRequest(int iteration) {
    TestClient client(proxy_.port());
    ClientResponse r = client.RoundTrip(Get("fuzz", "/check"));
    EXPECT_EQ(r.status, 200) << "after iteration " << iteration;
    EXPECT_EQ(r.body, "echo GET /check") << "after iteration " << iteration;
  }

  std::mt19937_64 rng_{20240611};
  TestBackend backend_{EchoHandler("echo"), "echo"};
  TestProxy proxy_{
      "timeouts: {header_read_ms: 1000}\nservices:\n  - name: fuzz\n    hosts: [fuzz]\n    "
      "versions:\n"
      "      v1: [\"" +
          backend_.address() + "\"]\n",
      /*workers=*/2};
};

TEST_F(ProxyFuzzTest, GarbageTruncatedAndMutatedRequestsNeverWedgeTheProxy) {
  ASSERT_TRUE(proxy_.ok());
  const int kIterations = 3000;
  int hanging = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string input;
    switch (i % 4) {
      case 0:
        input = RandomBytes(rng_() % 4 == 0 ? 20000 : 300);
        break;
      case 1:
        input = RandomTokens();
        break;
      case 2:
        input = Truncated();
        break;
      case 3:
        input = Mutated();
        break;
    }
    TestClient client(proxy_.port());
    ASSERT_TRUE(client.connected()) << "iteration " << i;
    client.Send(input);  // may fail: the proxy can answer and close before it has read it all
    if (rng_() % 8 == 0) {
      client.Reset();  // the client vanishes
    } else {
      client.ShutdownWrite();
      if (!client.WaitForClose(10'000)) {
        ++hanging;
        ADD_FAILURE() << "iteration " << i
                      << ": connection not closed after the client finished; input:\n"
                      << ::testing::PrintToString(input);
      }
    }
    if (i % 250 == 0) ExpectServesValidRequest(i);
    if (hanging > 3) break;
  }
  ExpectServesValidRequest(kIterations);
  EXPECT_GE(proxy_.Counter(&RouterCounters::downstream_connections_total),
            static_cast<uint64_t>(kIterations));
  EXPECT_TRUE(WaitUntil([&] { return proxy_.ActiveRequests() == 0; })) << proxy_.ActiveRequests();
  EXPECT_TRUE(WaitUntil([&] {
    return proxy_.Counter(&RouterCounters::downstream_connections_active) == 0;
  })) << "client connections leaked: "
      << proxy_.Counter(&RouterCounters::downstream_connections_active);
  EXPECT_GT(proxy_.Counter(&RouterCounters::local_400), 100u);  // the garbage was seen as garbage
  EXPECT_GT(backend_.requests(), 100);                          // and some mutants were still valid
}

// Pipelined valid and broken requests mixed on one connection, in random-size writes.
TEST_F(ProxyFuzzTest, RandomlySplitPipelinesAreAnsweredInOrder) {
  for (int round = 0; round < 50; ++round) {
    std::string all;
    int n = static_cast<int>(rng_() % 5) + 1;
    for (int k = 0; k < n; ++k)
      all += Get("fuzz", "/r" + std::to_string(round) + "-" + std::to_string(k));
    TestClient client(proxy_.port());
    for (size_t at = 0; at < all.size();) {
      size_t len = std::min<size_t>(all.size() - at, rng_() % 50 + 1);
      ASSERT_TRUE(client.Send(std::string_view(all).substr(at, len)));
      at += len;
    }
    for (int k = 0; k < n; ++k) {
      ClientResponse r;
      ASSERT_TRUE(client.Read(&r)) << "round " << round << " response " << k;
      EXPECT_EQ(r.body, "echo GET /r" + std::to_string(round) + "-" + std::to_string(k));
    }
  }
}

}  // namespace
}  // namespace canarymesh::router::testing
