// BridgeService: the scheduler bridge's core, between the HTTP API and the store. Its loop
// thread ticks every tick_interval_ms: the leader advances every rollout that is not finished
// (one RolloutMachine step each, written back compare-and-set; a lost race is simply retried on
// the next tick) and, on gaining leadership, makes sure every idle service's stable version runs.
// Followers only read. Commands (create, promote, abort) are accepted by the leader only: they
// change the stored record, and the loop acts on it. Thread-safe: the API thread and the loop
// share nothing but the store (CAS) and atomics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scheduler-bridge/leadership.h"
#include "scheduler-bridge/rollout/rollout_machine.h"
#include "scheduler-bridge/rollout/rollout_record.h"
#include "scheduler-bridge/rollout_store.h"

namespace canarymesh::bridge {

// An HTTP status and JSON body, the API's answer to one command.
struct CommandOutcome {
  int status = 200;
  nlohmann::json body;
};

// What a service runs when no rollout is in progress.
struct StableVersion {
  std::string version;
  std::string artifact;
  std::string image;
};

class BridgeService {
 public:
  // All references must outlive the service.
  BridgeService(RolloutStore& store, Leadership& leadership, const RolloutMachine& machine,
                uint32_t tick_interval_ms);
  ~BridgeService();  // Stop()
  BridgeService(const BridgeService&) = delete;
  BridgeService& operator=(const BridgeService&) = delete;

  void Start();  // the loop thread
  void Stop();

  // One pass of the loop at `now_ms` (Unix ms); the loop calls it, tests may too.
  void Tick(int64_t now_ms);

  // POST /v1/rollouts: {"service","version", optional "artifact","image","instances","steps",
  // "pause_before_promote","min_step_requests","min_step_duration_ms","step_timeout_ms",
  // "integration_check"}. 201 {"id",...}; 400 bad request; 409 another rollout of the service
  // is in progress; 503 not the leader (with "leader").
  CommandOutcome Create(const nlohmann::json& request, int64_t now_ms);
  CommandOutcome Promote(const std::string& id);
  CommandOutcome Abort(const std::string& id);
  CommandOutcome Get(const std::string& id);
  CommandOutcome List();

  // The service's current stable version: the newest promoted rollout's, else the config's.
  Result<StableVersion> CurrentStable(const std::string& service);

  // Prometheus text: rollouts by stage, canary weights, verdict counts, leadership.
  std::string MetricsText();

  uint64_t ticks() const { return ticks_.load(); }
  uint64_t store_conflicts() const { return conflicts_.load(); }

 private:
  CommandOutcome NotLeader() const;
  // Reads the record, applies `change` (which may refuse with an outcome), writes it back
  // compare-and-set, retrying when the loop wrote in between.
  CommandOutcome Modify(const std::string& id,
                        const std::function<std::optional<CommandOutcome>(RolloutRecord&)>& change);
  void EnsureStableVersions(const std::vector<RolloutRecord>& records);
  static StableVersion StableFrom(const RolloutServiceConfig& svc,
                                  const std::vector<RolloutRecord>& records);
  void Loop();

  RolloutStore& store_;
  Leadership& leadership_;
  const RolloutMachine& machine_;
  const uint32_t tick_interval_ms_;

  std::mutex create_mu_;  // one Create at a time: "one rollout per service" is checked then written
  std::map<std::string, bool> stable_ensured_;  // loop thread only; cleared when leadership is lost
  bool was_leader_ = false;                     // loop thread only

  std::atomic<uint64_t> ticks_{0};
  std::atomic<uint64_t> conflicts_{0};
  std::atomic<uint64_t> store_errors_{0};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Summary of a record for lists and the CLI: id, service, versions, stage, weight, reason.
nlohmann::json RolloutSummaryJson(const RolloutRecord& r);

}  // namespace canarymesh::bridge
