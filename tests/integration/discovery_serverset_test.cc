// ServerSetWatcher against a real ZooKeeper server: membership changes, bad data, versions,
// a path created late, server outage and restart, forced session expiry, churn.
#include <gtest/gtest.h>

#include "discovery/serverset_watcher.h"
#include "discovery/zk_ops.h"
#include "discovery/zk_session.h"
#include "tests/discovery/recording_listener.h"
#include "tests/integration/zk_server.h"

namespace canarymesh {
namespace {

using namespace std::chrono_literals;
using testing::RecordingListener;
using testing::WaitUntil;
using testing::ZkServer;

std::string Member(const std::string& host, int port, const std::string& version = "",
                   const std::string& status = "ALIVE") {
  std::string json = R"({"serviceEndpoint":{"host":")" + host + R"(","port":)" +
                     std::to_string(port) + R"(},"additionalEndpoints":{},"status":")" + status +
                     "\"";
  if (!version.empty()) json += R"(,"metadata":{"version":")" + version + "\"}";
  return json + "}";
}

ServiceConfig Service(const std::string& name, const std::string& path,
                      std::map<std::string, std::string> version_paths = {}) {
  ServiceConfig config;
  config.name = name;
  config.serverset.path = path;
  config.serverset.version_paths = std::move(version_paths);
  return config;
}

class ServerSetWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    writer_ = Connect();
    ASSERT_TRUE(writer_);
  }

  std::unique_ptr<ZkSession> Connect(const std::string& chroot = "") {
    ZooKeeperConfig config = server_.client_config();
    config.chroot = chroot;
    auto session = ZkSession::Create(config);
    EXPECT_TRUE(session.ok()) << session.status().message();
    if (!session.ok()) return nullptr;
    EXPECT_TRUE(session.value()->WaitConnected(30s));
    return std::move(session.value());
  }

  void StartWatcher(std::vector<ServiceConfig> services) {
    session_ = Connect();
    ASSERT_TRUE(session_);
    watcher_ = std::make_unique<ServerSetWatcher>(*session_, services, listener_);
    watcher_->Start();
  }

  // Members written by the test are persistent, so they survive server restarts and test sessions.
  void Put(const std::string& path, const std::string& data) {
    Status written = WritePersistentZnode(*writer_, path, data);
    ASSERT_TRUE(written.ok()) << written.message();
  }
  void Remove(const std::string& path) {
    Status deleted = ZkDelete(*writer_, path);
    ASSERT_TRUE(deleted.ok()) << deleted.message();
  }

  bool WaitForHosts(const std::string& service, const std::string& expected,
                    std::chrono::milliseconds timeout = 30s) {
    bool seen = WaitUntil([&] { return listener_.LatestText(service) == expected; }, timeout);
    if (!seen)
      ADD_FAILURE() << "wanted '" << expected << "', latest is '" << listener_.LatestText(service)
                    << "'";
    return seen;
  }

  ServiceDiscoveryStats ServiceStats(const std::string& name) {
    for (const auto& service : watcher_->Stats().services) {
      if (service.service == name) return service;
    }
    ADD_FAILURE() << "no stats for " << name;
    return {};
  }

  ZkServer server_;
  std::unique_ptr<ZkSession> writer_;   // plays the instances and operators
  std::unique_ptr<ZkSession> session_;  // the watcher's
  RecordingListener listener_;
  std::unique_ptr<ServerSetWatcher> watcher_;  // declared last: stopped first
};

TEST_F(ServerSetWatcherTest, MemberAddedAppearsAndRemovedDisappears) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 9090, "v1"));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "v1=[10.0.0.1:9090]"));

  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 9090, "v2"));
  ASSERT_TRUE(WaitForHosts("user", "v1=[10.0.0.1:9090] v2=[10.0.0.2:9090]"));
  ServiceHostSetPtr latest = listener_.Latest("user");
  EXPECT_EQ(latest->source, "zookeeper:/discovery/user");
  EXPECT_GT(latest->updated_unix_ms, 0);
  EXPECT_EQ(latest->versions.at("v2")[0].member, "/discovery/user/member_0000000002");
  EXPECT_EQ(watcher_->Current("user"), latest);

  Remove("/discovery/user/member_0000000001");
  ASSERT_TRUE(WaitForHosts("user", "v2=[10.0.0.2:9090]"));
  ServiceDiscoveryStats stats = ServiceStats("user");
  EXPECT_TRUE(stats.connected);
  EXPECT_TRUE(stats.synced);
  EXPECT_EQ(stats.live_endpoints, 1u);
  EXPECT_EQ(stats.last_update_unix_ms, listener_.Latest("user")->updated_unix_ms);
}

TEST_F(ServerSetWatcherTest, EphemeralMemberGoesAwayWithItsSession) {
  // Sequential names come from the parent's child counter: keep hand-made names out of its way.
  Put("/discovery/user/member_0000001000", Member("10.0.0.1", 80));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));

  std::unique_ptr<ZkSession> instance = Connect();
  ASSERT_TRUE(instance);
  auto created = ZkCreate(*instance, "/discovery/user/member_", Member("10.0.0.7", 80),
                          ZnodeMode::kEphemeralSequential);
  ASSERT_TRUE(created.ok()) << created.status().message();
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.7:80,10.0.0.1:80]"));  // by member name

  instance.reset();  // closes the session: ZooKeeper deletes the ephemeral member
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));
}

TEST_F(ServerSetWatcherTest, BadMemberIsSkippedCountedAndNeverEmptiesTheSet) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));

  Put("/discovery/user/member_0000000002", "{this is not json");
  Put("/discovery/user/member_0000000003",
      R"({"serviceEndpoint":{"host":"h","port":0},"status":"ALIVE"})");
  Put("/discovery/user/member_0000000004", Member("10.0.0.4", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.4:80]"));
  ASSERT_TRUE(WaitUntil([&] { return watcher_->Stats().bad_members >= 2; }));
  EXPECT_EQ(watcher_->Stats().bad_members, 2u);
  EXPECT_EQ(ServiceStats("user").bad_members, 2u);
  EXPECT_EQ(ServiceStats("user").members, 4u);

  // Repairing a bad member's data (its data watch fires) makes it routable.
  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80,10.0.0.4:80]"));
  EXPECT_EQ(ServiceStats("user").bad_members, 1u);

  for (const auto& set : listener_.history()) {
    EXPECT_FALSE(set->versions.empty()) << "an empty set was published";
  }
}

TEST_F(ServerSetWatcherTest, OnlyAliveMembersAreRoutedAndStatusChangesAreSeen) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80, "", "STARTING"));
  Put("/discovery/user/member_0000000003", Member("10.0.0.3", 80, "", "DEAD"));
  Put("/discovery/user/member_0000000004", Member("10.0.0.4", 80, "", "WARNING"));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));

  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80));  // STARTING -> ALIVE
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80]"));
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80, "", "STOPPING"));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.2:80]"));
  // The data watch is one-shot: a second change to the same member must be seen too.
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80]"));
}

TEST_F(ServerSetWatcherTest, NonMemberChildrenAreIgnored) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  Put("/discovery/user/vector_0000000001", R"({"weights":[]})");
  Put("/discovery/user/lock", "not json either");
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));
  EXPECT_EQ(watcher_->Stats().bad_members, 0u);
  EXPECT_EQ(ServiceStats("user").members, 1u);
}

TEST_F(ServerSetWatcherTest, PathCreatedLaterIsPickedUpAndEmptyIsPublishedAsEmpty) {
  StartWatcher({Service("user", "/discovery/later/user")});
  // ZooKeeper answered "no such path": that is a real, empty set, not "unknown".
  ASSERT_TRUE(WaitUntil([&] { return listener_.Latest("user") != nullptr; }));
  EXPECT_TRUE(listener_.Latest("user")->versions.empty());
  EXPECT_TRUE(ServiceStats("user").synced);

  Put("/discovery/later/user/member_0000000001", Member("10.0.0.1", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));

  Remove("/discovery/later/user/member_0000000001");
  ASSERT_TRUE(WaitForHosts("user", ""));
  EXPECT_TRUE(listener_.Latest("user")->versions.empty());

  // The path itself deleted and created again: still followed.
  Remove("/discovery/later/user");
  Put("/discovery/later/user/member_0000000005", Member("10.0.0.5", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.5:80]"));
}

TEST_F(ServerSetWatcherTest, VersionFromMetadataOrFromVersionPaths) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80, "v1"));
  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80));
  Put("/discovery/user-canary/member_0000000001", Member("10.0.0.3", 80));
  Put("/discovery/user-canary/member_0000000002", Member("10.0.0.4", 80, "v3"));
  StartWatcher({Service("user", "/discovery/user", {{"/discovery/user-canary", "v2"}}),
                Service("billing", "/discovery/billing")});
  ASSERT_TRUE(WaitForHosts(
      "user", "default=[10.0.0.2:80] v1=[10.0.0.1:80] v2=[10.0.0.3:80] v3=[10.0.0.4:80]"));
  ASSERT_TRUE(WaitForHosts("billing", ""));

  Put("/discovery/user-canary/member_0000000003", Member("10.0.0.5", 80));
  ASSERT_TRUE(WaitForHosts(
      "user",
      "default=[10.0.0.2:80] v1=[10.0.0.1:80] v2=[10.0.0.3:80,10.0.0.5:80] v3=[10.0.0.4:80]"));
  EXPECT_EQ(ServiceStats("user").paths,
            (std::vector<std::string>{"/discovery/user", "/discovery/user-canary"}));
}

TEST_F(ServerSetWatcherTest, ServerDownKeepsLastGoodSetAndRestartRestoresWatches) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80]"));
  const size_t published_before = listener_.count();

  server_.Stop();
  ASSERT_TRUE(WaitUntil([&] { return !watcher_->Stats().connected; }));
  EXPECT_FALSE(ServiceStats("user").connected);
  // Longer than the 4 s session timeout: still nothing may be published while ZooKeeper is away.
  EXPECT_FALSE(WaitUntil([&] { return listener_.count() != published_before; }, 5s));
  EXPECT_EQ(listener_.LatestText("user"), "default=[10.0.0.1:80,10.0.0.2:80]");
  EXPECT_EQ(watcher_->Current("user")->versions.at("default").size(), 2u);

  Status restarted = server_.Start();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  ASSERT_TRUE(WaitUntil([&] { return watcher_->Stats().connected && writer_->connected(); }));
  Put("/discovery/user/member_0000000003", Member("10.0.0.3", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80,10.0.0.3:80]"));
  Remove("/discovery/user/member_0000000001");
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.2:80,10.0.0.3:80]"));
  for (const auto& set : listener_.history()) {
    EXPECT_FALSE(set->versions.empty()) << "an empty set was published during the outage";
  }
}

TEST_F(ServerSetWatcherTest, StartsWhileZooKeeperIsDownAndCatchesUpWhenItComes) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  server_.Stop();
  auto session = ZkSession::Create(server_.client_config());  // connects in the background
  ASSERT_TRUE(session.ok()) << session.status().message();
  session_ = std::move(session.value());
  watcher_ = std::make_unique<ServerSetWatcher>(
      *session_, std::vector<ServiceConfig>{Service("user", "/discovery/user")}, listener_);
  watcher_->Start();
  // Nothing is known, so nothing is published: not even an empty set.
  EXPECT_FALSE(WaitUntil([&] { return listener_.count() > 0; }, 3s));
  EXPECT_EQ(watcher_->Current("user"), nullptr);
  EXPECT_FALSE(ServiceStats("user").synced);
  EXPECT_FALSE(ServiceStats("user").connected);

  Status started = server_.Start();
  ASSERT_TRUE(started.ok()) << started.message();
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));
  EXPECT_EQ(listener_.count(), 1u);

  // Stopping while ZooKeeper is gone again must not hang.
  server_.Stop();
  ASSERT_TRUE(WaitUntil([&] { return !watcher_->Stats().connected; }));
  watcher_->Stop();
  EXPECT_EQ(listener_.LatestText("user"), "default=[10.0.0.1:80]");
}

TEST_F(ServerSetWatcherTest, ForcedSessionExpiryRebuildsTheSessionAndWatchesAgain) {
  Put("/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));
  const int64_t old_session = session_->session_id();
  auto id = session_->client_id();
  ASSERT_TRUE(id.has_value());

  Status expired = testing::ExpireZkSession(server_.connect_string(), *id);
  ASSERT_TRUE(expired.ok()) << expired.message();
  ASSERT_TRUE(WaitUntil([&] {
    return watcher_->Stats().session_expiries >= 1 && session_->connected() &&
           session_->session_id() != old_session;
  }));
  EXPECT_EQ(session_->sessions_created(), 2u);

  Put("/discovery/user/member_0000000002", Member("10.0.0.2", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80]"));
  Put("/discovery/user/member_0000000001",
      Member("10.0.0.1", 80, "", "DEAD"));  // data watch re-armed
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.2:80]"));
  for (const auto& set : listener_.history()) EXPECT_FALSE(set->versions.empty());
}

TEST_F(ServerSetWatcherTest, ChurnWithDeletesRacingReadsEndsInTheRightSet) {
  // Members deleted right after they appear make the watcher's getData hit NoNode; that must be
  // harmless (no error counted, no crash) and the final set exact.
  Put("/discovery/user/member_0000000000", Member("10.0.0.200", 80));
  StartWatcher({Service("user", "/discovery/user")});
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.200:80]"));
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= 20; ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "/discovery/user/member_%010d", round * 100 + i);
      Put(name, Member("10.0.0." + std::to_string(i), 80));
      if (i % 2 == 0 || round < 2) Remove(name);
    }
  }
  std::string expected = "default=[10.0.0.200:80";
  for (int i = 1; i <= 20; i += 2) expected += ",10.0.0." + std::to_string(i) + ":80";
  ASSERT_TRUE(WaitForHosts("user", expected + "]"));
  EXPECT_EQ(watcher_->Stats().read_errors, 0u);
  EXPECT_EQ(watcher_->Stats().bad_members, 0u);
}

TEST_F(ServerSetWatcherTest, ChrootIsApplied) {
  Put("/prod/discovery/user/member_0000000001", Member("10.0.0.1", 80));
  Put("/discovery/user/member_0000000001", Member("10.9.9.9", 80));  // outside the chroot
  session_ = Connect("/prod");
  ASSERT_TRUE(session_);
  watcher_ = std::make_unique<ServerSetWatcher>(
      *session_, std::vector<ServiceConfig>{Service("user", "/discovery/user")}, listener_);
  watcher_->Start();
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80]"));
  Put("/prod/discovery/user/member_0000000002", Member("10.0.0.2", 80));
  ASSERT_TRUE(WaitForHosts("user", "default=[10.0.0.1:80,10.0.0.2:80]"));
}

TEST(ZkSessionTest, BadConfigIsAnError) {
  ZooKeeperConfig config;
  EXPECT_FALSE(ZkSession::Create(config).ok());
  config.connect = "127.0.0.1:2181/chroot";
  EXPECT_FALSE(ZkSession::Create(config).ok());
  config.connect = "127.0.0.1:2181";
  config.chroot = "relative";
  EXPECT_FALSE(ZkSession::Create(config).ok());
}

}  // namespace
}  // namespace canarymesh
