// The model that discovery produces and the router consumes: for one service, the instances of
// each version. Values are immutable once published (shared as shared_ptr<const ServiceHostSet>),
// so readers on worker threads never lock. Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace canarymesh {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  int32_t shard = -1;  // -1 = not given
  std::string member;  // where it came from, e.g. ZooKeeper "member_0000000007"
  bool operator==(const Endpoint& o) const { return host == o.host && port == o.port; }
};

struct ServiceHostSet {
  std::string service;
  // version -> live (routable) endpoints. A version with no entry has no live instance.
  std::map<std::string, std::vector<Endpoint>> versions;
  int64_t updated_unix_ms = 0;  // when the source last changed it
  std::string source;           // "static" or "zookeeper:/discovery/user"
};

using ServiceHostSetPtr = std::shared_ptr<const ServiceHostSet>;

// Implemented by whoever consumes host sets (app/ wires discovery to the router through it).
// Called from the producer's thread; implementations must be thread-safe.
class HostSetListener {
 public:
  virtual ~HostSetListener() = default;
  virtual void OnHostSet(ServiceHostSetPtr hosts) = 0;
};

}  // namespace canarymesh
