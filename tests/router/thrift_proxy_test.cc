// The Thrift proxy end to end in-process: real Apache Thrift 0.17 clients and servers (generated
// from tests/thrift/test.thrift) talking through Thrift listeners on loopback sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thrift/TApplicationException.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "router/thrift_counters.h"
#include "tests/router/test_proxy.h"
#include "tests/router/thrift_test_proxy.h"
#include "tests/router/thrift_test_servers.h"

namespace canarymesh::router::testing {
namespace {

using apache::thrift::TApplicationException;

std::string EchoService(const EchoServer& v1, const EchoServer& v2, const std::string& extra = "") {
  return "services:\n  - name: echo\n    versions: {v1: [\"" + v1.address() + "\"], v2: [\"" +
         v2.address() + "\"]}\n    route: {weights: {v1: 100, v2: 0}}\n" + extra;
}

class ThriftProxyTest : public ::testing::TestWithParam<ClientFormat> {
 protected:
  EchoServer v1_{"v1"};
  EchoServer v2_{"v2"};
  ThriftTestProxy proxy_{{{"thrift", "protocol: thrift, service: echo"},
                          {"edge", "protocol: thrift, service: echo, strip_overrides: true"}},
                         EchoService(v1_, v2_)};
};

TEST_P(ThriftProxyTest, CallsReachTheWeightedVersionInTheClientsFormat) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient client(proxy_.port("thrift"), GetParam());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.Echo("hello" + std::to_string(i)), "v1|hello" + std::to_string(i) + "|-");
  }
  EXPECT_EQ(proxy_.ThriftStats("echo", "v1").requests, 20u);
  EXPECT_EQ(proxy_.ThriftStats("echo", "v2").requests, 0u);
  EXPECT_EQ(v2_.calls(), 0u);
}

TEST_P(ThriftProxyTest, PipelinedCallsAreAnsweredInOrder) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient client(proxy_.port("thrift"), GetParam());
  // The first is slow. Calls that arrive together share an upstream connection (as through a
  // TCP proxy); replies that overtake are covered by ThriftProxyBatching below.
  std::vector<std::string> values = {"sleep:200", "a", "b", "c", "d"};
  auto replies = client.PipelinedEcho(values);
  ASSERT_EQ(replies.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(replies[i], "v1|" + values[i] + "|-");
}

TEST_P(ThriftProxyTest, ApplicationExceptionIsPassedOnAndCountedAsAnError) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient client(proxy_.port("thrift"), GetParam());
  try {
    client.Echo("fail");
    FAIL() << "expected a TApplicationException";
  } catch (const TApplicationException& e) {
    EXPECT_NE(std::string(e.what()).find("failed on purpose"), std::string::npos) << e.what();
  }
  // A declared exception is an answer of the service, not an error of the call.
  EXPECT_THROW(client.Echo("oops"), cmtest::Oops);
  EXPECT_EQ(client.Echo("after"), "v1|after|-");
  auto stats = proxy_.ThriftStats("echo", "v1");
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.errors, 1u);
}

TEST_P(ThriftProxyTest, OnewayCallsArriveWithoutAReply) {
  ASSERT_TRUE(proxy_.ok());
  if (GetParam() == ClientFormat::kTTwitter)
    GTEST_SKIP() << "Finagle's TTwitter has no oneway calls";
  EchoTestClient client(proxy_.port("thrift"), GetParam());
  for (int i = 0; i < 5; ++i) client.Ping(i);
  // A normal call after the oneway ones: its reply must be its own, not a stray one.
  EXPECT_EQ(client.Echo("x"), "v1|x|-");
  EXPECT_TRUE(WaitUntil([&] { return v1_.pings() == 5; }));
  EXPECT_EQ(proxy_.ThriftCounter(&ThriftCounters::oneway_total), 5u);
}

INSTANTIATE_TEST_SUITE_P(Formats, ThriftProxyTest,
                         ::testing::Values(ClientFormat::kFramedBinary,
                                           ClientFormat::kBufferedBinary,
                                           ClientFormat::kFramedCompact,
                                           ClientFormat::kHeaderCompact,
                                           ClientFormat::kHeaderBinary),
                         [](const auto& info) { return ClientFormatName(info.param); });

class ThriftOverrideTest : public ::testing::Test {
 protected:
  EchoServer v1_{"v1"};
  EchoServer v2_{"v2"};
  ThriftTestProxy proxy_{{{"thrift", "protocol: thrift, service: echo"},
                          {"edge", "protocol: thrift, service: echo, strip_overrides: true"}},
                         EchoService(v1_, v2_)};
};

TEST_F(ThriftOverrideTest, THeaderOverrideReachesExactlyTheNamedVersionAndTravelsOn) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient with(proxy_.port("thrift"), ClientFormat::kHeaderCompact);
  with.SetHeader("x-canary-version", "other=v9,echo=v2");
  EchoTestClient without(proxy_.port("thrift"), ClientFormat::kHeaderCompact);
  for (int i = 0; i < 10; ++i) {
    // The upstream sees the override as the client sent it: it travels on to the next hop.
    EXPECT_EQ(with.Echo("t"), "v2|t|other=v9,echo=v2");
    EXPECT_EQ(without.Echo("t"), "v1|t|-");
  }
  EXPECT_EQ(v2_.calls(), 10u);
  EXPECT_EQ(proxy_.ThriftStats("echo", "v2").requests, 10u);
}

TEST_F(ThriftOverrideTest, OverrideForAVersionWithoutInstancesIsAnApplicationException) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient client(proxy_.port("thrift"), ClientFormat::kHeaderBinary);
  client.SetHeader("x-canary-version", "echo=v7");
  try {
    client.Echo("t");
    FAIL() << "expected a TApplicationException";
  } catch (const TApplicationException& e) {
    EXPECT_EQ(e.getType(), TApplicationException::INTERNAL_ERROR);
    EXPECT_NE(std::string(e.what()).find("v7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(proxy_.ThriftStats("echo", "none").errors, 1u);
  client.SetHeader("x-canary-version", "echo=");  // malformed
  EXPECT_THROW(client.Echo("t"), TApplicationException);
}

TEST_F(ThriftOverrideTest, ListenerThatStripsOverridesIgnoresAndBlanksThem) {
  ASSERT_TRUE(proxy_.ok());
  EchoTestClient client(proxy_.port("edge"), ClientFormat::kHeaderCompact);
  client.SetHeader("x-canary-version", "echo=v2");
  EXPECT_EQ(client.Echo("t"), "v1|t|");
  EXPECT_EQ(v2_.calls(), 0u);
}

TEST_F(ThriftOverrideTest, ManyClientsShareUpstreamConnectionsWithSeqIdsKeptStraight) {
  ASSERT_TRUE(proxy_.ok());
  constexpr int kClients = 24;
  constexpr int kCalls = 60;
  std::atomic<int> wrong{0}, failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      try {
        ClientFormat format = c % 3 == 0   ? ClientFormat::kFramedBinary
                              : c % 3 == 1 ? ClientFormat::kHeaderCompact
                                           : ClientFormat::kBufferedBinary;
        EchoTestClient client(proxy_.port("thrift"), format);
        bool canary =
            format == ClientFormat::kHeaderCompact && c % 2 == 0;  // only THeader carries it
        if (canary) client.SetHeader("x-canary-version", "echo=v2");
        for (int i = 0; i < kCalls; i += 3) {
          std::vector<std::string> values;
          for (int k = 0; k < 3; ++k)
            values.push_back("c" + std::to_string(c) + "-" + std::to_string(i + k));
          auto replies = client.PipelinedEcho(values);
          for (size_t k = 0; k < values.size(); ++k) {
            std::string prefix = canary ? "v2|" : "v1|";
            if (replies[k].rfind(prefix + values[k] + "|", 0) != 0) ++wrong;
          }
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(proxy_.ThriftStats("echo", "v1").requests + proxy_.ThriftStats("echo", "v2").requests,
            uint64_t{kClients} * kCalls);
}

TEST_F(ThriftOverrideTest, ClientThatLeavesWithCallsInFlightDoesNotDisturbOthers) {
  ASSERT_TRUE(proxy_.ok());
  // Three calls, then gone before the (slow) replies come: they must be dropped safely.
  int leaver = ConnectRaw(proxy_.port("thrift"));
  ASSERT_GE(leaver, 0);
  std::string calls = EncodeFramedEchoCall("sleep:300", 1) + EncodeFramedEchoCall("sleep:300", 2) +
                      EncodeFramedEchoCall("sleep:300", 3);
  ASSERT_EQ(write(leaver, calls.data(), calls.size()), static_cast<ssize_t>(calls.size()));
  EXPECT_TRUE(WaitUntil([&] { return v1_.calls() >= 3; }));
  close(leaver);
  EchoTestClient stayer(proxy_.port("thrift"), ClientFormat::kFramedBinary);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(stayer.Echo("s" + std::to_string(i)), "v1|s" + std::to_string(i) + "|-");
  EXPECT_TRUE(WaitUntil([&] { return proxy_.ActiveRequests() == 0; }));
  EXPECT_TRUE(WaitUntil([&] { return proxy_.ThriftStats("echo", "v1").requests == 13; }));
}

class ThriftBadInputTest : public ::testing::Test {
 protected:
  // A well-behaved client keeps working while others send garbage.
  void ExpectClosedWith(const std::string& bytes, ThriftProtocolError reason,
                        bool half_close = false) {
    uint64_t before = proxy_.ProtocolErrors("thrift", reason);
    int fd = ConnectRaw(proxy_.port("thrift"));
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    if (half_close) shutdown(fd, SHUT_WR);
    EXPECT_EQ(ReadUntilClosed(fd), "");
    close(fd);
    EXPECT_TRUE(WaitUntil([&] { return proxy_.ProtocolErrors("thrift", reason) == before + 1; }))
        << ThriftProtocolErrorName(reason);
    EXPECT_EQ(good_.Echo("still"), "v1|still|-");
  }
  EchoServer v1_{"v1"};
  ThriftTestProxy proxy_{
      {{"thrift", "protocol: thrift, service: echo, max_frame_bytes: 4096"}},
      "services:\n  - name: echo\n    versions: {v1: [\"" + v1_.address() + "\"]}\n"};
  EchoTestClient good_{proxy_.port("thrift"), ClientFormat::kFramedBinary};
};

TEST_F(ThriftBadInputTest, GarbageIsAnUnknownProtocol) {
  ExpectClosedWith("GET / HTTP/1.1\r\nHost: x\r\n\r\n", ThriftProtocolError::kUnknownProtocol);
}

TEST_F(ThriftBadInputTest, FrameOverTheLimitIsRefusedBeforeItArrives) {
  std::string call = EncodeFramedEchoCall(std::string(8000, 'x'), 1);
  ExpectClosedWith(call.substr(0, 100), ThriftProtocolError::kFrameTooLarge);
}

TEST_F(ThriftBadInputTest, ConnectionClosedMidMessageIsTruncated) {
  std::string call = EncodeFramedEchoCall("hello", 1);
  ExpectClosedWith(call.substr(0, call.size() - 3), ThriftProtocolError::kTruncated, true);
}

TEST_F(ThriftBadInputTest, BadFieldTypeInAnUnframedCallIsMalformed) {
  std::string call = EncodeFramedEchoCall("hello", 1).substr(4);  // unframed strict binary
  size_t field = call.find("hello") - 7;                          // the field header: type, id
  call[field] = 99;
  ExpectClosedWith(call, ThriftProtocolError::kMalformed);
}

TEST(ThriftProxyFailures, DeadUpstreamGivesAnApplicationExceptionAndAnError) {
  EchoServer v1("v1");
  std::string dead = "127.0.0.1:1";
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}},
                        "services:\n  - name: echo\n    versions: {v1: [\"" + dead + "\"]}\n");
  ASSERT_TRUE(proxy.ok());
  EchoTestClient client(proxy.port("thrift"), ClientFormat::kFramedBinary);
  try {
    client.Echo("x");
    FAIL() << "expected a TApplicationException";
  } catch (const TApplicationException& e) {
    EXPECT_EQ(e.getType(), TApplicationException::INTERNAL_ERROR);
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
  EXPECT_EQ(proxy.ThriftStats("echo", "v1").errors, 1u);
}

TEST(ThriftProxyFailures, SlowUpstreamTimesOutWithAnApplicationException) {
  EchoServer v1("v1");
  ThriftTestProxy proxy(
      {{"thrift", "protocol: thrift, service: echo"}},
      "timeouts: {request_ms: 200}\nservices:\n  - name: echo\n    versions: {v1: [\"" +
          v1.address() + "\"]}\n");
  ASSERT_TRUE(proxy.ok());
  EchoTestClient client(proxy.port("thrift"), ClientFormat::kHeaderCompact);
  try {
    client.Echo("sleep:1500");
    FAIL() << "expected a TApplicationException";
  } catch (const TApplicationException& e) {
    EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
  }
  // The late reply is dropped; the connection still works.
  EXPECT_EQ(client.Echo("next"), "v1|next|-");
  EXPECT_EQ(proxy.ThriftStats("echo", "v1").errors, 1u);
}

// Reads `n` framed strict-binary replies from a raw connection; their seqids in arrival order.
std::vector<int32_t> ReadFramedSeqIds(int fd, size_t n) {
  auto be32 = [](const char* p) {
    auto* u = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
  };
  std::vector<int32_t> seqids;
  std::string in;
  char buf[4096];
  while (seqids.size() < n) {
    while (in.size() >= 4 && in.size() >= 4 + be32(in.data())) {
      const char* message = in.data() + 4;  // version|type, name length, name, seqid
      seqids.push_back(static_cast<int32_t>(be32(message + 8 + be32(message + 4))));
      in.erase(0, 4 + be32(in.data()));
    }
    if (seqids.size() >= n) break;
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    in.append(buf, static_cast<size_t>(r));
  }
  return seqids;
}

std::string OneVersionEcho(const EchoServer& v1) {
  return "services:\n  - name: echo\n    versions: {v1: [\"" + v1.address() + "\"]}\n";
}

int ConnectWithReadTimeout(uint16_t port) {
  int fd = ConnectRaw(port);
  timeval tv{10, 0};  // a safety net against a hang, not a measurement
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

TEST(ThriftProxyBatching, CallsAClientSendsTogetherGoUpstreamTogether) {
  EchoServer v1("v1");
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}}, OneVersionEcho(v1));
  ASSERT_TRUE(proxy.ok());
  int fd = ConnectWithReadTimeout(proxy.port("thrift"));
  ASSERT_GE(fd, 0);
  std::string calls;
  for (int32_t seqid = 1; seqid <= 4; ++seqid)
    calls += EncodeFramedEchoCall("b" + std::to_string(seqid), seqid);
  ASSERT_EQ(write(fd, calls.data(), calls.size()), static_cast<ssize_t>(calls.size()));
  EXPECT_EQ(ReadFramedSeqIds(fd, 4), (std::vector<int32_t>{1, 2, 3, 4}));
  close(fd);
  // One upstream connection carried the four, in one write, as through a TCP proxy; not one
  // connection (and one write and one read) per call.
  EXPECT_EQ(proxy.RouterCounter(&RouterCounters::upstream_connections_total), 1u);
  EXPECT_EQ(v1.calls(), 4u);
}

TEST(ThriftProxyBatching, CallsSentWhileAnEarlierOneIsSlowOvertakeItUpstreamButAreAnsweredInOrder) {
  EchoServer v1("v1");  // TThreadedServer: one connection's calls one at a time
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}}, OneVersionEcho(v1));
  ASSERT_TRUE(proxy.ok());
  int fd = ConnectWithReadTimeout(proxy.port("thrift"));
  ASSERT_GE(fd, 0);
  std::string slow = EncodeFramedEchoCall("sleep:1500", 1);
  ASSERT_EQ(write(fd, slow.data(), slow.size()), static_cast<ssize_t>(slow.size()));
  ASSERT_TRUE(WaitUntil([&] { return v1.calls() >= 1; }));
  std::string fast;
  for (int32_t seqid = 2; seqid <= 4; ++seqid)
    fast += EncodeFramedEchoCall("f" + std::to_string(seqid), seqid);
  ASSERT_EQ(write(fd, fast.data(), fast.size()), static_cast<ssize_t>(fast.size()));
  // The later calls reach the server while the first still sleeps (another upstream
  // connection), and their replies wait for the first one's.
  ASSERT_TRUE(WaitUntil([&] { return v1.calls() >= 4; }));
  pollfd readable{fd, POLLIN, 0};
  EXPECT_EQ(poll(&readable, 1, 0), 0) << "a reply overtook the slow first call";
  EXPECT_EQ(ReadFramedSeqIds(fd, 4), (std::vector<int32_t>{1, 2, 3, 4}));
  close(fd);
  EXPECT_EQ(proxy.RouterCounter(&RouterCounters::upstream_connections_total), 2u);
}

TEST(ThriftProxyMethods, MethodPinSendsThatMethodToItsVersion) {
  EchoServer v1("v1"), v2("v2");
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}},
                        EchoService(v1, v2, "    thrift: {method_versions: {nothing: v2}}\n"));
  ASSERT_TRUE(proxy.ok());
  EchoTestClient client(proxy.port("thrift"), ClientFormat::kFramedBinary);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.Echo("a"), "v1|a|-");
    client.Nothing();
  }
  EXPECT_EQ(v1.calls(), 5u);
  EXPECT_EQ(v2.calls(), 5u);  // only nothing() calls
  EXPECT_EQ(proxy.ThriftStats("echo", "v2").requests, 5u);
}

}  // namespace
}  // namespace canarymesh::router::testing

namespace canarymesh::router::testing {
namespace {

TEST(ThriftConfig, ListenerAndServiceFieldsAreChecked) {
  const std::string services = "services:\n  - name: echo\n    versions: {v1: [\"127.0.0.1:1\"]}\n";
  auto ok = ParseProxyConfig(
      "listeners:\n  - {listen: \"127.0.0.1:1\", protocol: thrift, service: echo}\n" + services,
      "t.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->listeners[0].max_frame_bytes, 16u << 20);
  ASSERT_TRUE(ok->services[0].thrift.has_value());  // implied by the listener
  EXPECT_EQ(ok->services[0].thrift->transport, "same");

  auto no_service = ParseProxyConfig(
      "listeners:\n  - {listen: \"127.0.0.1:1\", protocol: thrift}\n" + services, "t.yaml");
  ASSERT_FALSE(no_service.ok());
  EXPECT_NE(no_service.status().message().find("listeners[0].service"), std::string::npos);
  auto unknown = ParseProxyConfig(
      "listeners:\n  - {listen: \"127.0.0.1:1\", protocol: thrift, service: nope}\n" + services,
      "t.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no service named 'nope'"), std::string::npos);
  auto bad_transport = ParseProxyConfig("listeners:\n  - {listen: \"127.0.0.1:1\"}\n" + services +
                                            "    thrift: {transport: carrier-pigeon}\n",
                                        "t.yaml");
  ASSERT_FALSE(bad_transport.ok());
  EXPECT_NE(bad_transport.status().message().find("services[0].thrift.transport"),
            std::string::npos);
  auto http_with_service = ParseProxyConfig(
      "listeners:\n  - {listen: \"127.0.0.1:1\", service: echo}\n" + services, "t.yaml");
  EXPECT_FALSE(http_with_service.ok());
}

}  // namespace
}  // namespace canarymesh::router::testing

namespace canarymesh::router::testing {
namespace {

std::string Post(uint16_t port, const std::string& path, const std::string& body,
                 const std::string& extra = "") {
  int fd = ConnectRaw(port);
  std::string request =
      "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-thrift\r\n" + extra +
      "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response = ReadUntilClosed(fd);
  close(fd);
  return response;
}

TEST(ThriftOverHttp, PostedCallReachesTheOverriddenVersionAndBadBodiesAre400) {
  EchoServer v1("v1"), v2("v2");
  ThriftTestProxy proxy({{"http", ""}},
                        EchoService(v1, v2, "    thrift: {http_path: /thrift/echo}\n"));
  ASSERT_TRUE(proxy.ok());
  std::string call =
      EncodeFramedEchoCall("over-http", 5).substr(4);  // THttpClient: unframed binary
  std::string plain = Post(proxy.port("http"), "/thrift/echo", call);
  EXPECT_NE(plain.find("200 OK"), std::string::npos) << plain;
  EXPECT_NE(plain.find("application/x-thrift"), std::string::npos) << plain;
  EXPECT_NE(plain.find("v1|over-http|-"), std::string::npos) << plain;
  std::string canary =
      Post(proxy.port("http"), "/thrift/echo?x=1", call, "x-canary-version: echo=v2\r\n");
  EXPECT_NE(canary.find("v2|over-http|-"), std::string::npos)
      << canary;  // buffered upstream: no header
  EXPECT_EQ(proxy.ThriftStats("echo", "v2").requests, 1u);
  std::string garbage = Post(proxy.port("http"), "/thrift/echo", "this is not thrift");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  std::string two_calls = Post(proxy.port("http"), "/thrift/echo", call + call);
  EXPECT_NE(two_calls.find("400"), std::string::npos) << two_calls;
}

}  // namespace
}  // namespace canarymesh::router::testing
