// RolloutMachine: the rollout state machine. Advance(record, now) reads the world through the
// interfaces (ClusterBackend, RouteWeightsWriter, VersionMetricsSource, IntegrationCheckRunner,
// CanaryJudge), takes at most one step and returns the new record; the caller stores it. Every
// action is idempotent, so a record can be advanced again after a lost write or by another
// bridge after a crash, from whatever stage it was recorded in. No engine-specific branches.
// Not thread-safe per record (the store's CAS keeps two bridges from both advancing one); the
// machine itself holds no mutable state, so one may serve several threads.
//
// Stages (rollout_record.h):
//   test_starting      write {baseline:100, new:0} first (so only header traffic can reach the
//                      new version), Deploy it, wait until Ready          -> integration_check
//                                                                         or canary step 0
//   integration_check  run the check; exit 0 -> canary step 0; else rolling_back (rolled_back)
//   canary step i      weights {baseline:100-p, new:p}, order [new, baseline]; metrics at the
//                      step start; judge (now - start) summed over reporters at every tick until
//                      the first PASS or FAIL; FAIL -> rolling_back at once; PASS and the step's
//                      gates (min duration, min requests) -> next step, or after the last
//                      awaiting_promotion (manual gate) / promoting; no decision within
//                      step_timeout -> rolling_back (failed)
//   awaiting_promotion until promote_requested                            -> promoting
//   promoting          scale new to the stable's size, wait Ready; weights {new:100, baseline:0};
//                      drain; Remove baseline; final policy {new:100}     -> promoted
//   rolling_back       weights {baseline:100}; drain; Remove new          -> rolled_back, failed
//                                                                            or aborted
// abort_requested sends any stage to rolling_back (aborted) until promoting starts removing the
// old version, after which there is nothing to go back to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "canary/canary_judge.h"
#include "canary/route_policy.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/rollout/integration_check.h"
#include "scheduler-bridge/rollout/rollout_record.h"
#include "scheduler-bridge/rollout/rollout_service.h"
#include "scheduler-bridge/route_weights_writer.h"
#include "scheduler-bridge/version_metrics_source.h"

namespace canarymesh::bridge {

struct RolloutTimings {
  uint64_t ready_timeout_ms = 300'000;              // a deployed or scaled group must be Ready
  uint64_t integration_check_timeout_ms = 300'000;  // then the check is killed: failed
  uint64_t drain_ms = 5'000;  // after moving weight away from a version, before removing it
};

// The interfaces the machine acts through; not owned, must outlive it.
struct RolloutWorld {
  ClusterBackend* backend = nullptr;
  RouteWeightsWriter* routes = nullptr;
  VersionMetricsSource* metrics = nullptr;
  IntegrationCheckRunner* checks = nullptr;
};

class RolloutMachine {
 public:
  // `proxy_address` goes to integration checks as CANARYMESH_PROXY.
  RolloutMachine(RolloutWorld world, canary::CanaryJudge judge, RolloutTimings timings,
                 std::vector<RolloutServiceConfig> services, std::string proxy_address);

  // At most one step; a transient failure (engine or ZooKeeper unreachable) leaves the stage
  // as it was with `last_error` set, and the next call tries again. Terminal records come back
  // unchanged. `now_ms` is Unix time: the record's timers outlive the process.
  RolloutRecord Advance(const RolloutRecord& record, int64_t now_ms) const;

  // Makes sure the service's stable version runs (Deploy is a no-op when it does); the bridge
  // calls this when it becomes leader, for services with no rollout in progress.
  Status EnsureStable(const std::string& service, const std::string& version,
                      const std::string& artifact, const std::string& image) const;

  const RolloutServiceConfig* FindService(const std::string& name) const;
  const std::vector<RolloutServiceConfig>& services() const { return services_; }
  const RolloutTimings& timings() const { return timings_; }
  const canary::CanaryJudge& judge() const { return judge_; }

 private:
  // One method per stage; each takes at most one step on `r`.
  void TestStarting(RolloutRecord& r, const RolloutServiceConfig& svc, int64_t now) const;
  void IntegrationCheck(RolloutRecord& r, int64_t now) const;
  void Canary(RolloutRecord& r, const RolloutServiceConfig* svc, int64_t now) const;
  void AwaitingPromotion(RolloutRecord& r, int64_t now) const;
  void Promoting(RolloutRecord& r, const RolloutServiceConfig* svc, int64_t now) const;
  void RollingBack(RolloutRecord& r, const RolloutServiceConfig* svc, int64_t now) const;

  // The canary step's judging, once the step has started.
  void JudgeStep(RolloutRecord& r, int64_t now) const;
  // Re-creates groups a restarted engine (the local backend) may have lost.
  Status EnsureGroups(const RolloutRecord& r, const RolloutServiceConfig* svc, bool baseline,
                      bool canary) const;
  // Writes the service's policy unless it already routes this way; keeps its sticky key.
  Status EnsureWeights(const std::string& service, canary::VersionWeights weights,
                       std::vector<std::string> order, int64_t now) const;

  RolloutWorld world_;
  canary::CanaryJudge judge_;
  RolloutTimings timings_;
  std::vector<RolloutServiceConfig> services_;
  std::string proxy_address_;
};

// Stage bookkeeping shared by the machine and the bridge's commands.
void EnterStage(RolloutRecord& r, RolloutStage stage, int64_t now, std::string note, int step = -1);
void BeginRollback(RolloutRecord& r, RolloutStage outcome, std::string reason, int64_t now);

}  // namespace canarymesh::bridge
