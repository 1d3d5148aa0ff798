#include "discovery/zk_session.h"

#include <pthread.h>

#include <cstring>
#include <mutex>
#include <random>

#include "core/logging.h"

namespace canarymesh {
namespace {

// The C client logs through one process-wide level; warnings and errors are worth keeping.
void ConfigureClientLogging() {
  static std::once_flag once;
  std::call_once(once, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
}

// The C client repeats the same error several times a second while a server is down; pass on
// at most one warning per 10 s and say how many were folded into it.
void LogFromClient(const char* message) {
  if (std::strstr(message, "ZOO_ERROR") == nullptr) {
    LOG_DEBUG << "zookeeper client: " << message;
    return;
  }
  static std::mutex mu;
  static std::chrono::steady_clock::time_point last_warning{};
  static uint64_t suppressed = 0;
  auto now = std::chrono::steady_clock::now();
  uint64_t folded = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (last_warning.time_since_epoch().count() != 0 &&
        now - last_warning < std::chrono::seconds(10)) {
      ++suppressed;
      return;
    }
    last_warning = now;
    folded = suppressed;
    suppressed = 0;
  }
  if (folded > 0) {
    LOG_WARN << "zookeeper client: " << message << " (" << folded
             << " similar errors in the last 10 s not shown)";
  } else {
    LOG_WARN << "zookeeper client: " << message;
  }
}

std::optional<ZkEvent::Kind> NodeEventKind(int type) {
  if (type == ZOO_CREATED_EVENT) return ZkEvent::Kind::kNodeCreated;
  if (type == ZOO_DELETED_EVENT) return ZkEvent::Kind::kNodeDeleted;
  if (type == ZOO_CHANGED_EVENT) return ZkEvent::Kind::kDataChanged;
  if (type == ZOO_CHILD_EVENT) return ZkEvent::Kind::kChildrenChanged;
  return std::nullopt;  // ZOO_NOTWATCHING_EVENT and anything newer
}

}  // namespace

const char* ZkEventKindName(ZkEvent::Kind kind) {
  switch (kind) {
    case ZkEvent::Kind::kConnected:
      return "connected";
    case ZkEvent::Kind::kDisconnected:
      return "disconnected";
    case ZkEvent::Kind::kSessionExpired:
      return "session-expired";
    case ZkEvent::Kind::kNodeCreated:
      return "node-created";
    case ZkEvent::Kind::kNodeDeleted:
      return "node-deleted";
    case ZkEvent::Kind::kDataChanged:
      return "data-changed";
    case ZkEvent::Kind::kChildrenChanged:
      return "children-changed";
  }
  return "unknown";
}

Status ZkStatus(int rc, const std::string& what) {
  if (rc == ZOK) return Status::Ok();
  std::string message = what + ": " + zerror(rc);
  switch (rc) {
    case ZNONODE:
      return Status::NotFound(message);
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONEXPIRED:
    case ZSESSIONMOVED:
    case ZINVALIDSTATE:
    case ZCLOSING:
    case ZTHROTTLEDOP:
      return Status::Unavailable(message);
    case ZBADARGUMENTS:
    case ZNODEEXISTS:
    case ZNOTEMPTY:
    case ZBADVERSION:
    case ZNOCHILDRENFOREPHEMERALS:
      return Status::InvalidArgument(message);
    default:
      return Status::IoError(message);
  }
}

Result<std::unique_ptr<ZkSession>> ZkSession::Create(const ZooKeeperConfig& config,
                                                     ZkSessionOptions options) {
  if (config.connect.empty()) return Status::InvalidArgument("zookeeper.connect: empty");
  if (config.connect.find('/') != std::string::npos) {
    return Status::InvalidArgument("zookeeper.connect: put the chroot in zookeeper.chroot");
  }
  std::string chroot = config.chroot;
  if (!chroot.empty() && (chroot[0] != '/' || chroot.back() == '/')) {
    return Status::InvalidArgument("zookeeper.chroot: must start with '/' and not end with '/'");
  }
  if (options.rebuild_backoff_min.count() <= 0 ||
      options.rebuild_backoff_max < options.rebuild_backoff_min) {
    return Status::InvalidArgument("zookeeper session: bad rebuild backoff bounds");
  }
  ConfigureClientLogging();
  std::unique_ptr<ZkSession> session(new ZkSession(config, config.connect + chroot, options));
  {
    std::unique_lock lock(session->handle_mu_);
    if (!session->OpenHandle()) {
      return Status::InvalidArgument("zookeeper.connect '" + config.connect +
                                     "': the client rejected it (" + std::strerror(errno) + ")");
    }
  }
  session->rebuild_thread_ = std::thread([s = session.get()] { s->RebuildLoop(); });
  return session;
}

ZkSession::ZkSession(const ZooKeeperConfig& config, std::string connect_string,
                     ZkSessionOptions options)
    : config_(config), connect_string_(std::move(connect_string)), options_(options) {}

ZkSession::~ZkSession() {
  {
    std::lock_guard lock(state_mu_);
    stopping_ = true;
  }
  state_cv_.notify_all();
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  CloseHandle();
}

ZkSession::SubscriberId ZkSession::Subscribe(Subscriber subscriber) {
  std::lock_guard lock(subscribers_mu_);
  SubscriberId id = next_subscriber_id_++;
  subscribers_[id] = std::move(subscriber);
  return id;
}

void ZkSession::Unsubscribe(SubscriberId id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

void ZkSession::Broadcast(const ZkEvent& event) {
  std::lock_guard lock(subscribers_mu_);
  for (auto& [id, subscriber] : subscribers_) subscriber(event);
}

Status ZkSession::WithHandle(const std::function<Status(zhandle_t*)>& op) {
  std::shared_lock lock(handle_mu_);
  if (handle_ == nullptr) return Status::Unavailable("zookeeper: session is being rebuilt");
  return op(handle_);
}

bool ZkSession::WaitConnected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_mu_);
  return state_cv_.wait_for(lock, timeout, [this] { return connected_.load() || stopping_; }) &&
         connected_.load();
}

std::optional<clientid_t> ZkSession::client_id() {
  std::shared_lock lock(handle_mu_);
  if (handle_ == nullptr || !connected_.load()) return std::nullopt;
  return *zoo_client_id(handle_);
}

// Called with handle_mu_ held exclusively.
bool ZkSession::OpenHandle() {
  uint64_t generation = generation_.fetch_add(1) + 1;
  context_ = std::make_unique<HandleContext>(HandleContext{this, generation});
  handle_ = zookeeper_init2(connect_string_.c_str(), &ZkSession::OnWatcherEvent,
                            static_cast<int>(config_.session_timeout_ms), nullptr, context_.get(),
                            0, &LogFromClient);
  if (handle_ == nullptr) return false;
  opened_at_ = std::chrono::steady_clock::now();
  sessions_created_.fetch_add(1);
  return true;
}

void ZkSession::CloseHandle() {
  std::unique_lock lock(handle_mu_);
  if (handle_ == nullptr) return;
  generation_.fetch_add(1);  // whatever the closing handle still delivers is now stale
  // zookeeper_close joins the client's threads, so no callback can use context_ afterwards.
  zookeeper_close(handle_);
  handle_ = nullptr;
  context_.reset();
  connected_ = false;
  session_id_ = 0;
}

void ZkSession::OnWatcherEvent(zhandle_t* zh, int type, int state, const char* path,
                               void* context) {
  auto* ctx = static_cast<HandleContext*>(context);
  ZkSession* self = ctx->session;
  if (ctx->generation != self->generation_.load()) return;
  if (type == ZOO_SESSION_EVENT) {
    self->HandleSessionState(zh, state);
    return;
  }
  if (auto kind = NodeEventKind(type)) {
    self->Broadcast(ZkEvent{*kind, path != nullptr ? path : "", 0});
  }
}

void ZkSession::HandleSessionState(zhandle_t* zh, int state) {
  if (state == ZOO_CONNECTED_STATE) {
    int64_t id = zoo_client_id(zh)->client_id;
    session_id_ = id;
    {
      std::lock_guard lock(state_mu_);
      connected_ = true;
    }
    state_cv_.notify_all();
    LOG_INFO << "zookeeper: connected to " << connect_string_ << ", session 0x" << std::hex << id;
    Broadcast(ZkEvent{ZkEvent::Kind::kConnected, "", id});
  } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
    connected_ = false;
    expiries_.fetch_add(1);
    LOG_WARN << "zookeeper: session 0x" << std::hex << session_id_.load() << " "
             << (state == ZOO_AUTH_FAILED_STATE ? "failed authentication" : "expired")
             << "; building a new one";
    Broadcast(ZkEvent{ZkEvent::Kind::kSessionExpired, "", 0});
    {
      std::lock_guard lock(state_mu_);
      rebuild_wanted_ = true;
    }
    state_cv_.notify_all();
  } else if (connected_.exchange(false)) {  // CONNECTING / ASSOCIATING: the link dropped
    LOG_WARN << "zookeeper: disconnected from " << connect_string_ << "; reconnecting";
    Broadcast(ZkEvent{ZkEvent::Kind::kDisconnected, "", 0});
  }
}

std::chrono::milliseconds ZkSession::NextBackoff() {
  // A session that lived well past its timeout was healthy: start the backoff over.
  auto lived = std::chrono::steady_clock::now() - opened_at_;
  if (lived > std::chrono::milliseconds(2 * config_.session_timeout_ms)) rebuild_failures_ = 0;
  int64_t ceiling = options_.rebuild_backoff_min.count() << std::min(rebuild_failures_, 20);
  ceiling = std::min<int64_t>(ceiling, options_.rebuild_backoff_max.count());
  ++rebuild_failures_;
  // Jitter in [ceiling/2, ceiling] so that many proxies do not rebuild in lock step.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(ceiling / 2, ceiling);
  return std::chrono::milliseconds(jitter(rng));
}

void ZkSession::RebuildLoop() {
  pthread_setname_np(pthread_self(), "cm-zk-rebuild");
  std::unique_lock lock(state_mu_);
  while (true) {
    state_cv_.wait(lock, [this] { return stopping_ || rebuild_wanted_; });
    if (stopping_) return;
    rebuild_wanted_ = false;
    lock.unlock();
    CloseHandle();
    auto delay = NextBackoff();
    lock.lock();
    if (state_cv_.wait_for(lock, delay, [this] { return stopping_; })) return;
    lock.unlock();
    bool opened;
    {
      std::unique_lock handle_lock(handle_mu_);
      opened = OpenHandle();
    }
    lock.lock();
    if (!opened) {
      LOG_ERROR << "zookeeper: could not create a new session: " << std::strerror(errno);
      rebuild_wanted_ = true;
    }
  }
}

}  // namespace canarymesh
