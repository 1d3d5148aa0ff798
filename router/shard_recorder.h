// RequestRecorder over the canary module's StatsRegistry: each worker records into its own
// shards, so the hot path is a chunk lookup and a few relaxed stores, no name lookup and no lock.
// One per worker; Record runs on that worker's thread.
#pragma once

#include "canary/version_stats.h"
#include "router/router_stats.h"

namespace canarymesh::router {

class ShardRecorder : public RequestRecorder {
 public:
  ShardRecorder(canary::StatsRegistry& registry, uint32_t worker)
      : registry_(registry), worker_(worker) {}
  void Record(uint32_t stats_key, bool error, uint64_t latency_us, int64_t now_ms) override {
    // Null for a key the registry refused (it was full): such requests are not counted.
    if (canary::VersionStatsShard* shard = registry_.Shard(worker_, stats_key)) {
      shard->Record(error, latency_us, now_ms);
    }
  }

 private:
  canary::StatsRegistry& registry_;
  const uint32_t worker_;
};

}  // namespace canarymesh::router
