// Blocking ZooKeeper operations on a ZkSession, with results as values: ZNONODE is NotFound,
// connection trouble is Unavailable. `watch` sets a one-shot watch whose event reaches the
// session's subscribers. Thread-safe; never call these from a ZkSession subscriber callback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "discovery/zk_session.h"

namespace canarymesh {

struct ZnodeData {
  std::string data;
  int64_t mzxid = 0;            // zxid of the last change; identifies a version of the data
  int64_t ephemeral_owner = 0;  // session id owning an ephemeral node, 0 for persistent
};

Result<std::vector<std::string>> ZkGetChildren(ZkSession& session, const std::string& path,
                                               bool watch);
Result<ZnodeData> ZkGetData(ZkSession& session, const std::string& path, bool watch);
// Present: the node's stat summary; absent: nullopt (with watch, fires when it is created).
Result<std::optional<ZnodeData>> ZkExists(ZkSession& session, const std::string& path, bool watch);

enum class ZnodeMode { kPersistent, kEphemeralSequential };
// Returns the created path (with its sequence suffix). Parents must exist.
Result<std::string> ZkCreate(ZkSession& session, const std::string& path, const std::string& data,
                             ZnodeMode mode);
// Deleting a node that is already gone is success.
Status ZkDelete(ZkSession& session, const std::string& path);

// Creates `path` and every missing ancestor as empty persistent nodes; existing ones are fine.
Status ZkEnsurePath(ZkSession& session, const std::string& path);
// Creates `path` (and its parents) as a persistent node holding `data`, or overwrites its data.
// This is how route policies are written to /canarymesh/routes/<service>.
Status WritePersistentZnode(ZkSession& session, const std::string& path, const std::string& data);

// "/a/b/member_1" -> "/a/b"; "/a" -> "/".
std::string ZkParentPath(const std::string& path);
std::string ZkJoinPath(const std::string& parent, const std::string& child);

}  // namespace canarymesh
