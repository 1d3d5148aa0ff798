// TTwitter through the proxy against a server written to Finagle's tracing.thrift, and the
// override carried over two hops by a service that forwards THeader headers.
#include <gtest/gtest.h>
#include <thrift/TApplicationException.h>

#include "router/thrift_counters.h"
#include "tests/router/thrift_test_proxy.h"
#include "tests/router/thrift_test_servers.h"

namespace canarymesh::router::testing {
namespace {

std::string Services(const EchoServer& v1, const EchoServer& v2, const std::string& thrift = "") {
  return "services:\n  - name: echo\n    versions: {v1: [\"" + v1.address() + "\"], v2: [\"" +
         v2.address() + "\"]}\n    route: {weights: {v1: 100, v2: 0}}\n" + thrift;
}

TEST(ThriftTTwitter, HandshakeHeadersAndContextOverride) {
  EchoServer v1("v1", EchoServer::Kind::kTTwitter), v2("v2", EchoServer::Kind::kTTwitter);
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}}, Services(v1, v2));
  ASSERT_TRUE(proxy.ok());
  EchoTestClient plain(proxy.port("thrift"), ClientFormat::kTTwitter);
  EXPECT_EQ(plain.Echo("a"), "v1|a|-");
  EchoTestClient canary(proxy.port("thrift"), ClientFormat::kTTwitter);
  canary.SetHeader("x-canary-version", "echo=v2");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(canary.Echo("b"), "v2|b|echo=v2");
  EXPECT_EQ(proxy.ThriftCounter(&ThriftCounters::ttwitter_upgrades_total), 2u);
  // The proxy upgraded its own upstream connections before calling.
  EXPECT_GE(v1.upgrades(), 1u);
  EXPECT_GE(v2.upgrades(), 1u);
  EXPECT_EQ(proxy.ThriftStats("echo", "v2").requests, 5u);
}

TEST(ThriftTTwitter, DestAndDelegationChooseTheVersionAndBecomeAContext) {
  EchoServer v1("v1", EchoServer::Kind::kTTwitter), v2("v2", EchoServer::Kind::kTTwitter);
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}}, Services(v1, v2));
  ASSERT_TRUE(proxy.ok());
  EchoTestClient by_dest(proxy.port("thrift"), ClientFormat::kTTwitter);
  by_dest.SetTTwitterDestination("/canary/echo/v2", "", "");
  EXPECT_EQ(by_dest.Echo("d"), "v2|d|echo=v2");
  EchoTestClient by_dtab(proxy.port("thrift"), ClientFormat::kTTwitter);
  by_dtab.SetTTwitterDestination("", "/canary/echo", "/srv/echo/v2");
  EXPECT_EQ(by_dtab.Echo("e"), "v2|e|echo=v2");
}

TEST(ThriftTTwitter, THeaderClientToTTwitterUpstreamCarriesTheOverrideAsAContext) {
  EchoServer v1("v1", EchoServer::Kind::kTTwitter), v2("v2", EchoServer::Kind::kTTwitter);
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}},
                        Services(v1, v2, "    thrift: {transport: ttwitter}\n"));
  ASSERT_TRUE(proxy.ok());
  EchoTestClient client(proxy.port("thrift"), ClientFormat::kHeaderBinary);
  EXPECT_EQ(client.Echo("p"), "v1|p|-");
  client.SetHeader("x-canary-version", "echo=v2");
  EXPECT_EQ(client.Echo("q"), "v2|q|echo=v2");
  // A framed binary client (no headers at all) also reaches the TTwitter upstream.
  EchoTestClient framed(proxy.port("thrift"), ClientFormat::kFramedBinary);
  EXPECT_EQ(framed.Echo("r"), "v1|r|-");
}

TEST(ThriftTTwitter, FramedClientToTHeaderUpstream) {
  EchoServer v1("v1"), v2("v2");
  ThriftTestProxy proxy({{"thrift", "protocol: thrift, service: echo"}},
                        Services(v1, v2, "    thrift: {transport: header}\n"));
  ASSERT_TRUE(proxy.ok());
  EchoTestClient client(proxy.port("thrift"), ClientFormat::kFramedCompact);
  EXPECT_EQ(client.Echo("h"), "v1|h|-");
  EchoTestClient buffered(proxy.port("thrift"), ClientFormat::kBufferedBinary);
  EXPECT_EQ(buffered.Echo("i"), "v1|i|-");
}

TEST(ThriftTwoHops, OverrideTravelsThroughAServiceThatForwardsTHeaderHeaders) {
  // client -> proxy:front -> front (forwards headers) -> proxy:echo -> echo v2
  EchoServer v1("v1"), v2("v2");
  // The front service's port is needed before the proxy exists: start it with a placeholder hop
  // and the proxy's echo listener port... simpler: two proxies (one sidecar per hop, as deployed).
  ThriftTestProxy echo_sidecar({{"thrift", "protocol: thrift, service: echo"}}, Services(v1, v2));
  ASSERT_TRUE(echo_sidecar.ok());
  EchoServer front("f1", EchoServer::Kind::kForwarding, echo_sidecar.port("thrift"));
  ThriftTestProxy front_sidecar(
      {{"thrift", "protocol: thrift, service: front"}},
      "services:\n  - name: front\n    versions: {f1: [\"" + front.address() + "\"]}\n");
  ASSERT_TRUE(front_sidecar.ok());
  EchoTestClient client(front_sidecar.port("thrift"), ClientFormat::kHeaderCompact);
  EXPECT_EQ(client.Echo("t"), "f1>v1|t|-");
  client.SetHeader("x-canary-version", "echo=v2");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Echo("t"), "f1>v2|t|echo=v2");
  EXPECT_EQ(v2.calls(), 5u);
}

}  // namespace
}  // namespace canarymesh::router::testing
