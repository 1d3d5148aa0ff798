// The members of one service as last read from its ServerSet paths, and the host set they make.
// No I/O: ServerSetWatcher feeds in what ZooKeeper returned, so this is unit-testable on its own.
// Thread-compatible: owned and used by one thread (the watcher's).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/host_set.h"
#include "core/status.h"
#include "discovery/serverset_member.h"

namespace canarymesh {

// Finagle readers only consider children named "member_<seq>".
bool IsServerSetMemberName(std::string_view name);

// Same versions, same endpoints in the same order (host, port, shard, member); ignores timestamps.
bool SameHosts(const ServiceHostSet& a, const ServiceHostSet& b);

struct MemberDataResult {
  bool changed = false;  // differs from what was cached
  Status problem;        // set only when changed data is unusable (bad JSON, missing endpoint)
};

class ServiceMembers {
 public:
  explicit ServiceMembers(const ServiceConfig& service);

  const std::string& service() const { return service_; }
  // serverset.path first, then every version_paths key; no duplicates.
  const std::vector<std::string>& paths() const { return paths_; }
  bool Watches(const std::string& path) const { return by_path_.count(path) > 0; }

  // Replaces the member list of `path` with the "member_" entries of `children`; forgets the
  // others. Returns the members whose data is not known yet.
  std::vector<std::string> SetChildren(const std::string& path,
                                       const std::vector<std::string>& children);
  void SetAbsent(const std::string& path);  // the path does not exist: no members there
  // Ignored for names the last SetChildren did not list.
  MemberDataResult SetMemberData(const std::string& path, const std::string& name,
                                 const std::string& raw);
  void RemoveMember(const std::string& path, const std::string& name);
  std::vector<std::string> MemberNames(const std::string& path) const;

  size_t member_count() const;
  size_t bad_member_count() const;
  bool path_exists(const std::string& path) const;

  // Version: metadata.version, else the version_paths entry of the member's path, else "default".
  // Only ALIVE members are included; a host:port listed twice in a version appears once.
  ServiceHostSet BuildHostSet() const;

 private:
  struct CachedMember {
    std::string raw;
    std::optional<ServerSetMember> member;  // nullopt: unusable, skipped
    std::optional<ServerSetEndpoint> endpoint;
  };
  struct PathMembers {
    bool exists = false;
    std::map<std::string, CachedMember> members;  // by znode name; only names with data
    std::vector<std::string> listed;              // last children listing, sorted
  };

  std::string service_;
  std::string endpoint_name_;
  std::map<std::string, std::string> version_paths_;
  std::vector<std::string> paths_;
  std::map<std::string, PathMembers> by_path_;
};

}  // namespace canarymesh
