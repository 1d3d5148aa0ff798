#include "core/net_address.h"

#include <gtest/gtest.h>

namespace canarymesh {
namespace {

TEST(NetAddressTest, ParsesIpv4AndIpv6) {
  auto v4 = ParseNetAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->port, 8080);
  EXPECT_EQ(v4->storage.ss_family, AF_INET);
  EXPECT_EQ(PeerIp(v4->sockaddr_ptr()), "127.0.0.1");
  auto v6 = ParseNetAddress("[::1]:9");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->storage.ss_family, AF_INET6);
  EXPECT_EQ(v6->ToString(), "[::1]:9");
}

TEST(NetAddressTest, RejectsGarbage) {
  EXPECT_FALSE(ParseNetAddress("localhost").ok());
  EXPECT_FALSE(ParseNetAddress(":80").ok());
  EXPECT_FALSE(ParseNetAddress("127.0.0.1:65536").ok());
  EXPECT_FALSE(ParseNetAddress("127.0.0.1:8x").ok());
  EXPECT_FALSE(ParseNetAddress("[::1:80").ok());
}

}  // namespace
}  // namespace canarymesh
