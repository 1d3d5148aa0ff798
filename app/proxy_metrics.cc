#include "app/proxy_metrics.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "router/thrift_connections.h"

namespace canarymesh {

prometheus::MetricFamily CounterFamily(const std::string& name, const std::string& help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Counter;
  return f;
}

prometheus::MetricFamily GaugeFamily(const std::string& name, const std::string& help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void AddSample(prometheus::MetricFamily& family, double value,
               std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family.metric.push_back(std::move(m));
}

namespace {

// One family per entry of a module's stats list (router/stat_list.h), each summed over workers.
template <typename Block, size_t N, typename BlockOf>
void AddListedFamilies(const std::vector<std::unique_ptr<router::Worker>>& workers,
                       const router::StatDescriptor<Block> (&list)[N], BlockOf block_of,
                       std::vector<prometheus::MetricFamily>& out) {
  for (const auto& stat : list) {
    double total = 0;
    for (const auto& w : workers) {
      total += static_cast<double>((block_of(*w).*stat.field).load(std::memory_order_relaxed));
    }
    out.push_back(stat.type == router::StatType::kCounter ? CounterFamily(stat.name, stat.help)
                                                          : GaugeFamily(stat.name, stat.help));
    AddSample(out.back(), total);
  }
}

// The Thrift data plane's own counters; per-version Thrift calls are in canarymesh_requests_total
// with protocol="thrift".
void AddThriftFamilies(const std::vector<std::unique_ptr<router::Worker>>& workers,
                       std::vector<prometheus::MetricFamily>& out) {
  if (workers.empty()) return;
  AddListedFamilies(
      workers, router::kThriftStats,
      [](const router::Worker& w) -> const router::ThriftCounters& {
        return w.thrift().counters();
      },
      out);
  out.push_back(
      CounterFamily(router::kThriftProtocolErrorsName, router::kThriftProtocolErrorsHelp));
  const auto& listeners = workers.front()->config().listeners;
  for (size_t l = 0; l < listeners.size(); ++l) {
    if (listeners[l].protocol != "thrift") continue;
    for (size_t r = 0; r < static_cast<size_t>(router::ThriftProtocolError::kCount); ++r) {
      auto reason = static_cast<router::ThriftProtocolError>(r);
      double total = 0;
      for (const auto& w : workers) {
        total += static_cast<double>(w->thrift().counters().ProtocolErrors(l, reason));
      }
      AddSample(out.back(), total,
                {{"listener", listeners[l].name},
                 {"reason", std::string(router::ThriftProtocolErrorName(reason))}});
    }
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> CollectRouterFamilies(
    const std::vector<std::unique_ptr<router::Worker>>& workers) {
  std::vector<prometheus::MetricFamily> out;
  AddListedFamilies(
      workers, router::kRouterStats,
      [](const router::Worker& w) -> const router::RouterCounters& { return w.counters(); }, out);
  out.push_back(CounterFamily(router::kLocalResponsesName, router::kLocalResponsesHelp));
  for (const auto& stat : router::kLocalResponseStats) {
    double total = 0;
    for (const auto& w : workers) {
      total += static_cast<double>((w->counters().*stat.field).load(std::memory_order_relaxed));
    }
    AddSample(out.back(), total, {{"code", stat.code}});
  }
  AddThriftFamilies(workers, out);
  return out;
}

std::vector<prometheus::MetricFamily> CollectProcessFamilies() {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (statm >> pages_total >> pages_resident) {
    out.push_back(GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes."));
    AddSample(out.back(),
              static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  }
  return out;
}

}  // namespace canarymesh
