// In-memory implementations of the rollout's interfaces for unit tests of RolloutMachine and
// the bridge service. They behave like the real ones where the machine can tell: groups take a
// few inspections to become ready, Scale resets readiness, Remove makes a group disappear, the
// store is compare-and-set, and the metrics source simulates traffic split by the route policy
// that was last written (errors at a per-version rate), so the judge sees what a canary with
// that weight would really get. Not thread-safe except InMemoryStore; test thread only.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "canary/route_policy.h"
#include "scheduler-bridge/backend.h"
#include "scheduler-bridge/leadership.h"
#include "scheduler-bridge/rollout/integration_check.h"
#include "scheduler-bridge/rollout_store.h"
#include "scheduler-bridge/route_weights_writer.h"
#include "scheduler-bridge/version_metrics_source.h"

namespace canarymesh::bridge::testing {

// One ordered log of what every fake was asked to do, to check the order of effects.
struct EventLog {
  std::vector<std::string> events;
  void Add(std::string e) { events.push_back(std::move(e)); }
  // Index of the first event equal to `e`, or -1.
  int IndexOf(const std::string& e) const {
    auto it = std::find(events.begin(), events.end(), e);
    return it == events.end() ? -1 : static_cast<int>(it - events.begin());
  }
};

class InMemoryBackend : public ClusterBackend {
 public:
  explicit InMemoryBackend(EventLog* log) : log_(log) {}

  struct Group {
    InstanceGroupSpec spec;
    uint32_t desired = 0;
    int inspections_until_ready = 0;
    std::string failure;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;
  int inspections_to_ready = 2;  // a change needs this many Inspect calls before Ready
  Status next_error;             // returned once by the next mutating call
  bool never_ready = false;
  std::vector<std::string> unsatisfiable;

  std::string Name() const override { return "in-memory"; }
  std::vector<std::string> Unsatisfiable(const InstanceGroupSpec& spec) const override {
    return spec.instances > 1 ? unsatisfiable : std::vector<std::string>{};
  }
  Status Deploy(const InstanceGroupSpec& spec) override {
    if (Status s = TakeError(); !s.ok()) return s;
    auto key = std::make_pair(spec.service, spec.version);
    if (groups.count(key)) return Status::Ok();
    log_->Add("deploy " + spec.version + " x" + std::to_string(spec.instances));
    groups[key] = Group{spec, spec.instances, inspections_to_ready, ""};
    return Status::Ok();
  }
  Status Scale(const std::string& service, const std::string& version, uint32_t n) override {
    if (Status s = TakeError(); !s.ok()) return s;
    auto it = groups.find({service, version});
    if (it == groups.end()) return Status::NotFound("no group " + version);
    if (it->second.desired != n) {
      log_->Add("scale " + version + " x" + std::to_string(n));
      it->second.desired = n;
      it->second.inspections_until_ready = inspections_to_ready;
    }
    return Status::Ok();
  }
  Result<GroupStatus> Inspect(const std::string& service, const std::string& version) override {
    GroupStatus st;
    auto it = groups.find({service, version});
    if (it == groups.end()) return st;
    Group& g = it->second;
    st.exists = true;
    st.desired = g.desired;
    st.running = g.desired;
    if (g.inspections_until_ready > 0) g.inspections_until_ready--;
    const bool ready = !never_ready && g.inspections_until_ready == 0;
    st.healthy = ready ? g.desired : 0;
    st.deploying = !ready;
    st.failure = g.failure;
    return st;
  }
  Status Remove(const std::string& service, const std::string& version) override {
    if (Status s = TakeError(); !s.ok()) return s;
    if (groups.erase({service, version})) log_->Add("remove " + version);
    return Status::Ok();
  }
  bool Has(const std::string& service, const std::string& version) const {
    return groups.count({service, version}) > 0;
  }

 private:
  Status TakeError() {
    Status s = next_error;
    next_error = Status::Ok();
    return s;
  }
  EventLog* log_;
};

class InMemoryRoutes : public RouteWeightsWriter {
 public:
  explicit InMemoryRoutes(EventLog* log) : log_(log) {}
  std::map<std::string, canary::RoutePolicy> policies;
  std::vector<canary::VersionWeights> written;  // every write, in order
  Status next_error;

  Status Write(const std::string& service, const canary::RoutePolicy& policy) override {
    if (!next_error.ok()) {
      Status s = next_error;
      next_error = Status::Ok();
      return s;
    }
    policies.insert_or_assign(service, policy);
    written.push_back(policy.weights());
    std::string e = "weights";
    for (const auto& [v, w] : policy.weights()) e += " " + v + "=" + std::to_string(w);
    log_->Add(e);
    return Status::Ok();
  }
  Result<std::optional<canary::RoutePolicy>> Read(const std::string& service) override {
    auto it = policies.find(service);
    if (it == policies.end()) return std::optional<canary::RoutePolicy>();
    return std::optional<canary::RoutePolicy>(it->second);
  }

 private:
  EventLog* log_;
};

// Two sidecars ("sidecar-a", "sidecar-b") each receive `requests_per_read` requests per Read,
// split between the service's versions by the current policy (all to `stable` without one);
// version v fails at error_rate[v], accumulated exactly (no randomness: error k of version v
// happens when floor(requests * rate) reaches k).
class SimulatedTraffic : public VersionMetricsSource {
 public:
  SimulatedTraffic(InMemoryRoutes* routes, std::string service, std::string stable)
      : routes_(routes), service_(std::move(service)), stable_(std::move(stable)) {}
  uint64_t requests_per_read = 200;
  std::map<std::string, double> error_rate;
  uint64_t latency_us = 1000;
  Status next_error;
  std::map<std::string, uint64_t> served;  // version -> requests, over both sidecars

  std::string Describe() const override { return "simulated traffic"; }
  Result<ServiceMetrics> Read(const std::string& service) override {
    if (!next_error.ok()) {
      Status s = next_error;
      next_error = Status::Ok();
      return s;
    }
    if (service != service_) return Status::NotFound("no such service");
    canary::VersionWeights weights{{stable_, 1}};
    auto it = routes_->policies.find(service);
    if (it != routes_->policies.end() && it->second.has_weights()) weights = it->second.weights();
    uint32_t total_weight = 0;
    for (const auto& [v, w] : weights) total_weight += w;
    for (const char* reporter : {"sidecar-a", "sidecar-b"}) {
      uint64_t given = 0;
      size_t i = 0;
      for (const auto& [v, w] : weights) {
        uint64_t n = ++i == weights.size() ? requests_per_read - given
                                           : requests_per_read * w / total_weight;
        given += n;
        if (n == 0) continue;
        auto& snap = snapshots_[reporter][v];
        const double rate = error_rate.count(v) ? error_rate[v] : 0.0;
        const uint64_t before = snap.requests;
        snap.requests += n;
        snap.errors += static_cast<uint64_t>(std::floor(double(snap.requests) * rate + 1e-9)) -
                       static_cast<uint64_t>(std::floor(double(before) * rate + 1e-9));
        for (uint64_t k = 0; k < n; ++k) {
          snap.since_start.counts[canary::LatencyBuckets::IndexOf(latency_us)]++;
        }
        snap.since_start.count += n;
        snap.since_start.sum_us += n * latency_us;
        snap.since_start.max_us = std::max(snap.since_start.max_us, latency_us);
        served[v] += n;
      }
    }
    ServiceMetrics m;
    for (const auto& [reporter, versions] : snapshots_) {
      for (const auto& [v, snap] : versions) m.by_reporter[reporter][v] = snap;
    }
    return m;
  }
  // A sidecar restart: its counts start again from zero.
  void RestartReporter(const std::string& reporter) { snapshots_.erase(reporter); }

 private:
  InMemoryRoutes* routes_;
  std::string service_;
  std::string stable_;
  std::map<std::string, std::map<std::string, canary::VersionStatsSnapshot>> snapshots_;
};

class ScriptedCheckRunner : public IntegrationCheckRunner {
 public:
  int exit_code = 0;
  int polls_to_finish = 2;
  std::vector<IntegrationCheckRequest> started;
  std::vector<std::string> forgotten;

  Result<IntegrationCheckProgress> Poll(const std::string& key,
                                        const IntegrationCheckRequest& request) override {
    auto it = remaining_.find(key);
    if (it == remaining_.end()) {
      started.push_back(request);
      it = remaining_.emplace(key, polls_to_finish).first;
    }
    IntegrationCheckProgress p;
    if (it->second > 0) it->second--;
    if (it->second == 0) {
      p.finished = true;
      p.exit_code = exit_code;
      p.output_tail = "check output, exit " + std::to_string(exit_code);
    }
    return p;
  }
  void Forget(const std::string& key) override {
    forgotten.push_back(key);
    remaining_.erase(key);
  }

 private:
  std::map<std::string, int> remaining_;
};

class InMemoryStore : public RolloutStore {
 public:
  // Runs once, just before the next CompareAndSet of an existing record (outside the lock), to
  // put a concurrent writer between someone's read and write.
  std::function<void()> before_next_write;

  Result<std::vector<StoredRecord>> List() override {
    std::lock_guard lock(mutex_);
    std::vector<StoredRecord> out;
    for (const auto& [id, rec] : records_) out.push_back(rec);
    return out;
  }
  Result<std::optional<StoredRecord>> Get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(it->second);
  }
  Result<int32_t> CompareAndSet(const std::string& id, const nlohmann::json& record,
                                int32_t expected_version) override {
    if (expected_version != -1 && before_next_write) {
      auto hook = std::move(before_next_write);
      before_next_write = nullptr;
      hook();
    }
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (expected_version == -1) {
      if (it != records_.end()) return Status::InvalidArgument("rollout " + id + " exists");
      records_[id] = StoredRecord{id, record, 0};
      return 0;
    }
    if (it == records_.end() || it->second.version != expected_version) {
      return Status::Unavailable("conflict: rollout " + id + " changed");
    }
    it->second.record = record;
    return ++it->second.version;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, StoredRecord> records_;
};

class FixedLeadership : public Leadership {
 public:
  bool leader = true;
  std::string self = "bridge-1";
  std::string leader_id = "bridge-1";
  bool IsLeader() const override { return leader; }
  std::string SelfId() const override { return self; }
  std::string LeaderId() const override { return leader_id; }
};

}  // namespace canarymesh::bridge::testing
