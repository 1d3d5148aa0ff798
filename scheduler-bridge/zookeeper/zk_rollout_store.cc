#include "scheduler-bridge/zookeeper/zk_rollout_store.h"

#include <zookeeper/zookeeper.jute.h>

#include "discovery/zk_ops.h"

namespace canarymesh::bridge {
namespace {

// Most records are a few KB; a larger one is read again with a buffer of its exact size.
constexpr int kFirstReadBytes = 64 * 1024;

struct RawNode {
  bool exists = false;
  std::string data;
  int32_t version = -1;
};

// zoo_get with the data version, which discovery's ZkGetData does not report.
Result<RawNode> ReadNode(ZkSession& session, const std::string& path) {
  RawNode node;
  Status status = session.WithHandle([&](zhandle_t* zh) {
    std::string buffer(kFirstReadBytes, '\0');
    while (true) {
      int length = static_cast<int>(buffer.size());
      Stat stat{};
      int rc = zoo_get(zh, path.c_str(), 0, buffer.data(), &length, &stat);
      if (rc == ZNONODE) return Status::Ok();
      if (rc != ZOK) return ZkStatus(rc, "get " + path);
      if (stat.dataLength > static_cast<int32_t>(buffer.size())) {
        buffer.assign(static_cast<size_t>(stat.dataLength), '\0');  // grew: read again
        continue;
      }
      node.exists = true;
      node.version = stat.version;
      node.data.assign(buffer.data(), length < 0 ? 0 : static_cast<size_t>(length));
      return Status::Ok();
    }
  });
  if (!status.ok()) return status;
  return node;
}

}  // namespace

Status ValidateRolloutId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id == "." || id == "..") {
    return Status::InvalidArgument("rollout id '" + id +
                                   "': must be 1..200 characters, not . or ..");
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("rollout id '" + id +
                                     "': only letters, digits, '.', '_' and '-' are allowed");
    }
  }
  return Status::Ok();
}

ZkRolloutStore::ZkRolloutStore(ZkSession& session, ZkRolloutStoreOptions options)
    : session_(session), options_(std::move(options)) {}

Status ZkRolloutStore::CheckConnected() {
  if (session_.connected() || session_.WaitConnected(options_.connect_wait)) return Status::Ok();
  return Status::Unavailable("rollout store: ZooKeeper at " + session_.connect_string() +
                             " is not reachable (no connected session)");
}

Status ZkRolloutStore::Explain(Status status) const {
  if (status.ok() || status.code() != Status::Code::kUnavailable) return status;
  return Status::Unavailable("rollout store: ZooKeeper at " + session_.connect_string() + ": " +
                             status.message());
}

Result<std::vector<StoredRecord>> ZkRolloutStore::List() {
  if (Status s = CheckConnected(); !s.ok()) return s;
  auto children = ZkGetChildren(session_, options_.state_path, false);
  if (!children.ok()) {
    if (children.status().code() == Status::Code::kNotFound) return std::vector<StoredRecord>{};
    return Explain(children.status());
  }
  std::vector<StoredRecord> records;
  for (const std::string& id : children.value()) {
    auto record = Get(id);
    if (!record.ok()) return record.status();
    if (record.value()) records.push_back(std::move(*record.value()));  // else deleted meanwhile
  }
  return records;
}

Result<std::optional<StoredRecord>> ZkRolloutStore::Get(const std::string& id) {
  if (Status s = ValidateRolloutId(id); !s.ok()) return s;
  if (Status s = CheckConnected(); !s.ok()) return s;
  std::string path = ZkJoinPath(options_.state_path, id);
  auto node = ReadNode(session_, path);
  if (!node.ok()) return Explain(node.status());
  if (!node->exists) return std::optional<StoredRecord>{};
  nlohmann::json record = nlohmann::json::parse(node->data, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded()) {
    return Status::InvalidArgument("rollout store: " + path + " does not hold valid JSON (" +
                                   std::to_string(node->data.size()) + " bytes)");
  }
  return std::optional<StoredRecord>(StoredRecord{id, std::move(record), node->version});
}

Result<int32_t> ZkRolloutStore::CompareAndSet(const std::string& id, const nlohmann::json& record,
                                              int32_t expected_version) {
  if (Status s = ValidateRolloutId(id); !s.ok()) return s;
  if (expected_version < -1) {
    return Status::InvalidArgument("rollout store: expected version " +
                                   std::to_string(expected_version) + " (use -1 to create)");
  }
  std::string data = record.dump();
  if (data.size() > kMaxRolloutRecordBytes) {
    return Status::InvalidArgument("rollout " + id + ": record is " + std::to_string(data.size()) +
                                   " bytes, over the store's limit of " +
                                   std::to_string(kMaxRolloutRecordBytes) +
                                   " (ZooKeeper refuses znodes near 1 MB)");
  }
  if (Status s = CheckConnected(); !s.ok()) return s;
  std::string path = ZkJoinPath(options_.state_path, id);
  if (expected_version == -1) {
    if (Status s = ZkEnsurePath(session_, options_.state_path); !s.ok()) return Explain(s);
  }
  int32_t new_version = -1;
  Status refused;  // the store's own answers, passed on as they are
  Status status = session_.WithHandle([&](zhandle_t* zh) {
    const int length = static_cast<int>(data.size());
    if (expected_version == -1) {
      int rc = zoo_create(zh, path.c_str(), data.data(), length, &ZOO_OPEN_ACL_UNSAFE,
                          ZOO_PERSISTENT, nullptr, 0);
      if (rc == ZNODEEXISTS) {
        refused = Status::InvalidArgument("rollout " + id + " already exists at " + path);
        return refused;
      }
      if (rc == ZOK) new_version = 0;
      return ZkStatus(rc, "create " + path);
    }
    Stat stat{};
    int rc = zoo_set2(zh, path.c_str(), data.data(), length, expected_version, &stat);
    if (rc == ZBADVERSION) {
      refused = Status::Unavailable("rollout " + id + ": conflict: the record changed since " +
                                    "version " + std::to_string(expected_version) + " was read");
      return refused;
    }
    if (rc == ZNONODE) return Status::NotFound("rollout " + id + ": no record at " + path);
    if (rc == ZOK) new_version = stat.version;
    return ZkStatus(rc, "set " + path);
  });
  if (!refused.ok()) return refused;
  if (!status.ok()) return Explain(status);
  return new_version;
}

}  // namespace canarymesh::bridge
