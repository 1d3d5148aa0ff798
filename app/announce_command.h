// `canarymesh announce ...`: announces an instance that cannot announce itself as a Finagle
// ServerSet member in ZooKeeper, only while its health check passes, until SIGTERM/SIGINT, when
// the member is deleted before the command exits.
#pragma once

#include <map>
#include <string>

#include "core/config.h"

namespace canarymesh {

struct AnnounceOptions {
  ZooKeeperConfig zookeeper;
  AnnounceConfig announce;
};

int RunAnnounce(const AnnounceOptions& options);

}  // namespace canarymesh
