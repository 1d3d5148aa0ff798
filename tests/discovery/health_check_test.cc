#include "discovery/health_check.h"

#include <gtest/gtest.h>

#include "tests/discovery/local_health_server.h"

namespace canarymesh {
namespace {

using testing::LocalHealthServer;

HealthCheckConfig Http(uint16_t port, const std::string& path = "/health") {
  HealthCheckConfig check;
  check.kind = HealthCheckConfig::Kind::kHttp;
  check.port = port;
  check.http_path = path;
  return check;
}

TEST(HealthCheckTest, HttpPassesOn2xxAndFailsOtherwise) {
  LocalHealthServer server;
  ASSERT_TRUE(server.ok());
  EXPECT_TRUE(RunHealthCheck(Http(server.port(), "/ready")).ok());
  EXPECT_EQ(server.last_request_line(), "GET /ready HTTP/1.1");
  server.set_status(204);
  EXPECT_TRUE(RunHealthCheck(Http(server.port())).ok());
  server.set_status(503);
  Status failed = RunHealthCheck(Http(server.port()));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("status 503"), std::string::npos) << failed.message();
  server.set_status(301);
  EXPECT_FALSE(RunHealthCheck(Http(server.port())).ok());
}

TEST(HealthCheckTest, TcpPassesWhileSomethingListens) {
  uint16_t port;
  {
    LocalHealthServer server;
    ASSERT_TRUE(server.ok());
    port = server.port();
    HealthCheckConfig check;
    check.kind = HealthCheckConfig::Kind::kTcp;
    check.port = port;
    EXPECT_TRUE(RunHealthCheck(check).ok());
  }
  HealthCheckConfig check;
  check.port = port;  // nothing listens any more
  Status refused = RunHealthCheck(check);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("connect 127.0.0.1:"), std::string::npos) << refused.message();
}

TEST(HealthCheckTest, BadConfigIsRejected) {
  HealthCheckConfig no_port;
  EXPECT_FALSE(ValidateHealthCheck(no_port).ok());
  EXPECT_FALSE(RunHealthCheck(no_port).ok());
  EXPECT_FALSE(ValidateHealthCheck(Http(80, "health")).ok());
  EXPECT_FALSE(ValidateHealthCheck(Http(80, "/a b")).ok());
  EXPECT_TRUE(ValidateHealthCheck(Http(80, "/ok")).ok());
}

}  // namespace
}  // namespace canarymesh
