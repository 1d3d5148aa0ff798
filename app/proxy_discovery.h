// Everything the proxy does with ZooKeeper, wired together: one session; a ServerSetWatcher
// feeding host sets to the route-table publisher; one ZnodeDataWatcher per service on
// <routes_path>/<service> feeding route policies (a malformed policy is logged, counted and the
// previous one kept); the optional Announcer of the local instance; and the Announcer of this
// sidecar's admin endpoint under zookeeper.sidecars_path, through which the scheduler bridge
// finds every sidecar and reads its per-version counts. Also its admin endpoint
// (/admin/services) and metric families. Thread-safe public methods.
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <memory>
#include <vector>

#include "app/admin_server.h"
#include "core/config.h"
#include "discovery/announcer.h"
#include "discovery/serverset_watcher.h"
#include "discovery/zk_session.h"
#include "discovery/znode_data_watcher.h"
#include "router/route_table_publisher.h"

namespace canarymesh {

class ProxyDiscovery {
 public:
  // Does nothing (and Start is a no-op) when the config has no zookeeper.connect.
  static Result<std::unique_ptr<ProxyDiscovery>> Create(const ProxyConfig& config,
                                                        router::RouteTablePublisher& publisher);
  ~ProxyDiscovery();
  ProxyDiscovery(const ProxyDiscovery&) = delete;
  ProxyDiscovery& operator=(const ProxyDiscovery&) = delete;

  void Start();
  // Withdraws the announced member first (so callers stop sending here), then stops watching.
  void WithdrawAnnouncement();
  void Stop();

  // True when every serverset was read at least once (always true without ZooKeeper).
  bool InitialSyncDone() const;

  void RegisterAdmin(AdminServer& admin);
  std::vector<prometheus::MetricFamily> CollectFamilies() const;

 private:
  ProxyDiscovery(const ProxyConfig& config, router::RouteTablePublisher& publisher);
  void OnPolicy(const std::string& service, const ZnodeContent& content);

  const ProxyConfig& config_;
  router::RouteTablePublisher& publisher_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<ServerSetWatcher> watcher_;
  std::vector<std::unique_ptr<ZnodeDataWatcher>> policy_watchers_;
  std::unique_ptr<Announcer> announcer_;
  std::unique_ptr<Announcer> sidecar_announcer_;  // admin endpoint under sidecars_path
  std::atomic<uint64_t> policy_updates_{0};
  std::atomic<uint64_t> policy_rejections_{0};
};

}  // namespace canarymesh
