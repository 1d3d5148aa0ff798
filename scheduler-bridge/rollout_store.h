// RolloutStore: where rollout records live so that they outlive the bridge that wrote them. The
// ZooKeeper implementation keeps one persistent znode per rollout under
// <state_path>/<rollout id> (default /canarymesh/rollouts), the record as JSON. Writes are
// compare-and-set on the version a read returned, so two bridges cannot both advance a rollout.
// Thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge {

struct StoredRecord {
  std::string id;
  nlohmann::json record;
  int32_t version = -1;  // the store's version of it, for CompareAndSet; -1 = not stored yet
};

class RolloutStore {
 public:
  virtual ~RolloutStore() = default;
  virtual Result<std::vector<StoredRecord>> List() = 0;
  virtual Result<std::optional<StoredRecord>> Get(const std::string& id) = 0;
  // Creates the record when expected_version == -1 (InvalidArgument if it exists), otherwise
  // replaces it only if the stored version still equals expected_version (Unavailable with
  // "conflict" in the message if not). Returns the new version.
  virtual Result<int32_t> CompareAndSet(const std::string& id, const nlohmann::json& record,
                                        int32_t expected_version) = 0;
};

}  // namespace canarymesh::bridge
