// ServerSetWatcher keeps, for each service with a `serverset:` section, the live instances per
// version read from Finagle ServerSet znodes in ZooKeeper, and hands a complete immutable
// ServiceHostSet to a HostSetListener whenever that changes. Thread-safe public methods.
//
// The listener is called only from the watcher's own thread, one call at a time, never from a
// ZooKeeper client thread. Trouble handling: while ZooKeeper is unreachable nothing is published
// (the last good set stands); after a reconnect or a rebuilt session everything is re-read and
// re-watched; unusable member data is skipped and counted; an empty set is published as empty.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/host_set.h"
#include "discovery/service_members.h"
#include "discovery/zk_session.h"

namespace canarymesh {

struct ServiceDiscoveryStats {
  std::string service;
  std::vector<std::string> paths;
  bool connected = false;           // the ZooKeeper session is connected right now
  bool synced = false;              // every path was read at least once and a set was published
  int64_t last_update_unix_ms = 0;  // when the published set last changed; 0 = never published
  size_t live_endpoints = 0;        // in the published set, all versions
  size_t members = 0;               // member znodes with data, usable or not
  size_t bad_members = 0;           // of those, skipped as unusable right now
};

struct ServerSetWatcherStats {
  bool connected = false;
  uint64_t zookeeper_events = 0;  // session and watch events received
  uint64_t session_expiries = 0;  // of the shared ZkSession
  uint64_t bad_members = 0;  // times a member's data was found unusable (each bad version once)
  uint64_t read_errors = 0;  // ZooKeeper reads that failed (not counting NoNode)
  uint64_t publishes = 0;    // host sets handed to the listener
  std::vector<ServiceDiscoveryStats> services;
};

struct ServerSetWatcherOptions {
  std::chrono::milliseconds resync_interval{60000};  // re-list every path even without events
  std::chrono::milliseconds retry_delay{1000};       // re-read after a failure while connected
};

class ServerSetWatcher {
 public:
  // Services whose serverset.path is empty are ignored. `session` and `listener` must outlive this.
  ServerSetWatcher(ZkSession& session, const std::vector<ServiceConfig>& services,
                   HostSetListener& listener, ServerSetWatcherOptions options = {});
  ~ServerSetWatcher();  // Stop()
  ServerSetWatcher(const ServerSetWatcher&) = delete;
  ServerSetWatcher& operator=(const ServerSetWatcher&) = delete;

  void Start();  // subscribes to the session and starts reading; returns at once
  void Stop();   // after return the listener is not running and will not be called again

  ServerSetWatcherStats Stats() const;
  // The last set published for `service`, or null if none yet (or not watched).
  ServiceHostSetPtr Current(const std::string& service) const;

 private:
  struct WatchedService {
    explicit WatchedService(const ServiceConfig& config) : members(config) {}
    ServiceMembers members;            // watcher thread only
    std::set<std::string> read_paths;  // paths read at least once; watcher thread only
    ServiceHostSetPtr published;       // guarded by stats_mu_
    ServiceDiscoveryStats stats;       // guarded by stats_mu_ (connected filled on read)
  };
  struct Pending {
    bool full_resync = false;       // re-read everything including member data
    bool relist_all = false;        // re-list every path
    std::set<std::string> paths;    // watched paths to re-list
    std::set<std::string> members;  // member znodes to re-read
    bool empty() const { return !full_resync && !relist_all && paths.empty() && members.empty(); }
  };

  void OnZkEvent(const ZkEvent& event);
  void Run();
  bool Process(const Pending& work);
  bool ReadPath(WatchedService& service, const std::string& path, bool reread_data);
  bool ReadMember(WatchedService& service, const std::string& path, const std::string& name);
  void PublishIfChanged(WatchedService& service);

  ZkSession& session_;
  HostSetListener& listener_;
  const ServerSetWatcherOptions options_;
  std::vector<std::unique_ptr<WatchedService>> services_;
  std::set<std::string> watched_paths_;  // immutable after construction

  std::atomic<uint64_t> zookeeper_events_{0};
  std::atomic<uint64_t> bad_members_{0};
  std::atomic<uint64_t> read_errors_{0};
  std::atomic<uint64_t> publishes_{0};

  mutable std::mutex stats_mu_;

  std::mutex mu_;
  std::condition_variable cv_;
  Pending pending_;
  bool stopping_ = false;
  bool started_ = false;
  ZkSession::SubscriberId subscription_ = 0;
  std::thread thread_;
};

}  // namespace canarymesh
