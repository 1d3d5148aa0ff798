// The proxy on real sockets with bodies far larger than its buffers: they must stream (memory
// stays flat) and arrive intact, also when the reader or the writer on the far side is slow.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/router/test_backend.h"
#include "tests/router/test_client.h"
#include "tests/router/test_proxy.h"

namespace canarymesh::router::testing {
namespace {

// Byte `offset` of a deterministic stream in which a dropped, repeated or reordered block shows.
char PatternAt(uint64_t offset) {
  uint64_t word = (offset / 8 + 1) * 0x9E3779B97F4A7C15ull;
  return static_cast<char>(word >> ((offset % 8) * 8));
}

void FillPattern(uint64_t offset, char* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = PatternAt(offset + i);
}

// Checks a stream piece by piece against the pattern.
struct PatternChecker {
  uint64_t received = 0;
  uint64_t mismatches = 0;
  void operator()(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) mismatches += p[i] != PatternAt(received + i);
    received += n;
  }
};

// Writes `total` pattern bytes, as chunks when `chunked`.
bool SendPattern(int fd, uint64_t total, bool chunked) {
  std::string block(64 * 1024, '\0');
  for (uint64_t sent = 0; sent < total;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), total - sent));
    FillPattern(sent, block.data(), n);
    if (chunked) {
      char size[32];
      snprintf(size, sizeof(size), "%zx\r\n", n);
      if (!SendAll(fd, size) || !SendAll(fd, std::string_view(block.data(), n)) ||
          !SendAll(fd, "\r\n"))
        return false;
    } else if (!SendAll(fd, std::string_view(block.data(), n))) {
      return false;
    }
    sent += n;
  }
  return !chunked || SendAll(fd, "0\r\n\r\n");
}

// Answers GET /<bytes>[/chunked] with that many pattern bytes.
BackendHandler PatternServer() {
  return [](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      uint64_t total = std::stoull(req.target().substr(1));
      bool chunked = req.target().find("/chunked") != std::string::npos;
      std::string head =
          chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n";
      if (!conn.Send(head) || !SendPattern(conn.fd(), total, chunked)) return;
    }
  };
}

std::string OneService(const std::string& address, const std::string& top = "") {
  return top + "services:\n  - name: big\n    hosts: [big]\n    versions:\n      v1: [\"" +
         address + "\"]\n";
}

// Many small steps through the proxy's flow control (stop reading one side when the other side's
// buffer passes the high watermark, start again when it drains).
const char* const kSmallBuffers = "limits: {buffer_high_watermark: 4096}\n";

TEST(ProxyStreamingTest, FiftyMegabyteAnswerIsStreamedNotBuffered) {
  const uint64_t kSize = 50ull * 1024 * 1024;
  TestBackend backend(PatternServer());
  TestProxy proxy(OneService(backend.address()));
  TestClient client(proxy.port());
  ASSERT_TRUE(client.Send(Get("big", "/" + std::to_string(kSize))));
  uint64_t rss_before = CurrentRssBytes();
  uint64_t rss_peak = rss_before;
  PatternChecker check;
  ClientResponse r;
  ASSERT_TRUE(client.Read(&r, false, [&](const char* p, size_t n) {
    check(p, n);
    if ((check.received >> 22) != ((check.received - n) >> 22))
      rss_peak = std::max(rss_peak, CurrentRssBytes());
  }));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(check.received, kSize);
  EXPECT_EQ(check.mismatches, 0u);
  // Proxy, backend and client share this process; only buffering the body could add ~50 MB.
  EXPECT_LT(rss_peak - rss_before, kSize / 2)
      << "RSS grew from " << rss_before << " to " << rss_peak;
  EXPECT_EQ(client.RoundTrip(Get("big", "/10")).body_bytes, 10u);
}

TEST(ProxyStreamingTest, SlowReaderGetsEveryByte) {
  const uint64_t kSize = 24ull * 1024 * 1024;
  TestBackend backend(PatternServer());
  TestProxy proxy(OneService(backend.address(), kSmallBuffers));
  for (const char* framing : {"", "/chunked"}) {
    TestClient client(proxy.port(),
                      /*receive_buffer=*/16 * 1024);  // keeps the proxy's writes partial
    ASSERT_TRUE(client.Send(Get("big", "/" + std::to_string(kSize) + framing)));
    PatternChecker check;
    ClientResponse r;
    uint64_t next_pause = 0;
    bool ok = client.Read(&r, false, [&](const char* p, size_t n) {
      check(p, n);
      if (check.received >= next_pause) {  // a reader slower than the backend
        next_pause += 512 * 1024;
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
      }
    });
    EXPECT_TRUE(ok) << framing << ": stalled or cut after " << check.received << " bytes";
    EXPECT_EQ(check.received, kSize) << framing;
    EXPECT_EQ(check.mismatches, 0u) << framing;
  }
}

// The backend starts reading late and then reads in small steps, so the proxy has to stop
// reading the client and start again many times.
TEST(ProxyStreamingTest, LargeUploadToASlowBackendArrivesIntact) {
  const uint64_t kSize = 24ull * 1024 * 1024;
  std::atomic<uint64_t> received{0}, mismatches{0}, rss_peak{0};
  TestBackend backend(
      [&](BackendConnection& conn) {
        BackendRequest req;
        while (conn.ReadHead(&req)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          PatternChecker check;
          uint64_t next_pause = 0;
          bool ok = conn.ReadBody(&req, [&](const char* p, size_t n) {
            check(p, n);
            if ((check.received >> 22) != ((check.received - n) >> 22)) {
              rss_peak = std::max<uint64_t>(rss_peak, CurrentRssBytes());
            }
            if (check.received >= next_pause) {
              next_pause += 256 * 1024;
              std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
          });
          received = check.received;
          mismatches = check.mismatches;
          if (!ok || !conn.Respond(200, std::to_string(check.received))) return;
        }
      },
      "slow-reader", /*receive_buffer=*/16 * 1024);
  TestProxy proxy(OneService(backend.address(), kSmallBuffers));
  for (bool chunked : {false, true}) {
    received = 0;
    rss_peak = CurrentRssBytes();
    uint64_t rss_before = rss_peak;
    TestClient client(proxy.port());
    std::string head = "POST /upload HTTP/1.1\r\nHost: big\r\n" +
                       (chunked ? std::string("Transfer-Encoding: chunked\r\n")
                                : "Content-Length: " + std::to_string(kSize) + "\r\n") +
                       "\r\n";
    std::thread sender([&] { client.Send(head) && SendPattern(client.fd(), kSize, chunked); });
    ClientResponse r;
    bool answered = client.Read(&r);
    sender.join();
    ASSERT_TRUE(answered) << (chunked ? "chunked" : "content-length") << ": stalled after "
                          << received;
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, std::to_string(kSize));
    EXPECT_EQ(mismatches.load(), 0u);
    EXPECT_LT(rss_peak - rss_before, kSize / 2) << "the upload was buffered, not streamed";
  }
}

}  // namespace
}  // namespace canarymesh::router::testing
