// ZkRolloutStore: rollout records as persistent znodes <state_path>/<rollout id> holding JSON,
// written compare-and-set on the znode's data version (zoo_set with a version; a create fails when
// the node exists), so two bridges cannot both advance one rollout. Records must fit well inside
// ZooKeeper's 1 MB znode limit. Thread-safe; every call blocks for one or a few round trips.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "discovery/zk_session.h"
#include "scheduler-bridge/rollout_store.h"

namespace canarymesh::bridge {

// ZooKeeper's default jute.maxbuffer is 1 MB for a whole packet; leave room for the path and
// the packet's own framing.
inline constexpr size_t kMaxRolloutRecordBytes = 900 * 1024;

struct ZkRolloutStoreOptions {
  std::string state_path = "/canarymesh/rollouts";
  // How long a call waits for a disconnected session before answering Unavailable.
  std::chrono::milliseconds connect_wait{1000};
};

class ZkRolloutStore : public RolloutStore {
 public:
  // `session` must outlive the store.
  ZkRolloutStore(ZkSession& session, ZkRolloutStoreOptions options = {});

  Result<std::vector<StoredRecord>> List() override;
  Result<std::optional<StoredRecord>> Get(const std::string& id) override;
  Result<int32_t> CompareAndSet(const std::string& id, const nlohmann::json& record,
                                int32_t expected_version) override;

  const std::string& state_path() const { return options_.state_path; }

 private:
  Status CheckConnected();
  // ZooKeeper trouble gets the store's name and the ensemble in its message.
  Status Explain(Status status) const;

  ZkSession& session_;
  const ZkRolloutStoreOptions options_;
};

// Rollout ids become znode names: 1..200 characters of [A-Za-z0-9._-], not "." or "..".
Status ValidateRolloutId(const std::string& id);

}  // namespace canarymesh::bridge
