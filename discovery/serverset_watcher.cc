#include "discovery/serverset_watcher.h"

#include <pthread.h>

#include "core/clock.h"
#include "core/logging.h"
#include "discovery/zk_ops.h"

namespace canarymesh {
namespace {

std::string Describe(const ServiceHostSet& set) {
  std::string text;
  for (const auto& [version, endpoints] : set.versions) {
    text += (text.empty() ? "" : ", ") + version + "=" + std::to_string(endpoints.size());
  }
  return text.empty() ? "no live instances" : text;
}

}  // namespace

ServerSetWatcher::ServerSetWatcher(ZkSession& session, const std::vector<ServiceConfig>& services,
                                   HostSetListener& listener, ServerSetWatcherOptions options)
    : session_(session), listener_(listener), options_(options) {
  for (const auto& config : services) {
    if (config.serverset.path.empty()) continue;
    auto watched = std::make_unique<WatchedService>(config);
    watched->stats.service = config.name;
    watched->stats.paths = watched->members.paths();
    for (const auto& path : watched->members.paths()) watched_paths_.insert(path);
    services_.push_back(std::move(watched));
  }
}

ServerSetWatcher::~ServerSetWatcher() { Stop(); }

void ServerSetWatcher::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  subscription_ = session_.Subscribe([this](const ZkEvent& event) { OnZkEvent(event); });
  // If the session connected before we subscribed, its kConnected event is gone: read
  // everything now. Otherwise that event will ask for the read; asking here as well would read
  // every member twice at start-up (22,000 requests instead of 11,000 for 10,000 members).
  if (session_.connected()) pending_.full_resync = true;
  thread_ = std::thread([this] { Run(); });
}

void ServerSetWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
  }
  session_.Unsubscribe(subscription_);  // no OnZkEvent after this
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

// ZooKeeper completion thread: record what needs reading, never read here.
void ServerSetWatcher::OnZkEvent(const ZkEvent& event) {
  zookeeper_events_.fetch_add(1);
  std::lock_guard lock(mu_);
  switch (event.kind) {
    case ZkEvent::Kind::kConnected:
      pending_.full_resync = true;
      break;
    case ZkEvent::Kind::kDisconnected:
    case ZkEvent::Kind::kSessionExpired:
      return;  // keep serving the last good sets; kConnected will trigger a full re-read
    case ZkEvent::Kind::kNodeCreated:
    case ZkEvent::Kind::kNodeDeleted:
    case ZkEvent::Kind::kChildrenChanged:
    case ZkEvent::Kind::kDataChanged: {
      std::string parent = ZkParentPath(event.path);
      if (watched_paths_.count(event.path)) {
        pending_.paths.insert(event.path);
      } else if (watched_paths_.count(parent)) {
        std::string name = event.path.substr(parent == "/" ? 1 : parent.size() + 1);
        if (!IsServerSetMemberName(name)) return;
        if (event.kind == ZkEvent::Kind::kDataChanged) {
          pending_.members.insert(event.path);
        } else {
          pending_.paths.insert(parent);
        }
      } else {
        return;
      }
      break;
    }
  }
  cv_.notify_all();
}

void ServerSetWatcher::Run() {
  pthread_setname_np(pthread_self(), "cm-serverset");
  using Clock = std::chrono::steady_clock;
  auto next_relist = Clock::now() + options_.resync_interval;
  auto retry_at = Clock::time_point::max();
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_until(lock, std::min(next_relist, retry_at),
                   [this] { return stopping_ || !pending_.empty(); });
    if (stopping_) return;
    auto now = Clock::now();
    if (now >= next_relist) {
      pending_.relist_all = true;
      next_relist = now + options_.resync_interval;
    }
    if (now >= retry_at) {
      pending_.full_resync = true;
      retry_at = Clock::time_point::max();
    }
    Pending work = std::move(pending_);
    pending_ = Pending{};
    lock.unlock();
    bool ok = Process(work);
    lock.lock();
    // While disconnected the kConnected event brings the re-read; polling would only add load.
    if (!ok && session_.connected()) retry_at = Clock::now() + options_.retry_delay;
  }
}

bool ServerSetWatcher::Process(const Pending& work) {
  bool ok = true;
  for (auto& service : services_) {
    bool touched = false;
    for (const auto& path : service->members.paths()) {
      bool relist = work.full_resync || work.relist_all || work.paths.count(path) ||
                    !service->read_paths.count(path);
      if (relist) {
        ok = ReadPath(*service, path, work.full_resync) && ok;
        touched = true;
        if (work.full_resync) continue;  // every member's data was just read
      }
      // A listing reads only new members: changed data of known ones is read here, which also
      // re-arms their (one-shot) data watches.
      for (const auto& member : work.members) {
        if (ZkParentPath(member) != path) continue;
        ok = ReadMember(*service, path, member.substr(path == "/" ? 1 : path.size() + 1)) && ok;
        touched = true;
      }
    }
    if (touched) PublishIfChanged(*service);
  }
  return ok;
}

// Lists `path` (re-arming its child watch) and reads the members whose data is unknown, or all of
// them when `reread_data` (their data watches may be gone with an old session).
bool ServerSetWatcher::ReadPath(WatchedService& service, const std::string& path,
                                bool reread_data) {
  ServiceMembers& members = service.members;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto children = ZkGetChildren(session_, path, /*watch=*/true);
    if (children.status().code() == Status::Code::kNotFound) {
      // Not created yet (or deleted): watch for its creation. If it appeared meanwhile, list again.
      auto exists = ZkExists(session_, path, /*watch=*/true);
      if (!exists.ok()) {
        read_errors_.fetch_add(1);
        LOG_WARN << "serverset " << members.service() << ": " << exists.status().message();
        return false;
      }
      if (exists.value()) continue;
      if (members.path_exists(path) || !service.read_paths.count(path)) {
        LOG_INFO << "serverset " << members.service() << ": " << path
                 << " does not exist; watching for its creation";
      }
      members.SetAbsent(path);
      service.read_paths.insert(path);
      return true;
    }
    if (!children.ok()) {
      read_errors_.fetch_add(1);
      LOG_WARN << "serverset " << members.service() << ": " << children.status().message();
      return false;
    }
    std::vector<std::string> unknown = members.SetChildren(path, children.value());
    const std::vector<std::string> to_read = reread_data ? members.MemberNames(path) : unknown;
    bool ok = true;
    for (const auto& name : to_read) ok = ReadMember(service, path, name) && ok;
    // The path counts as read even if some member reads failed: what we hold is still the
    // last known data for those, and the retry fills in the rest.
    service.read_paths.insert(path);
    return ok;
  }
  return false;  // it keeps appearing and vanishing; the retry will look again
}

bool ServerSetWatcher::ReadMember(WatchedService& service, const std::string& path,
                                  const std::string& name) {
  std::string znode = ZkJoinPath(path, name);
  auto data = ZkGetData(session_, znode, /*watch=*/true);
  if (data.status().code() == Status::Code::kNotFound) {
    // Deleted between the listing and this read: harmless, its parent's child watch fires too.
    service.members.RemoveMember(path, name);
    return true;
  }
  if (!data.ok()) {
    read_errors_.fetch_add(1);
    LOG_WARN << "serverset " << service.members.service() << ": " << data.status().message();
    return false;
  }
  MemberDataResult result = service.members.SetMemberData(path, name, data->data);
  if (!result.problem.ok()) {
    bad_members_.fetch_add(1);
    LOG_WARN << "serverset " << service.members.service() << ": skipping member " << znode << ": "
             << result.problem.message();
  }
  return true;
}

void ServerSetWatcher::PublishIfChanged(WatchedService& service) {
  ServiceMembers& members = service.members;
  for (const auto& path : members.paths()) {
    if (!service.read_paths.count(path)) return;  // never publish a half-read service
  }
  auto next = std::make_shared<ServiceHostSet>(members.BuildHostSet());
  ServiceHostSetPtr previous;
  {
    std::lock_guard lock(stats_mu_);
    service.stats.members = members.member_count();
    service.stats.bad_members = members.bad_member_count();
    previous = service.published;
    if (previous && SameHosts(*previous, *next)) return;
    next->updated_unix_ms = UnixMillis();
    size_t live = 0;
    for (const auto& [version, endpoints] : next->versions) live += endpoints.size();
    service.published = next;
    service.stats.synced = true;
    service.stats.last_update_unix_ms = next->updated_unix_ms;
    service.stats.live_endpoints = live;
  }
  LOG_INFO << "serverset " << members.service() << ": " << Describe(*next);
  publishes_.fetch_add(1);
  listener_.OnHostSet(next);
}

ServerSetWatcherStats ServerSetWatcher::Stats() const {
  ServerSetWatcherStats stats;
  stats.connected = session_.connected();
  stats.zookeeper_events = zookeeper_events_.load();
  stats.session_expiries = session_.session_expiries();
  stats.bad_members = bad_members_.load();
  stats.read_errors = read_errors_.load();
  stats.publishes = publishes_.load();
  std::lock_guard lock(stats_mu_);
  for (const auto& service : services_) {
    stats.services.push_back(service->stats);
    stats.services.back().connected = stats.connected;
  }
  return stats;
}

ServiceHostSetPtr ServerSetWatcher::Current(const std::string& service) const {
  std::lock_guard lock(stats_mu_);
  for (const auto& watched : services_) {
    if (watched->stats.service == service) return watched->published;
  }
  return nullptr;
}

}  // namespace canarymesh
