// Announcer registers the local instance in a Finagle ServerSet: an ephemeral sequential
// `member_` znode, present only while the instance's health check passes. It withdraws the member
// when the check fails, re-announces when it passes again or after the session was rebuilt, and
// Stop() deletes the member before returning (call it on SIGTERM, before serving stops).
// Thread-safe public methods; checks and ZooKeeper writes run on the announcer's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/status.h"
#include "discovery/health_check.h"
#include "discovery/serverset_member.h"
#include "discovery/zk_session.h"

namespace canarymesh {

struct AnnouncerOptions {
  std::string path;  // ServerSet path, e.g. /discovery/user; missing parents are created
  // What to write: serviceEndpoint, additionalEndpoints, shard, metadata (put the version in
  // metadata["version"]). The status written is always ALIVE.
  ServerSetMember member;
  HealthCheckConfig health_check;
  std::chrono::milliseconds check_interval{2000};
  uint32_t rise = 1;  // consecutive passing checks before announcing
  uint32_t fall = 2;  // consecutive failing checks before withdrawing
};

Status ValidateAnnouncerOptions(const AnnouncerOptions& options);

// From the proxy config's `announce:` section (core/config.h).
Result<AnnouncerOptions> AnnouncerOptionsFromConfig(const AnnounceConfig& config);

struct AnnouncerStats {
  bool healthy = false;          // after rise/fall
  bool announced = false;        // a member znode is believed to exist
  std::string member_path;       // e.g. /discovery/user/member_0000000012
  std::string last_check_error;  // empty after a passing check
  uint64_t announcements = 0;    // members created
  uint64_t withdrawals = 0;      // members deleted because the check failed
  uint64_t failed_checks = 0;
  uint64_t zookeeper_errors = 0;
};

class Announcer {
 public:
  // `session` must outlive this.
  Announcer(ZkSession& session, AnnouncerOptions options);
  ~Announcer();  // Stop()
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  Status Start();  // validates the options, then checks and announces in the background
  // Stops checking and deletes the member. Ok if it is gone (or never existed); otherwise the
  // reason (ZooKeeper unreachable: the server removes it when the session ends).
  Status Stop();

  AnnouncerStats Stats() const;

 private:
  void OnZkEvent(const ZkEvent& event);
  void Run();
  void CheckHealth();
  void Reconcile();
  Status Announce();
  Status Withdraw();
  void AdoptOrDeleteUncertain(bool keep_one);

  ZkSession& session_;
  const AnnouncerOptions options_;
  const std::string data_;  // serialized member

  // Announcer thread only, except under stats_mu_ for Stats().
  mutable std::mutex stats_mu_;
  AnnouncerStats stats_;
  int64_t member_owner_ = 0;       // session that created member_path (ephemeral owner)
  bool uncertain_create_ = false;  // a create whose answer was lost may have left a member behind
  uint32_t passes_ = 0;
  uint32_t failures_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool started_ = false;
  bool stopping_ = false;
  ZkSession::SubscriberId subscription_ = 0;
  std::thread thread_;
};

}  // namespace canarymesh
