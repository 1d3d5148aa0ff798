#include "router/route_table.h"

#include <gtest/gtest.h>

namespace canarymesh::router {
namespace {

class RouteTableTest : public ::testing::Test {
 protected:
  const ServiceRoute* Add(const std::string& name, std::vector<std::string> hosts,
                          const std::string& prefix = "") {
    ServiceRoute route;
    route.name = name;
    return table_.AddService(std::move(route), hosts, prefix);
  }
  std::string MatchName(std::string_view host, std::string_view target) {
    const ServiceRoute* s = table_.Match(host, target);
    return s ? s->name : "(none)";
  }
  RouteTable table_;
};

TEST_F(RouteTableTest, HostMatchIgnoresCaseAndPort) {
  Add("user", {"User.Local", "user"});
  Add("billing", {"billing.local:8080"});
  EXPECT_EQ(MatchName("user.local", "/"), "user");
  EXPECT_EQ(MatchName("USER.LOCAL:4140", "/x"), "user");
  EXPECT_EQ(MatchName("user", "/"), "user");
  EXPECT_EQ(MatchName("billing.local", "/"), "billing");  // a port in the config is ignored too
  EXPECT_EQ(MatchName("Billing.Local:1", "/"), "billing");
  EXPECT_EQ(MatchName("other.local", "/"), "(none)");
  EXPECT_EQ(MatchName("", "/"), "(none)");
  EXPECT_EQ(MatchName("user.local.evil", "/"), "(none)");
}

TEST_F(RouteTableTest, Ipv6HostKeepsBrackets) {
  Add("v6", {"[::1]"});
  EXPECT_EQ(MatchName("[::1]:4140", "/"), "v6");
  EXPECT_EQ(MatchName("[::1]", "/"), "v6");
}

TEST_F(RouteTableTest, LongestPathPrefixWins) {
  Add("api", {}, "/api");
  Add("api-v2", {}, "/api/v2");
  Add("root-host", {"h"});
  EXPECT_EQ(MatchName("h", "/api/v2/users"), "api-v2");
  EXPECT_EQ(MatchName("h", "/api/v1/users"), "api");
  EXPECT_EQ(MatchName("anything", "/api"), "api");
  EXPECT_EQ(MatchName("h", "/other"), "root-host");
  EXPECT_EQ(MatchName("x", "/other"), "(none)");
}

TEST_F(RouteTableTest, PrefixOrderDoesNotDependOnInsertionOrder) {
  Add("long", {}, "/a/b/c");
  Add("short", {}, "/a");
  Add("mid", {}, "/a/b");
  EXPECT_EQ(MatchName("h", "/a/b/c/d"), "long");
  EXPECT_EQ(MatchName("h", "/a/b/x"), "mid");
  EXPECT_EQ(MatchName("h", "/a/x"), "short");
}

TEST_F(RouteTableTest, PrefixWithHostsNeedsBoth) {
  Add("internal-admin", {"Internal"}, "/admin");
  Add("public", {"public", "internal"});
  EXPECT_EQ(MatchName("internal:80", "/admin/users"), "internal-admin");
  EXPECT_EQ(MatchName("public", "/admin/users"), "public");  // prefix rule does not apply
  EXPECT_EQ(MatchName("internal", "/home"), "public");
}

TEST_F(RouteTableTest, FindServiceByName) {
  Add("a", {"a"});
  Add("b", {"b"});
  ASSERT_NE(table_.FindService("b"), nullptr);
  EXPECT_EQ(table_.FindService("b")->index, 1u);
  EXPECT_EQ(table_.FindService("c"), nullptr);
}

TEST(NormalizeHostTest, LowerCasesAndStripsThePort) {
  char buf[64];
  EXPECT_EQ(NormalizeHost("Example.COM:8080", buf, sizeof(buf)), "example.com");
  EXPECT_EQ(NormalizeHost("example.com", buf, sizeof(buf)), "example.com");
  EXPECT_EQ(NormalizeHost("[2001:DB8::1]:443", buf, sizeof(buf)), "[2001:db8::1]");
  EXPECT_EQ(NormalizeHost("", buf, sizeof(buf)), "");
}

}  // namespace
}  // namespace canarymesh::router
