// ZnodeDataWatcher and WritePersistentZnode against a real ZooKeeper server.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "discovery/zk_ops.h"
#include "discovery/zk_session.h"
#include "discovery/znode_data_watcher.h"
#include "tests/integration/zk_server.h"

namespace canarymesh {
namespace {

using namespace std::chrono_literals;
using testing::WaitUntil;

class ZnodeDataWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    writer_ = Connect();
    session_ = Connect();
    ASSERT_TRUE(writer_ && session_);
  }

  std::unique_ptr<ZkSession> Connect() {
    auto session = ZkSession::Create(server_.client_config());
    if (!session.ok() || !session.value()->WaitConnected(30s)) return nullptr;
    return std::move(session.value());
  }

  void Watch(const std::string& path) {
    watcher_ = std::make_unique<ZnodeDataWatcher>(*session_, path, [this](const ZnodeContent& c) {
      std::lock_guard lock(mu_);
      seen_.push_back(c.exists ? "data:" + c.data : "absent");
    });
    watcher_->Start();
  }

  std::vector<std::string> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::string LastSeen() {
    std::lock_guard lock(mu_);
    return seen_.empty() ? "<nothing>" : seen_.back();
  }
  bool WaitForLast(const std::string& expected) {
    bool ok = WaitUntil([&] { return LastSeen() == expected; });
    if (!ok) ADD_FAILURE() << "wanted " << expected << ", last is " << LastSeen();
    return ok;
  }

  testing::ZkServer server_;
  std::unique_ptr<ZkSession> writer_;
  std::unique_ptr<ZkSession> session_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  std::unique_ptr<ZnodeDataWatcher> watcher_;
};

TEST_F(ZnodeDataWatcherTest, ReportsAbsentCreatedChangedDeletedAndCreatedAgain) {
  Watch("/canarymesh/routes/user");
  ASSERT_TRUE(WaitForLast("absent"));
  EXPECT_FALSE(watcher_->Last()->exists);

  // The writer the rollout bridge will use: creates the missing parents.
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", R"({"v2":5})").ok());
  ASSERT_TRUE(WaitForLast(R"(data:{"v2":5})"));
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", R"({"v2":50})").ok());
  ASSERT_TRUE(WaitForLast(R"(data:{"v2":50})"));
  EXPECT_GT(watcher_->Last()->mzxid, 0);
  ASSERT_TRUE(ZkDelete(*writer_, "/canarymesh/routes/user").ok());
  ASSERT_TRUE(WaitForLast("absent"));
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "").ok());
  ASSERT_TRUE(WaitForLast("data:"));
  EXPECT_EQ(Seen(), (std::vector<std::string>{"absent", R"(data:{"v2":5})", R"(data:{"v2":50})",
                                              "absent", "data:"}));
}

TEST_F(ZnodeDataWatcherTest, RewritingTheSameContentIsNotReportedAgain) {
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "same").ok());
  Watch("/canarymesh/routes/user");
  ASSERT_TRUE(WaitForLast("data:same"));
  const uint64_t events = watcher_->zookeeper_events();
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "same").ok());
  ASSERT_TRUE(WaitUntil([&] { return watcher_->zookeeper_events() > events; }));  // watch fired
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "different").ok());
  ASSERT_TRUE(WaitForLast("data:different"));
  EXPECT_EQ(Seen(), (std::vector<std::string>{"data:same", "data:different"}));
}

TEST_F(ZnodeDataWatcherTest, KeepsWatchingAfterForcedSessionExpiry) {
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "one").ok());
  Watch("/canarymesh/routes/user");
  ASSERT_TRUE(WaitForLast("data:one"));
  const int64_t old_session = session_->session_id();
  auto id = session_->client_id();
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(testing::ExpireZkSession(server_.connect_string(), *id).ok());
  ASSERT_TRUE(WaitUntil([&] {
    return session_->session_expiries() == 1 && session_->connected() &&
           session_->session_id() != old_session;
  }));
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "two").ok());
  ASSERT_TRUE(WaitForLast("data:two"));
}

TEST_F(ZnodeDataWatcherTest, ServerRestartThenChangeIsSeen) {
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "before").ok());
  Watch("/canarymesh/routes/user");
  ASSERT_TRUE(WaitForLast("data:before"));
  server_.Stop();
  ASSERT_TRUE(WaitUntil([&] { return !watcher_->connected(); }));
  ASSERT_TRUE(server_.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return watcher_->connected() && writer_->connected(); }));
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/canarymesh/routes/user", "after").ok());
  ASSERT_TRUE(WaitForLast("data:after"));
  EXPECT_EQ(Seen(), (std::vector<std::string>{"data:before", "data:after"}));
}

TEST_F(ZnodeDataWatcherTest, OpsReportMissingNodesAsNotFound) {
  EXPECT_EQ(ZkGetData(*writer_, "/nope", false).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ZkGetChildren(*writer_, "/nope", false).status().code(), Status::Code::kNotFound);
  auto exists = ZkExists(*writer_, "/nope", false);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(exists.value().has_value());
  EXPECT_TRUE(ZkDelete(*writer_, "/nope").ok());  // already gone is fine
  EXPECT_FALSE(ZkGetData(*writer_, "relative", false).ok());
  ASSERT_TRUE(ZkEnsurePath(*writer_, "/a/b/c").ok());
  ASSERT_TRUE(ZkEnsurePath(*writer_, "/a/b/c").ok());
  ASSERT_TRUE(ZkEnsurePath(*writer_, "/").ok());
  EXPECT_TRUE(ZkExists(*writer_, "/a/b/c", false).value().has_value());
  // Data bigger than the first read buffer comes back whole.
  std::string big(100 * 1024, 'x');
  ASSERT_TRUE(WritePersistentZnode(*writer_, "/a/big", big).ok());
  auto read = ZkGetData(*writer_, "/a/big", false);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->data, big);
}

}  // namespace
}  // namespace canarymesh
