#include "discovery/announcer.h"

#include <pthread.h>

#include "core/logging.h"
#include "core/net_address.h"
#include "discovery/zk_ops.h"

namespace canarymesh {
namespace {

ServerSetMember AliveMember(ServerSetMember member) {
  member.status = MemberStatus::kAlive;
  return member;
}

}  // namespace

Status ValidateAnnouncerOptions(const AnnouncerOptions& options) {
  const std::string& path = options.path;
  if (path.empty() || path[0] != '/' || path.back() == '/') {
    return Status::InvalidArgument("announce.path: must be an absolute ZooKeeper path");
  }
  if (options.member.service_endpoint.host.empty() || options.member.service_endpoint.port == 0) {
    return Status::InvalidArgument("announce: service endpoint host and port must be set");
  }
  for (const auto& [name, endpoint] : options.member.additional_endpoints) {
    if (name.empty() || endpoint.host.empty() || endpoint.port == 0) {
      return Status::InvalidArgument("announce: endpoint '" + name +
                                     "' needs a name, host and port");
    }
  }
  if (options.check_interval.count() <= 0) {
    return Status::InvalidArgument("announce: check interval must be > 0");
  }
  if (options.rise == 0 || options.fall == 0) {
    return Status::InvalidArgument("announce: rise and fall must be >= 1");
  }
  return ValidateHealthCheck(options.health_check);
}

Result<AnnouncerOptions> AnnouncerOptionsFromConfig(const AnnounceConfig& config) {
  AnnouncerOptions options;
  options.path = config.path;
  options.member.service_endpoint = {config.host, static_cast<uint16_t>(config.port)};
  for (const auto& [name, port] : config.endpoints) {
    options.member.additional_endpoints[name] = {config.host, static_cast<uint16_t>(port)};
  }
  options.member.shard = config.shard;
  if (!config.version.empty()) options.member.metadata["version"] = config.version;
  const AnnounceHealthConfig& check = config.health_check;
  options.health_check.kind =
      check.kind == "tcp" ? HealthCheckConfig::Kind::kTcp : HealthCheckConfig::Kind::kHttp;
  options.health_check.port = static_cast<uint16_t>(config.port);
  if (!check.address.empty()) {
    auto address = ParseNetAddress(check.address);
    if (!address.ok())
      return Status::InvalidArgument("announce.health_check.address: " +
                                     address.status().message());
    options.health_check.host = address->host;
    options.health_check.port = address->port;
  }
  options.health_check.http_path = check.path;
  options.health_check.timeout = std::chrono::milliseconds(check.timeout_ms);
  options.check_interval = std::chrono::milliseconds(check.interval_ms);
  options.rise = check.rise;
  options.fall = check.fall;
  if (Status valid = ValidateAnnouncerOptions(options); !valid.ok()) return valid;
  return options;
}

Announcer::Announcer(ZkSession& session, AnnouncerOptions options)
    : session_(session),
      options_(std::move(options)),
      data_(SerializeServerSetMember(AliveMember(options_.member))) {}

Announcer::~Announcer() { Stop(); }

Status Announcer::Start() {
  if (Status valid = ValidateAnnouncerOptions(options_); !valid.ok()) return valid;
  std::lock_guard lock(mu_);
  if (started_) return Status::Ok();
  started_ = true;
  subscription_ = session_.Subscribe([this](const ZkEvent& event) { OnZkEvent(event); });
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

Status Announcer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return Status::Ok();
  }
  session_.Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // The thread is gone: the rest runs alone.
  if (uncertain_create_) AdoptOrDeleteUncertain(/*keep_one=*/false);
  if (stats_.member_path.empty()) return Status::Ok();
  Status deleted = ZkDelete(session_, stats_.member_path);
  if (!deleted.ok() && session_.session_id() != member_owner_) {
    deleted = Status::Ok();  // its session is gone, and ZooKeeper removed it with the session
  }
  if (!deleted.ok()) {
    LOG_ERROR << "announcer: could not delete " << stats_.member_path
              << " on stop: " << deleted.message()
              << " (ZooKeeper removes it when the session ends)";
    return deleted;
  }
  LOG_INFO << "announcer: withdrew " << stats_.member_path << " on stop";
  std::lock_guard lock(stats_mu_);
  stats_.member_path.clear();
  stats_.announced = false;
  return Status::Ok();
}

AnnouncerStats Announcer::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

// ZooKeeper completion thread: a new or rebuilt session means our member may be gone.
void Announcer::OnZkEvent(const ZkEvent& event) {
  if (event.kind != ZkEvent::Kind::kConnected && event.kind != ZkEvent::Kind::kSessionExpired)
    return;
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Announcer::Run() {
  pthread_setname_np(pthread_self(), "cm-announcer");
  using Clock = std::chrono::steady_clock;
  auto next_check = Clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (Clock::now() >= next_check) {
      CheckHealth();
      next_check = Clock::now() + options_.check_interval;
    }
    Reconcile();
    lock.lock();
    cv_.wait_until(lock, next_check, [this] { return stopping_ || wake_; });
    wake_ = false;
  }
}

void Announcer::CheckHealth() {
  Status result = RunHealthCheck(options_.health_check);
  std::lock_guard lock(stats_mu_);
  if (result.ok()) {
    failures_ = 0;
    ++passes_;
    if (!stats_.healthy && passes_ >= options_.rise) {
      LOG_INFO << "announcer: health check passes for " << options_.path;
      stats_.healthy = true;
    }
    stats_.last_check_error.clear();
  } else {
    passes_ = 0;
    ++failures_;
    ++stats_.failed_checks;
    if (stats_.healthy && failures_ >= options_.fall) {
      LOG_WARN << "announcer: health check fails for " << options_.path << ": " << result.message();
      stats_.healthy = false;
    }
    stats_.last_check_error = result.message();
  }
}

// Brings ZooKeeper in line with the health state. Runs on every tick and session change, so a
// member deleted by its session's expiry (or by hand) is noticed and written again.
void Announcer::Reconcile() {
  if (!session_.connected()) return;  // the server keeps or drops our member; look when back
  int64_t session = session_.session_id();
  if (uncertain_create_) AdoptOrDeleteUncertain(/*keep_one=*/stats_.healthy);
  if (!stats_.member_path.empty()) {
    auto present = ZkExists(session_, stats_.member_path, /*watch=*/false);
    if (!present.ok()) {
      std::lock_guard lock(stats_mu_);
      ++stats_.zookeeper_errors;
      return;
    }
    if (!present.value() || present.value()->ephemeral_owner != session) {
      LOG_WARN << "announcer: " << stats_.member_path << " is gone (session expired or deleted)";
      std::lock_guard lock(stats_mu_);
      stats_.member_path.clear();
      stats_.announced = false;
    }
  }
  Status result;
  if (stats_.healthy && stats_.member_path.empty()) {
    result = Announce();
  } else if (!stats_.healthy && !stats_.member_path.empty()) {
    result = Withdraw();
  }
  if (!result.ok()) {
    LOG_WARN << "announcer: " << result.message();
    std::lock_guard lock(stats_mu_);
    ++stats_.zookeeper_errors;
  }
}

Status Announcer::Announce() {
  if (Status s = ZkEnsurePath(session_, options_.path); !s.ok()) return s;
  auto created = ZkCreate(session_, ZkJoinPath(options_.path, "member_"), data_,
                          ZnodeMode::kEphemeralSequential);
  if (!created.ok()) {
    // The request may have reached the server before the connection dropped.
    if (created.status().code() == Status::Code::kUnavailable) uncertain_create_ = true;
    return created.status();
  }
  LOG_INFO << "announcer: announced " << created.value();
  member_owner_ = session_.session_id();  // checked against the node's owner on every tick
  std::lock_guard lock(stats_mu_);
  stats_.member_path = created.value();
  stats_.announced = true;
  ++stats_.announcements;
  return Status::Ok();
}

Status Announcer::Withdraw() {
  Status deleted = ZkDelete(session_, stats_.member_path);
  if (!deleted.ok()) return deleted;
  LOG_INFO << "announcer: withdrew " << stats_.member_path;
  std::lock_guard lock(stats_mu_);
  stats_.member_path.clear();
  stats_.announced = false;
  ++stats_.withdrawals;
  return Status::Ok();
}

// Finds members this session created with our data after a create whose answer was lost: keeps
// one as ours if wanted and none is recorded, deletes the rest.
void Announcer::AdoptOrDeleteUncertain(bool keep_one) {
  int64_t session = session_.session_id();
  auto children = ZkGetChildren(session_, options_.path, /*watch=*/false);
  if (!children.ok() && children.status().code() != Status::Code::kNotFound) return;  // retry later
  if (children.ok()) {
    for (const auto& name : children.value()) {
      std::string path = ZkJoinPath(options_.path, name);
      if (path == stats_.member_path) continue;
      auto data = ZkGetData(session_, path, /*watch=*/false);
      if (!data.ok() || data->ephemeral_owner != session || data->data != data_) continue;
      if (keep_one && stats_.member_path.empty()) {
        LOG_INFO << "announcer: adopted " << path << " from an unanswered create";
        member_owner_ = session;
        std::lock_guard lock(stats_mu_);
        stats_.member_path = path;
        stats_.announced = true;
        ++stats_.announcements;
      } else if (!ZkDelete(session_, path).ok()) {
        return;  // try again on the next tick
      }
    }
  }
  uncertain_create_ = false;
}

}  // namespace canarymesh
