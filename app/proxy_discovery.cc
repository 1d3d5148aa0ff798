#include "app/proxy_discovery.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/proxy_metrics.h"
#include "canary/route_policy.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/net_address.h"

namespace canarymesh {
namespace {

// The sidecar's own ServerSet member: serviceEndpoint = the admin listener, present while the
// admin port accepts connections. A wildcard admin address is announced as this machine's name.
Result<AnnouncerOptions> SidecarAnnouncerOptions(const ProxyConfig& config) {
  auto admin = ParseNetAddress(config.admin.listen);
  if (!admin.ok()) return Status::InvalidArgument("admin.listen: " + admin.status().message());
  std::string host = admin->host;
  std::string check_host = host;
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
      return Status::InvalidArgument("admin.listen " + config.admin.listen +
                                     " is a wildcard address and the host name is unknown");
    }
    host = name;
    check_host = "127.0.0.1";
  }
  AnnouncerOptions options;
  options.path = config.zookeeper.sidecars_path;
  options.member.service_endpoint = {host, admin->port};
  options.member.metadata["role"] = "sidecar";
  options.health_check.kind = HealthCheckConfig::Kind::kTcp;
  options.health_check.host = check_host;
  options.health_check.port = admin->port;
  if (Status valid = ValidateAnnouncerOptions(options); !valid.ok()) return valid;
  return options;
}

}  // namespace

ProxyDiscovery::ProxyDiscovery(const ProxyConfig& config, router::RouteTablePublisher& publisher)
    : config_(config), publisher_(publisher) {}

Result<std::unique_ptr<ProxyDiscovery>> ProxyDiscovery::Create(
    const ProxyConfig& config, router::RouteTablePublisher& publisher) {
  std::unique_ptr<ProxyDiscovery> d(new ProxyDiscovery(config, publisher));
  if (config.zookeeper.connect.empty()) return d;
  auto session = ZkSession::Create(config.zookeeper);
  if (!session.ok()) return session.status();
  d->session_ = std::move(session.value());
  d->watcher_ = std::make_unique<ServerSetWatcher>(*d->session_, config.services, publisher);
  for (const ServiceConfig& svc : config.services) {
    std::string path = config.zookeeper.routes_path + "/" + svc.name;
    ProxyDiscovery* self = d.get();
    std::string name = svc.name;
    d->policy_watchers_.push_back(std::make_unique<ZnodeDataWatcher>(
        *d->session_, path,
        [self, name](const ZnodeContent& content) { self->OnPolicy(name, content); }));
  }
  if (config.announce) {
    auto options = AnnouncerOptionsFromConfig(*config.announce);
    if (!options.ok())
      return Status::InvalidArgument(config.source + ": announce: " + options.status().message());
    d->announcer_ = std::make_unique<Announcer>(*d->session_, std::move(options.value()));
  }
  if (!config.zookeeper.sidecars_path.empty()) {
    auto options = SidecarAnnouncerOptions(config);
    if (!options.ok()) {
      return Status::InvalidArgument(config.source +
                                     ": zookeeper.sidecars_path: " + options.status().message());
    }
    d->sidecar_announcer_ = std::make_unique<Announcer>(*d->session_, std::move(options.value()));
  }
  return d;
}

ProxyDiscovery::~ProxyDiscovery() { Stop(); }

void ProxyDiscovery::Start() {
  if (!session_) return;
  watcher_->Start();
  for (auto& w : policy_watchers_) w->Start();
  if (announcer_) {
    Status s = announcer_->Start();
    if (!s.ok()) LOG_ERROR << "announcer: " << s.message();
  }
  if (sidecar_announcer_) {
    Status s = sidecar_announcer_->Start();
    if (!s.ok()) LOG_ERROR << "sidecar announcer: " << s.message();
  }
}

void ProxyDiscovery::WithdrawAnnouncement() {
  if (!announcer_) return;
  Status s = announcer_->Stop();
  if (s.ok()) {
    LOG_INFO << "announcement withdrawn";
  } else {
    LOG_WARN << "announcement withdrawal: " << s.message();
  }
}

void ProxyDiscovery::Stop() {
  WithdrawAnnouncement();
  if (sidecar_announcer_) {
    Status s = sidecar_announcer_->Stop();
    if (!s.ok()) LOG_WARN << "sidecar announcement withdrawal: " << s.message();
  }
  for (auto& w : policy_watchers_) w->Stop();
  if (watcher_) watcher_->Stop();
}

bool ProxyDiscovery::InitialSyncDone() const {
  if (!watcher_) return true;
  for (const ServiceDiscoveryStats& s : watcher_->Stats().services) {
    if (!s.synced) return false;
  }
  return true;
}

void ProxyDiscovery::OnPolicy(const std::string& service, const ZnodeContent& content) {
  if (!content.exists || content.data.empty()) {
    // No policy in ZooKeeper: the config's policy (or plain balancing) applies.
    publisher_.ClearPolicy(service);
    return;
  }
  auto policy =
      canary::RoutePolicy::FromJson(content.data, canary::PolicySource::kZooKeeper, UnixMillis());
  if (!policy.ok()) {
    policy_rejections_.fetch_add(1);
    LOG_ERROR << "route policy for " << service << " at " << config_.zookeeper.routes_path << "/"
              << service << " refused, previous policy kept: " << policy.status().message();
    return;
  }
  Status s = publisher_.SetPolicy(service, std::move(policy.value()));
  if (s.ok()) {
    policy_updates_.fetch_add(1);
    LOG_INFO << "route policy for " << service << " from ZooKeeper: " << content.data;
  }
}

void ProxyDiscovery::RegisterAdmin(AdminServer& admin) {
  admin.Register("/admin/services", [this](const AdminRequest&) {
    using Json = nlohmann::json;
    Json services = Json::array();
    auto table = publisher_.Current();
    ServerSetWatcherStats zk;
    if (watcher_) zk = watcher_->Stats();
    int64_t now_steady = SteadyMillis();
    for (const auto& route : table->services()) {
      Json versions = Json::object();
      for (const auto& group : route->versions) {
        Json instances = Json::array();
        for (const auto& inst : group.instances) {
          bool ejected = inst->IsEjected(now_steady);
          instances.push_back(Json{{"address", inst->label()},
                                   {"state", ejected ? "ejected" : "live"},
                                   {"ejections", inst->ejections_total()}});
        }
        versions[group.name] = instances;
      }
      Json entry{{"service", route->name},
                 {"source", route->source},
                 {"updated_unix_ms", route->updated_unix_ms},
                 {"live_instances", route->live_instances},
                 {"versions", versions}};
      for (const ServiceDiscoveryStats& s : zk.services) {
        if (s.service != route->name) continue;
        entry["zookeeper"] = Json{{"paths", s.paths},
                                  {"synced", s.synced},
                                  {"last_update_unix_ms", s.last_update_unix_ms},
                                  {"members", s.members},
                                  {"bad_members", s.bad_members}};
      }
      services.push_back(std::move(entry));
    }
    Json body{{"services", services}};
    if (session_) {
      body["zookeeper"] = Json{{"connect", config_.zookeeper.connect},
                               {"connected", session_->connected()},
                               {"session_expiries", session_->session_expiries()}};
    }
    AdminResponse r;
    r.content_type = "application/json";
    r.body = body.dump(2) + "\n";
    return r;
  });
}

std::vector<prometheus::MetricFamily> ProxyDiscovery::CollectFamilies() const {
  std::vector<prometheus::MetricFamily> out;
  if (!session_) return out;
  ServerSetWatcherStats s = watcher_->Stats();
  uint64_t policy_events = 0;
  for (const auto& w : policy_watchers_) policy_events += w->zookeeper_events();
  out.push_back(
      GaugeFamily("canarymesh_zookeeper_connected", "1 while the ZooKeeper session is connected."));
  AddSample(out.back(), session_->connected() ? 1 : 0);
  out.push_back(CounterFamily("canarymesh_zookeeper_events_total",
                              "ZooKeeper session and watch events received."));
  AddSample(out.back(), static_cast<double>(s.zookeeper_events + policy_events));
  out.push_back(CounterFamily("canarymesh_zookeeper_session_expiries_total",
                              "ZooKeeper sessions that expired and were rebuilt."));
  AddSample(out.back(), static_cast<double>(session_->session_expiries()));
  out.push_back(CounterFamily("canarymesh_serverset_bad_members_total",
                              "ServerSet members skipped because their data was unusable."));
  AddSample(out.back(), static_cast<double>(s.bad_members));
  out.push_back(
      CounterFamily("canarymesh_zookeeper_read_errors_total", "ZooKeeper reads that failed."));
  AddSample(out.back(), static_cast<double>(s.read_errors));
  out.push_back(CounterFamily("canarymesh_route_policy_updates_total",
                              "Route policies applied from ZooKeeper."));
  AddSample(out.back(), static_cast<double>(policy_updates_.load()));
  out.push_back(CounterFamily("canarymesh_route_policy_rejected_total",
                              "Malformed route policies refused (previous kept)."));
  AddSample(out.back(), static_cast<double>(policy_rejections_.load()));
  out.push_back(GaugeFamily("canarymesh_serverset_members",
                            "Member znodes seen per service (usable or not)."));
  for (const ServiceDiscoveryStats& svc : s.services) {
    AddSample(out.back(), static_cast<double>(svc.members), {{"service", svc.service}});
  }
  return out;
}

}  // namespace canarymesh
