#include "router/route_table_publisher.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/logging.h"

namespace canarymesh::router {
namespace {}  // namespace

RouteTablePublisher::RouteTablePublisher(const ProxyConfig& config, StatsKeyResolver resolver)
    : config_(config), resolver_(std::move(resolver)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const ServiceConfig& svc : config_.services) {
    if (svc.versions.empty()) continue;
    auto set = std::make_shared<ServiceHostSet>();
    set->service = svc.name;
    set->source = "static";
    set->updated_unix_ms = UnixMillis();
    for (const auto& [version, instances] : svc.versions) {
      auto& endpoints = set->versions[version];
      for (const std::string& text : instances) {
        auto addr = ParseNetAddress(text);  // validated when the config was loaded
        if (addr.ok()) endpoints.push_back(Endpoint{addr->host, addr->port, -1, "static"});
      }
    }
    static_hosts_[svc.name] = std::move(set);
  }
  for (const ServiceConfig& svc : config_.services) {
    if (!svc.route) continue;
    auto policy = canary::RoutePolicy::FromConfig(*svc.route, UnixMillis());
    if (policy.ok()) {
      config_policies_[svc.name] = std::move(policy.value());
    } else {  // the config loader checks the same rules; keep going with plain balancing
      LOG_ERROR << "service " << svc.name
                << ": route policy ignored: " << policy.status().message();
    }
  }
  RebuildLocked();
}

void RouteTablePublisher::OnHostSet(ServiceHostSetPtr hosts) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string service = hosts->service;
  discovered_hosts_[service] = std::move(hosts);
  RebuildLocked(&service);
}

Status RouteTablePublisher::SetPolicy(const std::string& service, canary::RoutePolicy policy) {
  std::lock_guard<std::mutex> lock(mu_);
  bool known = false;
  for (const ServiceConfig& svc : config_.services) known |= svc.name == service;
  if (!known) return Status::NotFound("unknown service '" + service + "'");
  runtime_policies_[service] = std::move(policy);
  RebuildLocked(&service);
  return Status::Ok();
}

void RouteTablePublisher::ClearPolicy(const std::string& service) {
  std::lock_guard<std::mutex> lock(mu_);
  if (runtime_policies_.erase(service)) RebuildLocked(&service);
}

std::shared_ptr<const RouteTable> RouteTablePublisher::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::vector<std::shared_ptr<UpstreamInstance>> RouteTablePublisher::Instances() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<UpstreamInstance>> out;
  for (const auto& [label, weak] : instances_) {
    if (auto strong = weak.lock()) out.push_back(std::move(strong));
  }
  return out;
}

std::shared_ptr<UpstreamInstance> RouteTablePublisher::InternLocked(const Endpoint& endpoint) {
  std::string key = endpoint.host + ":" + std::to_string(endpoint.port);
  auto it = instances_.find(key);
  if (it != instances_.end()) {
    if (auto existing = it->second.lock()) return existing;
  }
  bool ipv6 = endpoint.host.find(':') != std::string::npos;
  auto addr =
      ParseNetAddress(ipv6 ? "[" + endpoint.host + "]:" + std::to_string(endpoint.port) : key);
  if (!addr.ok()) {
    LOG_WARN << "skipping instance " << key << ": " << addr.status().message();
    return nullptr;
  }
  auto instance = std::make_shared<UpstreamInstance>(next_instance_id_++, addr.value());
  instances_[key] = instance;
  return instance;
}

std::shared_ptr<const ServiceRoute> RouteTablePublisher::BuildServiceLocked(
    const ServiceConfig& svc, size_t index) {
  ServiceRoute route;
  route.name = svc.name;
  route.unrouted_stats_key = resolver_(svc.name, "none", "http");
  if (svc.thrift) route.unrouted_thrift_stats_key = resolver_(svc.name, "none", "thrift");
  std::map<std::string, std::vector<std::shared_ptr<UpstreamInstance>>> merged;
  std::vector<std::string> sources;
  for (const auto* hosts_map : {&static_hosts_, &discovered_hosts_}) {
    auto it = hosts_map->find(svc.name);
    if (it == hosts_map->end()) continue;
    sources.push_back(it->second->source);
    route.updated_unix_ms = std::max(route.updated_unix_ms, it->second->updated_unix_ms);
    for (const auto& [version, endpoints] : it->second->versions) {
      auto& list = merged[version];
      for (const Endpoint& e : endpoints) {
        auto instance = InternLocked(e);
        if (!instance) continue;
        bool duplicate = false;
        for (const auto& existing : list) duplicate |= existing.get() == instance.get();
        if (!duplicate) list.push_back(std::move(instance));
      }
    }
  }
  for (auto& [version, instances] : merged) {
    if (instances.empty()) continue;
    VersionGroup group;
    group.name = version;
    group.stats_key = resolver_(svc.name, version, "http");
    if (svc.thrift) group.thrift_stats_key = resolver_(svc.name, version, "thrift");
    route.live_instances += static_cast<uint32_t>(instances.size());
    group.instances = std::move(instances);
    route.versions.push_back(std::move(group));
  }
  for (const auto& s : sources) route.source += (route.source.empty() ? "" : "+") + s;
  if (auto rp = runtime_policies_.find(svc.name); rp != runtime_policies_.end()) {
    route.policy = rp->second;
  } else if (auto cp = config_policies_.find(svc.name); cp != config_policies_.end()) {
    route.policy = cp->second;
  }
  route.index = index;
  auto owned = std::make_shared<ServiceRoute>(std::move(route));
  ServiceRoute* added = owned.get();
  // Compile the selector against the route's own strings, then map its picks to groups.
  std::vector<canary::LiveVersion> live;
  for (const VersionGroup& g : added->versions) {
    live.push_back(canary::LiveVersion{g.name, static_cast<uint32_t>(g.instances.size())});
  }
  const canary::RoutePolicy* policy =
      added->policy.source() == canary::PolicySource::kDefault ? nullptr : &added->policy;
  added->selector = canary::VersionSelector::Compile(added->name, policy, live);
  if (policy != nullptr && !added->selector.has_ordinary_route() && added->live_instances > 0) {
    added->policy_fallback = true;
    added->selector = canary::VersionSelector::Compile(added->name, nullptr, live);
    if (!fallback_services_.count(svc.name)) {
      LOG_WARN << "route policy of " << svc.name << " gives no weight to any live version ("
               << added->policy.ToJson().dump() << "); sharing traffic by instance until it does";
    }
    fallback_services_.insert(svc.name);
  } else {
    fallback_services_.erase(svc.name);
  }
  added->awaiting_discovery = !svc.serverset.path.empty() && !discovered_hosts_.count(svc.name);
  for (const std::string& v : added->selector.versions())
    added->group_of_pick.push_back(added->FindVersion(v));
  return owned;
}

void RouteTablePublisher::RebuildLocked(const std::string* changed_service) {
  // Only the service that changed is rebuilt; the others are shared with the previous snapshot,
  // so a member joining one of 500 services costs one service's work, not all of them.
  auto table = std::make_shared<RouteTable>();
  for (size_t i = 0; i < config_.services.size(); ++i) {
    const ServiceConfig& svc = config_.services[i];
    auto cached = built_.find(svc.name);
    if (cached == built_.end() || changed_service == nullptr || *changed_service == svc.name) {
      built_[svc.name] = BuildServiceLocked(svc, i);
      cached = built_.find(svc.name);
    }
    table->AddSharedService(cached->second, svc.hosts, svc.path_prefix);
  }
  // Forget instances that no snapshot references any more.
  for (auto it = instances_.begin(); it != instances_.end();) {
    it = it->second.expired() ? instances_.erase(it) : std::next(it);
  }
  current_ = std::move(table);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace canarymesh::router
