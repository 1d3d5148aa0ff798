// An immutable routing snapshot: which service a request belongs to (Host header, optional path
// prefix) and, per service, its versions and their upstream instances. Built off the data path
// by RouteTablePublisher whenever config, discovery or a route policy changes; workers pick up a
// new snapshot between requests. Immutable after construction, so readers never lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "canary/route_policy.h"
#include "canary/version_selector.h"
#include "router/upstream_instance.h"

namespace canarymesh::router {

struct VersionGroup {
  std::string name;
  std::vector<std::shared_ptr<UpstreamInstance>> instances;
  uint32_t stats_key = 0;         // resolved once in the stats registry
  uint32_t thrift_stats_key = 0;  // the same for Thrift calls (services that speak Thrift)
};

struct ServiceRoute {
  std::string name;
  size_t index = 0;                    // position in RouteTable::services()
  std::vector<VersionGroup> versions;  // sorted by name; only versions with live instances
  uint32_t unrouted_stats_key = 0;     // requests that found no version ("none")
  uint32_t unrouted_thrift_stats_key = 0;
  uint32_t live_instances = 0;
  std::string source;  // "static", "zookeeper:/discovery/user", ...
  int64_t updated_unix_ms = 0;
  canary::RoutePolicy policy;        // default policy (no weights) when none is set
  canary::VersionSelector selector;  // compiled from policy + live versions
  // The policy gives no weight to any live version: ordinary traffic falls back to an equal
  // share per instance (serving beats answering 503 while instances are up).
  bool policy_fallback = false;
  bool awaiting_discovery = false;                 // a serverset that has not been read yet
  std::vector<const VersionGroup*> group_of_pick;  // VersionPick::index -> group

  const VersionGroup* FindVersion(std::string_view name) const;
};

class RouteTable {
 public:
  RouteTable() = default;
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Adds a service; `hosts` are matched case-insensitively without port; `path_prefix` optional.
  ServiceRoute* AddService(ServiceRoute route, const std::vector<std::string>& hosts,
                           const std::string& path_prefix);
  // Adds a service built for an earlier snapshot and unchanged since: snapshots share it.
  void AddSharedService(std::shared_ptr<const ServiceRoute> route,
                        const std::vector<std::string>& hosts, const std::string& path_prefix);
  // Finds the service for a request. Rules with a path prefix win over host-only rules, the
  // longest prefix first; a prefix rule with hosts must match the host too.
  const ServiceRoute* Match(std::string_view host_header, std::string_view target) const;

  const std::vector<std::shared_ptr<const ServiceRoute>>& services() const { return services_; }
  const ServiceRoute* FindService(std::string_view name) const;

 private:
  struct PrefixRule {
    std::string prefix;
    std::vector<std::string> hosts;  // empty = any host
    const ServiceRoute* service;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::shared_ptr<const ServiceRoute>> services_;
  std::unordered_map<std::string, const ServiceRoute*, StringHash, std::equal_to<>> by_host_;
  std::vector<PrefixRule> by_prefix_;  // longest prefix first
};

// Lower-cases `host` and strips a ":port" suffix (keeps IPv6 brackets) into `buf`.
std::string_view NormalizeHost(std::string_view host, char* buf, size_t buf_size);

}  // namespace canarymesh::router
