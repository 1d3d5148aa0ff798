#include "discovery/znode_data_watcher.h"

#include <pthread.h>

#include "core/logging.h"
#include "discovery/zk_ops.h"

namespace canarymesh {

ZnodeDataWatcher::ZnodeDataWatcher(ZkSession& session, std::string path, Callback callback,
                                   std::chrono::milliseconds retry_delay)
    : session_(session),
      path_(std::move(path)),
      callback_(std::move(callback)),
      retry_delay_(retry_delay) {}

ZnodeDataWatcher::~ZnodeDataWatcher() { Stop(); }

void ZnodeDataWatcher::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  read_wanted_ = true;
  subscription_ = session_.Subscribe([this](const ZkEvent& event) { OnZkEvent(event); });
  thread_ = std::thread([this] { Run(); });
}

void ZnodeDataWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
  }
  session_.Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::optional<ZnodeContent> ZnodeDataWatcher::Last() const {
  std::lock_guard lock(last_mu_);
  return last_;
}

// ZooKeeper completion thread: only note that a read is due.
void ZnodeDataWatcher::OnZkEvent(const ZkEvent& event) {
  zookeeper_events_.fetch_add(1);
  bool relevant =
      event.kind == ZkEvent::Kind::kConnected ||
      ((event.kind == ZkEvent::Kind::kNodeCreated || event.kind == ZkEvent::Kind::kNodeDeleted ||
        event.kind == ZkEvent::Kind::kDataChanged) &&
       event.path == path_);
  if (!relevant) return;
  {
    std::lock_guard lock(mu_);
    read_wanted_ = true;
  }
  cv_.notify_all();
}

void ZnodeDataWatcher::Run() {
  pthread_setname_np(pthread_self(), "cm-znode-watch");
  using Clock = std::chrono::steady_clock;
  auto retry_at = Clock::time_point::max();
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_until(lock, retry_at, [this] { return stopping_ || read_wanted_; });
    if (stopping_) return;
    read_wanted_ = false;
    retry_at = Clock::time_point::max();
    lock.unlock();
    bool ok = ReadAndReport();
    lock.lock();
    if (!ok && session_.connected()) {
      retry_at = Clock::now() + retry_delay_;
    }
  }
}

bool ZnodeDataWatcher::ReadAndReport() {
  std::optional<ZnodeContent> content;
  for (int attempt = 0; attempt < 3 && !content; ++attempt) {
    auto data = ZkGetData(session_, path_, /*watch=*/true);
    if (data.ok()) {
      content = ZnodeContent{true, data->data, data->mzxid};
      break;
    }
    if (data.status().code() != Status::Code::kNotFound) {
      read_errors_.fetch_add(1);
      LOG_WARN << "znode watcher: " << data.status().message();
      return false;
    }
    auto exists = ZkExists(session_, path_, /*watch=*/true);  // fires on creation
    if (!exists.ok()) {
      read_errors_.fetch_add(1);
      LOG_WARN << "znode watcher: " << exists.status().message();
      return false;
    }
    if (!exists.value()) content = ZnodeContent{};  // else it appeared meanwhile: read again
  }
  if (!content) return false;
  {
    std::lock_guard lock(last_mu_);
    if (last_ && last_->exists == content->exists && last_->data == content->data) return true;
    last_ = content;
  }
  callback_(*content);
  return true;
}

}  // namespace canarymesh
