// ZkRolloutStore against a real ZooKeeper: create, compare-and-set on the znode version, list,
// the size limit, and answers while ZooKeeper is down.
#include "scheduler-bridge/zookeeper/zk_rollout_store.h"

#include <gtest/gtest.h>

#include "discovery/zk_ops.h"
#include "tests/integration/zk_server.h"

namespace canarymesh::bridge {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using canarymesh::testing::WaitUntil;
using canarymesh::testing::ZkServer;

std::unique_ptr<ZkSession> Connect(const ZkServer& server) {
  auto session = ZkSession::Create(server.client_config());
  if (!session.ok() || !session.value()->WaitConnected(30s)) return nullptr;
  return std::move(session.value());
}

class ZkRolloutStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    session_ = Connect(server_);
    ASSERT_TRUE(session_);
    store_ = std::make_unique<ZkRolloutStore>(*session_, ZkRolloutStoreOptions{"/cm/rollouts"});
  }

  ZkServer server_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<ZkRolloutStore> store_;
};

TEST_F(ZkRolloutStoreTest, CreateGetCompareAndSetAndList) {
  auto empty = store_->List();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());
  auto missing = store_->Get("r1");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value().has_value());

  Json first{{"service", "user"}, {"stage", "test"}};
  auto created = store_->CompareAndSet("r1", first, -1);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created.value(), 0);
  auto again = store_->CompareAndSet("r1", first, -1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos);

  auto read = store_->Get("r1");
  ASSERT_TRUE(read.ok() && read.value());
  EXPECT_EQ(read.value()->id, "r1");
  EXPECT_EQ(read.value()->record, first);
  EXPECT_EQ(read.value()->version, 0);

  Json second{{"service", "user"}, {"stage", "canary"}, {"weight", 5}};
  auto updated = store_->CompareAndSet("r1", second, 0);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(updated.value(), 1);
  // A writer still holding version 0 loses.
  auto stale = store_->CompareAndSet("r1", Json{{"stage", "rollback"}}, 0);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(stale.status().message().find("conflict"), std::string::npos);
  read = store_->Get("r1");
  ASSERT_TRUE(read.ok() && read.value());
  EXPECT_EQ(read.value()->record, second);
  EXPECT_EQ(read.value()->version, 1);

  ASSERT_TRUE(store_->CompareAndSet("r2", Json{{"service", "web"}}, -1).ok());
  auto all = store_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  std::map<std::string, Json> by_id;
  for (const StoredRecord& r : all.value()) by_id[r.id] = r.record;
  EXPECT_EQ(by_id["r1"], second);
  EXPECT_EQ(by_id["r2"], (Json{{"service", "web"}}));

  auto gone = store_->CompareAndSet("r9", second, 3);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Status::Code::kNotFound);
}

TEST_F(ZkRolloutStoreTest, TwoBridgesRacingOneVersionOnlyOneWins) {
  auto other_session = Connect(server_);
  ASSERT_TRUE(other_session);
  ZkRolloutStore other(*other_session, ZkRolloutStoreOptions{"/cm/rollouts"});
  ASSERT_TRUE(store_->CompareAndSet("race", Json{{"n", 0}}, -1).ok());
  auto mine = store_->Get("race");
  auto theirs = other.Get("race");
  ASSERT_TRUE(mine.ok() && theirs.ok() && mine.value() && theirs.value());
  auto a = store_->CompareAndSet("race", Json{{"n", "a"}}, mine.value()->version);
  auto b = other.CompareAndSet("race", Json{{"n", "b"}}, theirs.value()->version);
  EXPECT_NE(a.ok(), b.ok());
  auto final_record = other.Get("race");
  ASSERT_TRUE(final_record.ok() && final_record.value());
  EXPECT_EQ(final_record.value()->record["n"], a.ok() ? "a" : "b");
}

TEST_F(ZkRolloutStoreTest, LargeRecordsUpToTheLimitAndNoFurther) {
  Json big{{"log", std::string(800 * 1024, 'x')}};
  auto stored = store_->CompareAndSet("big", big, -1);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  auto read = store_->Get("big");
  ASSERT_TRUE(read.ok() && read.value()) << read.status().message();
  EXPECT_EQ(read.value()->record, big);

  Json too_big{{"log", std::string(kMaxRolloutRecordBytes, 'y')}};
  auto refused = store_->CompareAndSet("big", too_big, read.value()->version);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("limit"), std::string::npos);
  read = store_->Get("big");
  ASSERT_TRUE(read.ok() && read.value());
  EXPECT_EQ(read.value()->record, big);  // unchanged
}

TEST_F(ZkRolloutStoreTest, RefusesBadIdsAndReportsUnreadableRecords) {
  for (const char* id : {"", "a/b", "..", "has space"}) {
    EXPECT_EQ(store_->CompareAndSet(id, Json::object(), -1).status().code(),
              Status::Code::kInvalidArgument)
        << id;
    EXPECT_EQ(store_->Get(id).status().code(), Status::Code::kInvalidArgument) << id;
  }
  ASSERT_TRUE(WritePersistentZnode(*session_, "/cm/rollouts/garbled", "{not json").ok());
  auto garbled = store_->Get("garbled");
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.status().message().find("valid JSON"), std::string::npos);
}

TEST_F(ZkRolloutStoreTest, ZooKeeperDownIsUnavailableWithAClearMessageThenRecovers) {
  ASSERT_TRUE(store_->CompareAndSet("r1", Json{{"stage", "test"}}, -1).ok());
  server_.Stop();
  ASSERT_TRUE(WaitUntil([&] { return !session_->connected(); }));
  auto get = store_->Get("r1");
  auto list = store_->List();
  auto set = store_->CompareAndSet("r1", Json{{"stage", "canary"}}, 0);
  for (const Status& s : {get.status(), list.status(), set.status()}) {
    EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.message();
    EXPECT_NE(s.message().find("ZooKeeper at " + server_.connect_string()), std::string::npos)
        << s.message();
  }
  Status restarted = server_.Start();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  ASSERT_TRUE(WaitUntil([&] {
    auto r = store_->Get("r1");
    return r.ok() && r.value() && r.value()->record == Json{{"stage", "test"}};
  }));
}

}  // namespace
}  // namespace canarymesh::bridge
