// BridgeService::MetricsText: the bridge's /metrics, built from the store at scrape time so that
// every bridge, leader or not, shows the same rollouts (and verdict counts survive restarts:
// they are kept in the records).
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "scheduler-bridge/rollout/bridge_service.h"

namespace canarymesh::bridge {
namespace {

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void Add(prometheus::MetricFamily& f, double value,
         std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace

std::string BridgeService::MetricsText() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  auto leader = Family("canarymesh_bridge_leader", "1 when this bridge leads (advances rollouts).",
                       MetricType::Gauge);
  Add(leader, leadership_.IsLeader() ? 1 : 0);
  families.push_back(std::move(leader));
  auto ticks =
      Family("canarymesh_bridge_ticks_total", "Passes of the rollout loop.", MetricType::Counter);
  Add(ticks, static_cast<double>(ticks_.load()));
  families.push_back(std::move(ticks));
  auto conflicts = Family("canarymesh_bridge_store_conflicts_total",
                          "Rollout writes lost to a concurrent change (retried on the next tick).",
                          MetricType::Counter);
  Add(conflicts, static_cast<double>(conflicts_.load()));
  families.push_back(std::move(conflicts));

  auto listed = store_.List();
  auto up = Family("canarymesh_bridge_store_up", "1 when the rollout store answered this scrape.",
                   MetricType::Gauge);
  Add(up, listed.ok() ? 1 : 0);
  families.push_back(std::move(up));
  if (listed.ok()) {
    std::map<std::string, double> by_stage;
    for (const char* stage :
         {"test_starting", "integration_check", "canary", "awaiting_promotion", "promoting",
          "rolling_back", "promoted", "rolled_back", "failed", "aborted"}) {
      by_stage[stage] = 0;
    }
    std::map<std::pair<std::string, std::string>, double> verdicts;
    auto weight = Family("canarymesh_bridge_canary_weight_percent",
                         "Share of ordinary traffic the rollout gives its new version now.",
                         MetricType::Gauge);
    auto active =
        Family("canarymesh_bridge_rollout_stage",
               "1 for each rollout in progress, labelled with its stage.", MetricType::Gauge);
    for (const StoredRecord& stored : listed.value()) {
      auto r = RolloutRecord::FromJson(stored.record);
      if (!r.ok()) continue;
      by_stage[std::string(StageName(r->stage))]++;
      for (const auto& [verdict, n] : r->verdict_counts)
        verdicts[{r->service, verdict}] += static_cast<double>(n);
      if (IsTerminal(r->stage)) continue;
      Add(weight, r->CurrentCanaryWeight(),
          {{"service", r->service}, {"rollout", r->id}, {"version", r->version}});
      Add(active, 1,
          {{"service", r->service},
           {"rollout", r->id},
           {"stage", std::string(StageName(r->stage))}});
    }
    auto stages =
        Family("canarymesh_bridge_rollouts", "Rollouts in the store, by stage.", MetricType::Gauge);
    for (const auto& [stage, n] : by_stage) Add(stages, n, {{"stage", stage}});
    auto verdict_family =
        Family("canarymesh_bridge_verdicts_total",
               "Canary judge verdicts given, by service and verdict.", MetricType::Counter);
    for (const auto& [key, n] : verdicts)
      Add(verdict_family, n, {{"service", key.first}, {"verdict", key.second}});
    families.push_back(std::move(stages));
    families.push_back(std::move(weight));
    families.push_back(std::move(active));
    families.push_back(std::move(verdict_family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace canarymesh::bridge
