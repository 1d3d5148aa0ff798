// ZnodeDataWatcher follows the content of one znode (e.g. a route policy at
// /canarymesh/routes/<service>) and reports each change, creation and deletion, re-reading after
// reconnects and rebuilt sessions. Thread-safe public methods; the callback runs only on the
// watcher's own thread, one call at a time. Nothing is reported while ZooKeeper is unreachable.
// To write such a znode, see WritePersistentZnode in discovery/zk_ops.h.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "discovery/zk_session.h"

namespace canarymesh {

struct ZnodeContent {
  bool exists = false;
  std::string data;   // empty when the node does not exist
  int64_t mzxid = 0;  // zxid of the last change, 0 when absent
};

class ZnodeDataWatcher {
 public:
  using Callback = std::function<void(const ZnodeContent&)>;

  // The first successful read is always reported (also "absent"); after that only changes of
  // existence or data. `session` must outlive this.
  ZnodeDataWatcher(ZkSession& session, std::string path, Callback callback,
                   std::chrono::milliseconds retry_delay = std::chrono::milliseconds(1000));
  ~ZnodeDataWatcher();  // Stop()
  ZnodeDataWatcher(const ZnodeDataWatcher&) = delete;
  ZnodeDataWatcher& operator=(const ZnodeDataWatcher&) = delete;

  void Start();
  void Stop();  // after return the callback is not running and will not be called again

  const std::string& path() const { return path_; }
  bool connected() const { return session_.connected(); }
  std::optional<ZnodeContent> Last() const;  // last reported content; nullopt before the first
  uint64_t zookeeper_events() const { return zookeeper_events_.load(); }
  uint64_t read_errors() const { return read_errors_.load(); }

 private:
  void OnZkEvent(const ZkEvent& event);
  void Run();
  bool ReadAndReport();

  ZkSession& session_;
  const std::string path_;
  const Callback callback_;
  const std::chrono::milliseconds retry_delay_;
  std::atomic<uint64_t> zookeeper_events_{0};
  std::atomic<uint64_t> read_errors_{0};

  mutable std::mutex last_mu_;
  std::optional<ZnodeContent> last_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool read_wanted_ = false;
  bool started_ = false;
  bool stopping_ = false;
  ZkSession::SubscriberId subscription_ = 0;
  std::thread thread_;
};

}  // namespace canarymesh
