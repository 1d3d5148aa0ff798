// ZkLeaderElection against a real ZooKeeper: candidates on separate sessions in one process.
// Exactly one leads; a leader that resigns or whose session is closed hands over; a departure in
// the middle of the queue changes nothing; an expired candidate re-enters behind the others.
#include "scheduler-bridge/zookeeper/zk_leader_election.h"

#include <gtest/gtest.h>

#include <vector>

#include "discovery/zk_ops.h"
#include "tests/integration/zk_server.h"

namespace canarymesh::bridge {
namespace {

using namespace std::chrono_literals;
using canarymesh::testing::ExpireZkSession;
using canarymesh::testing::WaitUntil;
using canarymesh::testing::ZkServer;

constexpr const char* kPath = "/cm/bridge/leader";

// One bridge: its own session and its place in the election, plus what its listener heard.
// Members are destroyed bottom-up: the election (whose Stop() still calls the listener) goes
// first, then its session, and the listener's mutex and record last.
struct Candidate {
  std::mutex mu;
  std::vector<bool> heard;
  std::unique_ptr<ZkSession> session;
  std::unique_ptr<ZkLeaderElection> election;

  std::vector<bool> Heard() {
    std::lock_guard lock(mu);
    return heard;
  }
};

class ZkLeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  // Enters the election and waits until its candidate node exists, so that start order is queue
  // order.
  Candidate& Add(const std::string& id) {
    auto c = std::make_unique<Candidate>();
    auto session = ZkSession::Create(server_.client_config());
    EXPECT_TRUE(session.ok() && session.value()->WaitConnected(30s));
    c->session = std::move(session.value());
    ZkLeaderElectionOptions options;
    options.election_path = kPath;
    options.self_id = id;
    options.recheck_interval = 500ms;
    Candidate* raw = c.get();
    c->election = std::make_unique<ZkLeaderElection>(*c->session, options, [raw](bool leader) {
      std::lock_guard lock(raw->mu);
      raw->heard.push_back(leader);
    });
    EXPECT_TRUE(c->election->Start().ok());
    EXPECT_TRUE(WaitUntil([raw] { return !raw->election->candidate_path().empty(); }));
    candidates_.push_back(std::move(c));
    return *candidates_.back();
  }

  size_t Leaders() {
    size_t n = 0;
    for (auto& c : candidates_) n += c->election && c->election->IsLeader() ? 1 : 0;
    return n;
  }

  ZkServer server_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
};

TEST_F(ZkLeaderElectionTest, ExactlyOneOfTwoLeadsAndResigningHandsOver) {
  Candidate& a = Add("bridge-a");
  Candidate& b = Add("bridge-b");
  ASSERT_TRUE(a.election->WaitForLeadership(true, 30s));
  ASSERT_TRUE(WaitUntil([&] { return b.election->LeaderId() == "bridge-a"; }));
  EXPECT_FALSE(b.election->IsLeader());
  EXPECT_EQ(Leaders(), 1u);
  EXPECT_EQ(a.election->LeaderId(), "bridge-a");
  EXPECT_EQ(a.election->SelfId(), "bridge-a");
  // Both candidate nodes hold their owner's id.
  auto data = ZkGetData(*a.session, b.election->candidate_path(), false);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->data, "bridge-b");
  EXPECT_EQ(data->ephemeral_owner, b.session->session_id());

  a.election->Stop();
  EXPECT_FALSE(a.election->IsLeader());
  ASSERT_TRUE(b.election->WaitForLeadership(true, 30s));
  EXPECT_EQ(b.election->LeaderId(), "bridge-b");
  EXPECT_EQ(Leaders(), 1u);
  EXPECT_TRUE(WaitUntil([&] { return a.Heard() == std::vector<bool>{true, false}; }));
  EXPECT_TRUE(WaitUntil([&] { return b.Heard() == std::vector<bool>{true}; }));
}

TEST_F(ZkLeaderElectionTest, ClosingTheLeadersSessionHandsOverAndItReentersBehind) {
  Candidate& a = Add("bridge-a");
  Candidate& b = Add("bridge-b");
  ASSERT_TRUE(a.election->WaitForLeadership(true, 30s));
  std::string a_first_node = a.election->candidate_path();
  auto id = a.session->client_id();
  ASSERT_TRUE(id.has_value());

  // What a crashed or partitioned bridge looks like to the others: its session is closed.
  Status expired = ExpireZkSession(server_.connect_string(), *id);
  ASSERT_TRUE(expired.ok()) << expired.message();
  ASSERT_TRUE(b.election->WaitForLeadership(true, 30s));
  ASSERT_TRUE(a.election->WaitForLeadership(false, 30s));
  // a rebuilds its session and queues again, now behind b.
  ASSERT_TRUE(WaitUntil([&] {
    std::string node = a.election->candidate_path();
    return !node.empty() && node != a_first_node && a.election->LeaderId() == "bridge-b";
  }));
  EXPECT_EQ(Leaders(), 1u);
  EXPECT_TRUE(b.election->IsLeader());
  auto children = ZkGetChildren(*b.session, kPath, false);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->size(), 2u);  // the expired node is gone, not left behind
}

TEST_F(ZkLeaderElectionTest, MiddleCandidateLeavingDoesNotChangeTheLeader) {
  Candidate& a = Add("bridge-a");
  Candidate& b = Add("bridge-b");
  Candidate& c = Add("bridge-c");
  ASSERT_TRUE(a.election->WaitForLeadership(true, 30s));
  ASSERT_TRUE(WaitUntil([&] { return c.election->LeaderId() == "bridge-a"; }));
  uint64_t a_changes = a.election->leadership_changes();

  auto id = b.session->client_id();
  ASSERT_TRUE(id.has_value());
  std::string b_first_node = b.election->candidate_path();
  ASSERT_TRUE(ExpireZkSession(server_.connect_string(), *id).ok());
  // b re-enters at the back: the queue is now a, c, b.
  ASSERT_TRUE(WaitUntil([&] {
    std::string node = b.election->candidate_path();
    return !node.empty() && node != b_first_node;
  }));
  EXPECT_TRUE(a.election->IsLeader());
  EXPECT_FALSE(c.election->IsLeader());
  EXPECT_FALSE(b.election->IsLeader());
  EXPECT_EQ(a.election->leadership_changes(), a_changes);
  EXPECT_EQ(Leaders(), 1u);

  // c now watches a directly: when a goes, c (not the re-entered b) takes over.
  a.election->Stop();
  ASSERT_TRUE(c.election->WaitForLeadership(true, 30s));
  ASSERT_TRUE(WaitUntil([&] { return b.election->LeaderId() == "bridge-c"; }));
  EXPECT_FALSE(b.election->IsLeader());
  EXPECT_EQ(Leaders(), 1u);
}

TEST_F(ZkLeaderElectionTest, LeadershipIsSuspendedWhileZooKeeperIsDown) {
  Candidate& a = Add("bridge-a");
  ASSERT_TRUE(a.election->WaitForLeadership(true, 30s));
  server_.Stop();
  ASSERT_TRUE(a.election->WaitForLeadership(false, 30s));
  Status restarted = server_.Start();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  ASSERT_TRUE(a.election->WaitForLeadership(true, 60s));
  EXPECT_EQ(a.election->LeaderId(), "bridge-a");
}

TEST_F(ZkLeaderElectionTest, RefusesBadOptions) {
  auto session = ZkSession::Create(server_.client_config());
  ASSERT_TRUE(session.ok());
  ZkLeaderElection no_id(*session.value(), ZkLeaderElectionOptions{kPath, "", 1000ms, 100ms});
  EXPECT_EQ(no_id.Start().code(), Status::Code::kInvalidArgument);
  ZkLeaderElection bad_path(*session.value(),
                            ZkLeaderElectionOptions{"relative", "x", 1000ms, 100ms});
  EXPECT_EQ(bad_path.Start().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace canarymesh::bridge
