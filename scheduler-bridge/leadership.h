// Leadership: whether this bridge is the one that may advance rollouts. The ZooKeeper
// implementation follows the recipe in ZooKeeper's docs: an ephemeral sequential znode under
// <election_path> (default /canarymesh/bridge/leader); the lowest sequence number leads; each
// other candidate watches only the one just before it. Losing the session loses leadership at
// once. Thread-safe.
#pragma once

#include <string>

namespace canarymesh::bridge {

class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual bool IsLeader() const = 0;
  // This bridge's identity (host:port of its API, pid) and the current leader's, "" if unknown.
  virtual std::string SelfId() const = 0;
  virtual std::string LeaderId() const = 0;
};

}  // namespace canarymesh::bridge
