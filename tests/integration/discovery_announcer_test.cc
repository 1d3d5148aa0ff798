// Announcer against a real ZooKeeper server and a real local health endpoint.
#include <gtest/gtest.h>

#include "discovery/announcer.h"
#include "discovery/serverset_member.h"
#include "discovery/serverset_watcher.h"
#include "discovery/zk_ops.h"
#include "discovery/zk_session.h"
#include "tests/discovery/local_health_server.h"
#include "tests/discovery/recording_listener.h"
#include "tests/integration/zk_server.h"

namespace canarymesh {
namespace {

using namespace std::chrono_literals;
using testing::LocalHealthServer;
using testing::WaitUntil;

class AnnouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(health_.ok());
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    reader_ = Connect();
    session_ = Connect();
    ASSERT_TRUE(reader_ && session_);
  }

  std::unique_ptr<ZkSession> Connect() {
    auto session = ZkSession::Create(server_.client_config());
    if (!session.ok() || !session.value()->WaitConnected(30s)) return nullptr;
    return std::move(session.value());
  }

  AnnouncerOptions Options(HealthCheckConfig::Kind kind = HealthCheckConfig::Kind::kHttp) {
    AnnouncerOptions options;
    options.path = "/discovery/user";
    options.member.service_endpoint = {"10.0.0.3", 9090};
    options.member.additional_endpoints["http"] = {"10.0.0.3", 8080};
    options.member.shard = 2;
    options.member.metadata["version"] = "v2";
    options.health_check.kind = kind;
    options.health_check.port = health_.port();
    options.health_check.http_path = "/health";
    options.check_interval = 100ms;
    // Generous: on a loaded CI machine a 1 s check can time out, and with fall = 1 that would be
    // a real (but unwanted here) withdrawal that breaks the exact counts below.
    options.health_check.timeout = 5000ms;
    options.rise = 1;
    options.fall = 1;
    return options;
  }

  // The members under /discovery/user as ZooKeeper has them now.
  std::vector<std::string> Members() {
    auto children = ZkGetChildren(*reader_, "/discovery/user", false);
    return children.ok() ? children.value() : std::vector<std::string>{};
  }

  LocalHealthServer health_;
  testing::ZkServer server_;
  std::unique_ptr<ZkSession> reader_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<Announcer> announcer_;
};

TEST_F(AnnouncerTest, AnnouncesProperServerSetJsonWhileHealthyAndWithdrawsOnStop) {
  announcer_ = std::make_unique<Announcer>(*session_, Options());
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  std::string path = announcer_->Stats().member_path;
  EXPECT_EQ(path, "/discovery/user/" + Members()[0]);
  EXPECT_EQ(Members()[0].rfind("member_", 0), 0u);

  auto data = ZkGetData(*reader_, path, false);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->ephemeral_owner, session_->session_id());
  auto member = ParseServerSetMember(data->data);
  ASSERT_TRUE(member.ok()) << member.status().message() << " in " << data->data;
  EXPECT_EQ(member->service_endpoint, (ServerSetEndpoint{"10.0.0.3", 9090}));
  EXPECT_EQ(member->additional_endpoints.at("http"), (ServerSetEndpoint{"10.0.0.3", 8080}));
  EXPECT_EQ(member->status, MemberStatus::kAlive);
  EXPECT_EQ(member->shard, 2);
  EXPECT_EQ(member->metadata.at("version"), "v2");
  EXPECT_EQ(health_.last_request_line(), "GET /health HTTP/1.1");

  Status stopped = announcer_->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.message();
  // Deleted before Stop() returned: no waiting here.
  EXPECT_TRUE(Members().empty());
  EXPECT_FALSE(announcer_->Stats().announced);
}

TEST_F(AnnouncerTest, MemberExistsOnlyWhileTheHealthCheckPasses) {
  health_.set_status(503);
  announcer_ = std::make_unique<Announcer>(*session_, Options());
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().failed_checks >= 3; }));
  EXPECT_TRUE(Members().empty());
  EXPECT_NE(announcer_->Stats().last_check_error.find("status 503"), std::string::npos);

  health_.set_status(200);
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  std::string first = Members()[0];

  health_.set_status(500);
  ASSERT_TRUE(WaitUntil([&] { return Members().empty(); }));
  // The counter moves just after the delete returns, so another session may see the member
  // gone a moment before it does.
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().withdrawals >= 1; }));
  EXPECT_EQ(announcer_->Stats().withdrawals, 1u);

  health_.set_status(200);
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  EXPECT_NE(Members()[0], first);  // a new sequential member
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().announcements >= 2; }));
  EXPECT_EQ(announcer_->Stats().announcements, 2u);
}

TEST_F(AnnouncerTest, FallThresholdToleratesASingleFailedCheck) {
  AnnouncerOptions options = Options();
  options.fall = 1000;  // effectively never withdraw
  announcer_ = std::make_unique<Announcer>(*session_, options);
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  health_.set_status(503);
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().failed_checks >= 3; }));
  EXPECT_EQ(Members().size(), 1u);
  EXPECT_TRUE(announcer_->Stats().healthy);
}

TEST_F(AnnouncerTest, TcpCheckFollowsTheListeningSocket) {
  auto tcp = std::make_unique<LocalHealthServer>();
  AnnouncerOptions options = Options(HealthCheckConfig::Kind::kTcp);
  options.health_check.port = tcp->port();
  announcer_ = std::make_unique<Announcer>(*session_, options);
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  tcp.reset();  // nothing listens any more
  ASSERT_TRUE(WaitUntil([&] { return Members().empty(); }));
}

TEST_F(AnnouncerTest, ReannouncesAfterForcedSessionExpiry) {
  announcer_ = std::make_unique<Announcer>(*session_, Options());
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  std::string before = Members()[0];
  const int64_t old_session = session_->session_id();
  auto id = session_->client_id();
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(testing::ExpireZkSession(server_.connect_string(), *id).ok());

  // The old ephemeral member dies with the session; a new one appears under the new session.
  ASSERT_TRUE(WaitUntil([&] {
    auto members = Members();
    return members.size() == 1 && members[0] != before && session_->session_id() != old_session;
  }));
  auto data = ZkGetData(*reader_, "/discovery/user/" + Members()[0], false);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->ephemeral_owner, session_->session_id());
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().announcements >= 2; }));
  EXPECT_EQ(announcer_->Stats().announcements, 2u);
}

TEST_F(AnnouncerTest, MemberDeletedByHandIsWrittenAgain) {
  announcer_ = std::make_unique<Announcer>(*session_, Options());
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Members().size() == 1; }));
  ASSERT_TRUE(ZkDelete(*reader_, "/discovery/user/" + Members()[0]).ok());
  ASSERT_TRUE(WaitUntil([&] { return announcer_->Stats().announcements == 2; }));
  EXPECT_EQ(Members().size(), 1u);
}

TEST_F(AnnouncerTest, WatcherSeesTheAnnouncedInstanceEndToEnd) {
  testing::RecordingListener listener;
  ServiceConfig service;
  service.name = "user";
  service.serverset.path = "/discovery/user";
  service.serverset.endpoint = "http";
  ServerSetWatcher watcher(*reader_, {service}, listener);
  watcher.Start();
  announcer_ = std::make_unique<Announcer>(*session_, Options());
  ASSERT_TRUE(announcer_->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return listener.LatestText("user") == "v2=[10.0.0.3:8080]"; }))
      << listener.LatestText("user");
  ASSERT_TRUE(announcer_->Stop().ok());
  ASSERT_TRUE(WaitUntil([&] { return listener.LatestText("user").empty(); }))
      << listener.LatestText("user");
  watcher.Stop();
}

TEST_F(AnnouncerTest, InvalidOptionsAreRejected) {
  AnnouncerOptions options = Options();
  options.path = "discovery/user";
  EXPECT_FALSE(Announcer(*session_, options).Start().ok());
  options = Options();
  options.member.service_endpoint.port = 0;
  EXPECT_FALSE(Announcer(*session_, options).Start().ok());
  options = Options();
  options.health_check.port = 0;
  EXPECT_FALSE(Announcer(*session_, options).Start().ok());
  options = Options();
  options.rise = 0;
  EXPECT_FALSE(Announcer(*session_, options).Start().ok());
}

}  // namespace
}  // namespace canarymesh
