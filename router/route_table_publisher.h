// Builds RouteTable snapshots from the config's services and the latest host set of each
// (static instances from config, or what discovery reports) and publishes them to workers.
// Workers poll generation() (one relaxed load per request) and call Current() only when it
// changed. Upstream instances are interned by address so their health survives snapshot swaps.
// Thread-safe: OnHostSet may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "core/config.h"
#include "core/host_set.h"
#include "router/route_table.h"

namespace canarymesh::router {

// Maps (service, version, protocol) to a stats key; called off the data path.
using StatsKeyResolver = std::function<uint32_t(
    const std::string& service, const std::string& version, const std::string& protocol)>;

class RouteTablePublisher : public HostSetListener {
 public:
  RouteTablePublisher(const ProxyConfig& config, StatsKeyResolver resolver);

  // HostSetListener: replaces one service's discovered instances and republishes.
  void OnHostSet(ServiceHostSetPtr hosts) override;

  // Replaces a service's route policy (from ZooKeeper or the admin API) and republishes.
  // NotFound for a service the config does not name.
  Status SetPolicy(const std::string& service, canary::RoutePolicy policy);
  // Drops a runtime policy, going back to the config's (or none).
  void ClearPolicy(const std::string& service);

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const RouteTable> Current() const;

  // Every instance ever interned and still referenced, for admin views.
  std::vector<std::shared_ptr<UpstreamInstance>> Instances() const;

 private:
  // Rebuilds `changed_service` (all services when null) and publishes a new snapshot.
  void RebuildLocked(const std::string* changed_service = nullptr);
  std::shared_ptr<const ServiceRoute> BuildServiceLocked(const ServiceConfig& svc, size_t index);
  std::shared_ptr<UpstreamInstance> InternLocked(const Endpoint& endpoint);

  const ProxyConfig config_;
  StatsKeyResolver resolver_;
  mutable std::mutex mu_;
  std::map<std::string, ServiceHostSetPtr> static_hosts_;        // service -> from config
  std::map<std::string, ServiceHostSetPtr> discovered_hosts_;    // service -> from discovery
  std::map<std::string, canary::RoutePolicy> config_policies_;   // service -> from config
  std::map<std::string, canary::RoutePolicy> runtime_policies_;  // service -> zookeeper/admin
  std::set<std::string> fallback_services_;  // services whose policy has no live weighted version
  std::map<std::string, std::weak_ptr<UpstreamInstance>> instances_;  // "host:port" -> instance
  uint64_t next_instance_id_ = 1;
  std::map<std::string, std::shared_ptr<const ServiceRoute>> built_;  // last build per service
  std::shared_ptr<const RouteTable> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace canarymesh::router
