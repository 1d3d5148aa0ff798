#include <gtest/gtest.h>

#include "scheduler-bridge/http/http_url.h"

namespace canarymesh::bridge {
namespace {

TEST(HttpUrlTest, ParsesSchemeHostPortAndBasePath) {
  auto url = ParseHttpUrl("https://Marathon.example:8443/marathon/");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_TRUE(url->tls());
  EXPECT_EQ(url->host, "Marathon.example");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->base_path, "/marathon");
  EXPECT_EQ(url->HostHeader(), "Marathon.example:8443");
}

TEST(HttpUrlTest, DefaultsPortsAndLeavesThemOutOfHostHeader) {
  auto http = ParseHttpUrl("http://marathon.mesos");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->HostHeader(), "marathon.mesos");
  auto https = ParseHttpUrl("HTTPS://10.0.0.1");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->port, 443);
  EXPECT_TRUE(https->host_is_ip_literal());
}

TEST(HttpUrlTest, BracketsIpv6) {
  auto url = ParseHttpUrl("https://[fd00::1]:6443");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(url->host, "fd00::1");
  EXPECT_TRUE(url->host_is_ip_literal());
  EXPECT_EQ(url->HostHeader(), "[fd00::1]:6443");
}

TEST(HttpUrlTest, RejectsWhatItCannotUse) {
  for (const char* bad : {"", "marathon:8080", "ftp://x", "http://", "http://:80", "http://h:0",
                          "http://h:65536", "http://h:8x", "http://u:p@h", "http://h/a?b",
                          "http://[::1", "http://[zz]:1", "http://h h"}) {
    auto url = ParseHttpUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(HttpUrlTest, PercentEncodesSelectorValues) {
  EXPECT_EQ(PercentEncode("app=user,version=v2"), "app%3Duser%2Cversion%3Dv2");
  EXPECT_EQ(PercentEncode("a-b_c.d~"), "a-b_c.d~");
  EXPECT_EQ(PercentEncode("/ ü"), "%2F%20%C3%BC");
}

}  // namespace
}  // namespace canarymesh::bridge
