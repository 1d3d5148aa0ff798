// ZkSession owns one ZooKeeper client session (a zhandle_t of the multi-threaded C client) and
// rebuilds it, with exponential backoff and jitter, whenever the server expires it. Subscribers
// hear about connection changes and about every watch that fires. Thread-safe.
//
// Threads: the C client runs an I/O thread and a completion thread; watch and session events
// arrive on the completion thread, rebuild events on the session's own rebuild thread. Subscriber
// callbacks therefore must only record the event and return quickly: calling a blocking ZooKeeper
// operation from inside one deadlocks the completion thread that would complete it.
#pragma once

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/status.h"

namespace canarymesh {

struct ZkEvent {
  enum class Kind {
    kConnected,       // session (re)connected; watches may have been lost: re-read and re-watch
    kDisconnected,    // connection lost; the session may still come back
    kSessionExpired,  // session gone (ephemerals deleted, watches lost); a new one is being built
    kNodeCreated,
    kNodeDeleted,
    kDataChanged,
    kChildrenChanged,
  };
  Kind kind;
  std::string path;        // node events only; relative to the chroot, as the C client reports it
  int64_t session_id = 0;  // kConnected only
};

const char* ZkEventKindName(ZkEvent::Kind kind);

struct ZkSessionOptions {
  std::chrono::milliseconds rebuild_backoff_min{100};
  std::chrono::milliseconds rebuild_backoff_max{10000};
};

class ZkSession {
 public:
  using SubscriberId = uint64_t;
  using Subscriber = std::function<void(const ZkEvent&)>;

  // Starts connecting in the background; does not wait for the server. Fails only on a bad config.
  static Result<std::unique_ptr<ZkSession>> Create(const ZooKeeperConfig& config,
                                                   ZkSessionOptions options = {});
  ~ZkSession();  // closes the session (the server deletes its ephemeral nodes at once)
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  SubscriberId Subscribe(Subscriber subscriber);
  // When this returns the subscriber is not running and never will again.
  void Unsubscribe(SubscriberId id);

  // Runs `op` with the current handle, kept open until `op` returns. Returns Unavailable when there
  // is no handle (an expired session waiting for its rebuild). Reads made inside with watch=1 set
  // watches whose events reach the subscribers. Must not be called from a subscriber callback.
  Status WithHandle(const std::function<Status(zhandle_t*)>& op);

  bool connected() const { return connected_.load(); }
  // Blocks until connected or the timeout passes; for start-up and tests.
  bool WaitConnected(std::chrono::milliseconds timeout);
  int64_t session_id() const { return session_id_.load(); }
  // Session id and password of the current handle, or nothing before the first connection.
  std::optional<clientid_t> client_id();
  uint64_t session_expiries() const { return expiries_.load(); }
  uint64_t sessions_created() const { return sessions_created_.load(); }
  const std::string& connect_string() const { return connect_string_; }

 private:
  struct HandleContext {
    ZkSession* session;
    uint64_t generation;
  };

  ZkSession(const ZooKeeperConfig& config, std::string connect_string, ZkSessionOptions options);
  static void OnWatcherEvent(zhandle_t* zh, int type, int state, const char* path, void* context);
  void HandleSessionState(zhandle_t* zh, int state);
  void Broadcast(const ZkEvent& event);
  bool OpenHandle();
  void CloseHandle();
  void RebuildLoop();
  std::chrono::milliseconds NextBackoff();

  const ZooKeeperConfig config_;
  const std::string connect_string_;  // "host:port,host:port/chroot"
  const ZkSessionOptions options_;

  std::shared_mutex handle_mu_;  // shared: operations in flight; exclusive: open/close
  zhandle_t* handle_ = nullptr;
  std::unique_ptr<HandleContext> context_;
  std::atomic<uint64_t> generation_{0};  // events from closed handles carry an old generation
  std::chrono::steady_clock::time_point opened_at_;
  int rebuild_failures_ = 0;  // rebuild thread only

  std::atomic<bool> connected_{false};
  std::atomic<int64_t> session_id_{0};
  std::atomic<uint64_t> expiries_{0};
  std::atomic<uint64_t> sessions_created_{0};

  std::mutex subscribers_mu_;  // held while a callback runs, so Unsubscribe waits for it
  std::map<SubscriberId, Subscriber> subscribers_;
  SubscriberId next_subscriber_id_ = 1;

  std::mutex state_mu_;
  std::condition_variable state_cv_;
  bool rebuild_wanted_ = false;
  bool stopping_ = false;
  std::thread rebuild_thread_;
};

// Maps a ZooKeeper return code to a Status: ZNONODE -> NotFound, connection trouble -> Unavailable.
Status ZkStatus(int rc, const std::string& what);

}  // namespace canarymesh
