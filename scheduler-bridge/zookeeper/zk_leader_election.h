// ZkLeaderElection: ZooKeeper's leader-election recipe for the scheduler bridges. Each candidate
// owns an ephemeral sequential znode <election_path>/candidate_<seq> holding its SelfId; the
// lowest sequence leads; every other candidate watches only the node just before its own, so a
// departure wakes one candidate, not all. A disconnected session suspends leadership at once (it
// may have expired without us knowing); an expired one re-enters the election with a new node.
// Thread-safe; the recipe runs on the election's own thread, which also calls the listener.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "discovery/zk_session.h"
#include "scheduler-bridge/leadership.h"

namespace canarymesh::bridge {

struct ZkLeaderElectionOptions {
  std::string election_path = "/canarymesh/bridge/leader";
  std::string self_id;  // e.g. "127.0.0.1:9991 pid 1234"; written as the candidate's data
  // Re-runs the recipe this often even without events: a safety net for a lost watch.
  std::chrono::milliseconds recheck_interval{5000};
  // After a failed ZooKeeper call, try again this soon.
  std::chrono::milliseconds retry_interval{200};
};

class ZkLeaderElection : public Leadership {
 public:
  // Called with the new state whenever leadership is gained or lost: on the election thread, or
  // on the caller's thread for the loss that Stop() causes. Must not call Stop().
  using Listener = std::function<void(bool is_leader)>;

  // `session` must outlive this.
  ZkLeaderElection(ZkSession& session, ZkLeaderElectionOptions options,
                   Listener listener = nullptr);
  ~ZkLeaderElection() override;  // Stop()
  ZkLeaderElection(const ZkLeaderElection&) = delete;
  ZkLeaderElection& operator=(const ZkLeaderElection&) = delete;

  // Validates the options and enters the election in the background.
  Status Start();
  // Leaves the election: deletes this candidate's node (handing leadership to the next one) and
  // reports lost leadership to the listener if it led.
  void Stop();

  bool IsLeader() const override { return leader_.load(); }
  std::string SelfId() const override { return options_.self_id; }
  std::string LeaderId() const override;  // as of the last run of the recipe

  // Blocks until IsLeader() == leader or the timeout passes; returns whether it holds.
  bool WaitForLeadership(bool leader, std::chrono::milliseconds timeout) const;
  std::string candidate_path() const;  // "" while not in the election
  uint64_t leadership_changes() const { return changes_.load(); }

 private:
  void OnZkEvent(const ZkEvent& event);
  void Run();
  // One pass of the recipe; returns false when a ZooKeeper call failed (retry soon).
  bool Evaluate();
  Status EnsureCandidate(int64_t session_id);
  void Publish(bool leader, const std::string& leader_id);
  void Wake();

  ZkSession& session_;
  const ZkLeaderElectionOptions options_;
  const Listener listener_;

  std::atomic<bool> leader_{false};
  std::atomic<uint64_t> changes_{0};

  mutable std::mutex state_mu_;  // never held across a ZooKeeper call
  mutable std::condition_variable state_cv_;
  std::string leader_id_;
  std::string candidate_path_;
  int64_t candidate_owner_ = 0;  // session that created candidate_path_

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool wake_ = false;
  bool started_ = false;
  bool stopping_ = false;
  bool reported_leader_ = false;  // election thread only: what the listener last heard
  ZkSession::SubscriberId subscription_ = 0;
  std::thread thread_;
};

}  // namespace canarymesh::bridge
