#include "discovery/zk_ops.h"

#include <zookeeper/zookeeper.jute.h>

namespace canarymesh {
namespace {

// Enough for any ServerSet member or route policy; larger nodes are read a second time.
constexpr int kFirstReadBytes = 16 * 1024;
constexpr int kMaxZnodeBytes = 4 * 1024 * 1024;

ZnodeData FromStat(const Stat& stat) { return ZnodeData{"", stat.mzxid, stat.ephemeralOwner}; }

Status CheckPath(const std::string& path) {
  if (path.empty() || path[0] != '/' || (path.size() > 1 && path.back() == '/')) {
    return Status::InvalidArgument("zookeeper path '" + path +
                                   "' must start with '/' and not end with '/'");
  }
  return Status::Ok();
}

}  // namespace

std::string ZkParentPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string ZkJoinPath(const std::string& parent, const std::string& child) {
  return parent == "/" ? "/" + child : parent + "/" + child;
}

Result<std::vector<std::string>> ZkGetChildren(ZkSession& session, const std::string& path,
                                               bool watch) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  std::vector<std::string> children;
  Status status = session.WithHandle([&](zhandle_t* zh) {
    String_vector names{0, nullptr};
    int rc = zoo_get_children(zh, path.c_str(), watch ? 1 : 0, &names);
    if (rc == ZOK) {
      for (int32_t i = 0; i < names.count; ++i) children.emplace_back(names.data[i]);
      deallocate_String_vector(&names);
    }
    return ZkStatus(rc, "get children of " + path);
  });
  if (!status.ok()) return status;
  return children;
}

Result<ZnodeData> ZkGetData(ZkSession& session, const std::string& path, bool watch) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  ZnodeData out;
  Status status = session.WithHandle([&](zhandle_t* zh) {
    std::string buffer(kFirstReadBytes, '\0');
    while (true) {
      int length = static_cast<int>(buffer.size());
      Stat stat{};
      int rc = zoo_get(zh, path.c_str(), watch ? 1 : 0, buffer.data(), &length, &stat);
      if (rc != ZOK) return ZkStatus(rc, "get data of " + path);
      if (stat.dataLength <= static_cast<int32_t>(buffer.size()) ||
          stat.dataLength > kMaxZnodeBytes) {
        out = FromStat(stat);
        out.data.assign(buffer.data(),
                        length < 0 ? 0 : static_cast<size_t>(length));  // -1: null data
        return Status::Ok();
      }
      buffer.assign(static_cast<size_t>(stat.dataLength), '\0');  // truncated: read again, bigger
    }
  });
  if (!status.ok()) return status;
  return out;
}

Result<std::optional<ZnodeData>> ZkExists(ZkSession& session, const std::string& path, bool watch) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  std::optional<ZnodeData> out;
  Status status = session.WithHandle([&](zhandle_t* zh) {
    Stat stat{};
    int rc = zoo_exists(zh, path.c_str(), watch ? 1 : 0, &stat);
    if (rc == ZNONODE) return Status::Ok();
    if (rc == ZOK) out = FromStat(stat);
    return ZkStatus(rc, "exists " + path);
  });
  if (!status.ok()) return status;
  return out;
}

Result<std::string> ZkCreate(ZkSession& session, const std::string& path, const std::string& data,
                             ZnodeMode mode) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  std::string created;
  Status status = session.WithHandle([&](zhandle_t* zh) {
    char buffer[1024];
    int flags = mode == ZnodeMode::kPersistent ? ZOO_PERSISTENT : ZOO_EPHEMERAL_SEQUENTIAL;
    int rc = zoo_create(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                        &ZOO_OPEN_ACL_UNSAFE, flags, buffer, sizeof(buffer));
    if (rc == ZOK) created = buffer;
    return ZkStatus(rc, "create " + path);
  });
  if (!status.ok()) return status;
  return created;
}

Status ZkDelete(ZkSession& session, const std::string& path) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  return session.WithHandle([&](zhandle_t* zh) {
    int rc = zoo_delete(zh, path.c_str(), -1);
    return ZkStatus(rc == ZNONODE ? ZOK : rc, "delete " + path);
  });
}

Status ZkEnsurePath(ZkSession& session, const std::string& path) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (path == "/") return Status::Ok();
  return session.WithHandle([&](zhandle_t* zh) {
    for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
      std::string prefix = path.substr(0, slash);
      int rc = zoo_create(zh, prefix.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                          nullptr, 0);
      if (rc != ZOK && rc != ZNODEEXISTS) return ZkStatus(rc, "create " + prefix);
      if (slash == std::string::npos) return Status::Ok();
    }
  });
}

Status WritePersistentZnode(ZkSession& session, const std::string& path, const std::string& data) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (Status s = ZkEnsurePath(session, ZkParentPath(path)); !s.ok()) return s;
  // Set first, create if absent; retry once if another writer creates it between the two.
  return session.WithHandle([&](zhandle_t* zh) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      int rc = zoo_set(zh, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
      if (rc != ZNONODE) return ZkStatus(rc, "set " + path);
      rc = zoo_create(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                      &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
      if (rc != ZNODEEXISTS) return ZkStatus(rc, "create " + path);
    }
    return Status::Unavailable("write " + path + ": raced with concurrent creators and deleters");
  });
}

}  // namespace canarymesh
