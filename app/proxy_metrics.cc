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

// The Thrift data plane's own counters; per-version Thrift calls are in canarymesh_requests_total
// with protocol="thrift".
void AddThriftFamilies(const std::vector<std::unique_ptr<router::Worker>>& workers,
                       std::vector<prometheus::MetricFamily>& out) {
  if (workers.empty()) return;
  using Counters = router::ThriftCounters;
  auto sum = [&](std::atomic<uint64_t> Counters::*field) {
    double total = 0;
    for (const auto& w : workers) total += static_cast<double>((w->thrift().counters().*field).load(std::memory_order_relaxed));
    return total;
  };
  auto counter = [&](const char* name, const char* help, std::atomic<uint64_t> Counters::*field) {
    out.push_back(CounterFamily(name, help));
    AddSample(out.back(), sum(field));
  };
  counter("canarymesh_thrift_calls_total", "Thrift calls read from clients (oneway included).", &Counters::calls_total);
  counter("canarymesh_thrift_oneway_calls_total", "Oneway Thrift calls forwarded.", &Counters::oneway_total);
  counter("canarymesh_thrift_ttwitter_upgrades_total", "Finagle TTwitter upgrades accepted from clients.",
          &Counters::ttwitter_upgrades_total);
  counter("canarymesh_thrift_local_exceptions_total",
          "TApplicationException replies the proxy wrote itself (no route, upstream failure, timeout).",
          &Counters::local_exceptions_total);
  out.push_back(CounterFamily("canarymesh_thrift_protocol_errors_total",
                              "Thrift client connections closed for bad input, by listener and reason."));
  const auto& listeners = workers.front()->config().listeners;
  for (size_t l = 0; l < listeners.size(); ++l) {
    if (listeners[l].protocol != "thrift") continue;
    for (size_t r = 0; r < static_cast<size_t>(router::ThriftProtocolError::kCount); ++r) {
      auto reason = static_cast<router::ThriftProtocolError>(r);
      double total = 0;
      for (const auto& w : workers) total += static_cast<double>(w->thrift().counters().ProtocolErrors(l, reason));
      AddSample(out.back(), total,
                {{"listener", listeners[l].name}, {"reason", std::string(router::ThriftProtocolErrorName(reason))}});
    }
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> CollectRouterFamilies(
    const std::vector<std::unique_ptr<router::Worker>>& workers) {
  using Counters = router::RouterCounters;
  auto sum = [&](std::atomic<uint64_t> Counters::*field) {
    double total = 0;
    for (const auto& w : workers) total += static_cast<double>((w->counters().*field).load(std::memory_order_relaxed));
    return total;
  };
  std::vector<prometheus::MetricFamily> out;
  auto counter = [&](const char* name, const char* help, std::atomic<uint64_t> Counters::*field) {
    out.push_back(CounterFamily(name, help));
    AddSample(out.back(), sum(field));
  };
  counter("canarymesh_downstream_connections_total", "Client connections accepted.",
          &Counters::downstream_connections_total);
  out.push_back(GaugeFamily("canarymesh_downstream_connections_active", "Client connections open."));
  AddSample(out.back(), sum(&Counters::downstream_connections_active));
  counter("canarymesh_http_requests_received_total", "HTTP requests parsed from clients.",
          &Counters::requests_total);
  counter("canarymesh_upstream_connections_total", "Upstream connections opened.",
          &Counters::upstream_connections_total);
  counter("canarymesh_upstream_connect_failures_total", "Upstream connects that failed or timed out.",
          &Counters::upstream_connect_failures_total);
  counter("canarymesh_retries_total", "Requests retried on another instance.", &Counters::retries_total);
  counter("canarymesh_retry_budget_exhausted_total", "Retries refused by the retry budget.",
          &Counters::retries_budget_exhausted_total);
  counter("canarymesh_outlier_ejections_total", "Upstream instances ejected after consecutive failures.",
          &Counters::outlier_ejections_total);
  out.push_back(CounterFamily("canarymesh_local_responses_total",
                              "Responses the proxy generated itself, by status code."));
  const std::pair<const char*, std::atomic<uint64_t> Counters::*> codes[] = {
      {"400", &Counters::local_400}, {"404", &Counters::local_404}, {"431", &Counters::local_431},
      {"501", &Counters::local_501}, {"502", &Counters::local_502}, {"503", &Counters::local_503},
      {"504", &Counters::local_504}};
  for (const auto& [code, field] : codes) AddSample(out.back(), sum(field), {{"code", code}});
  AddThriftFamilies(workers, out);
  return out;
}

std::vector<prometheus::MetricFamily> CollectProcessFamilies() {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (statm >> pages_total >> pages_resident) {
    out.push_back(GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes."));
    AddSample(out.back(), static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  }
  return out;
}

}  // namespace canarymesh
