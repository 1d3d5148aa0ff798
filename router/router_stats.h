// Counters the router keeps that are not per service/version: connections, HTTP requests, local
// answers by status, retries, ejections. Declared once below; one block per worker, written only
// by that worker (relaxed atomics so the admin thread can sum them while workers run). The
// Prometheus export (app/proxy_metrics.cc) walks kRouterStats and kLocalResponseStats.
// Thread-safe to read.
#pragma once

#include <atomic>
#include <cstdint>

#include "router/stat_list.h"

// COUNTER/GAUGE(field, Prometheus name, help)
#define CANARYMESH_ROUTER_STATS(COUNTER, GAUGE)                                               \
  COUNTER(downstream_connections_total, "canarymesh_downstream_connections_total",            \
          "Client connections accepted.")                                                     \
  GAUGE(downstream_connections_active, "canarymesh_downstream_connections_active",            \
        "Client connections open.")                                                           \
  COUNTER(http_requests_total, "canarymesh_http_requests_received_total",                     \
          "HTTP requests parsed from clients (Thrift listeners' calls are "                   \
          "canarymesh_thrift_calls_total).")                                                  \
  COUNTER(upstream_connections_total, "canarymesh_upstream_connections_total",                \
          "Upstream connections opened.")                                                     \
  COUNTER(upstream_connect_failures_total, "canarymesh_upstream_connect_failures_total",      \
          "Upstream connects that failed or timed out.")                                      \
  COUNTER(retries_total, "canarymesh_retries_total", "Requests retried on another instance.") \
  COUNTER(retries_budget_exhausted_total, "canarymesh_retry_budget_exhausted_total",          \
          "Retries refused by the retry budget.")                                             \
  COUNTER(outlier_ejections_total, "canarymesh_outlier_ejections_total",                      \
          "Upstream instances ejected after consecutive failures.")

// The statuses the proxy answers with itself: canarymesh_local_responses_total{code}.
#define CANARYMESH_LOCAL_RESPONSE_CODES(CODE) \
  CODE(400) CODE(404) CODE(408) CODE(413) CODE(431) CODE(501) CODE(502) CODE(503) CODE(504)

namespace canarymesh::router {

struct alignas(64) RouterCounters {
  CANARYMESH_ROUTER_STATS(CANARYMESH_STAT_FIELD, CANARYMESH_STAT_FIELD)
#define CANARYMESH_LOCAL_FIELD(code) std::atomic<uint64_t> local_##code{0};
  CANARYMESH_LOCAL_RESPONSE_CODES(CANARYMESH_LOCAL_FIELD)
#undef CANARYMESH_LOCAL_FIELD
  std::atomic<uint64_t> local_other{0};  // a status missing from the list above

  void CountLocalResponse(int status) {
    switch (status) {
#define CANARYMESH_LOCAL_CASE(code) \
  case code:                        \
    Bump(local_##code);             \
    return;
      CANARYMESH_LOCAL_RESPONSE_CODES(CANARYMESH_LOCAL_CASE)
#undef CANARYMESH_LOCAL_CASE
      default:
        Bump(local_other);
    }
  }

  static void Bump(std::atomic<uint64_t>& c, uint64_t by = 1) { BumpStat(c, by); }
  static void Drop(std::atomic<uint64_t>& c) { DropStat(c); }
};

#define CANARYMESH_COUNTER_DESCRIPTOR(field, name, help) \
  {name, help, StatType::kCounter, &RouterCounters::field},
#define CANARYMESH_GAUGE_DESCRIPTOR(field, name, help) \
  {name, help, StatType::kGauge, &RouterCounters::field},
inline constexpr StatDescriptor<RouterCounters> kRouterStats[] = {
    CANARYMESH_ROUTER_STATS(CANARYMESH_COUNTER_DESCRIPTOR, CANARYMESH_GAUGE_DESCRIPTOR)};
#undef CANARYMESH_COUNTER_DESCRIPTOR
#undef CANARYMESH_GAUGE_DESCRIPTOR

inline constexpr const char* kLocalResponsesName = "canarymesh_local_responses_total";
inline constexpr const char* kLocalResponsesHelp =
    "Responses the proxy generated itself, by status code.";
struct LocalResponseStat {
  const char* code;  // the label value
  std::atomic<uint64_t> RouterCounters::*field;
};
#define CANARYMESH_LOCAL_DESCRIPTOR(code) {#code, &RouterCounters::local_##code},
inline constexpr LocalResponseStat kLocalResponseStats[] = {CANARYMESH_LOCAL_RESPONSE_CODES(
    CANARYMESH_LOCAL_DESCRIPTOR){"other", &RouterCounters::local_other}};
#undef CANARYMESH_LOCAL_DESCRIPTOR

// Per-(service, version) request accounting, implemented over the canary module's stats
// registry by app/. One instance per worker; Record is called on that worker's thread.
class RequestRecorder {
 public:
  virtual ~RequestRecorder() = default;
  // `now_ms` is the monotonic time the request ended (SteadyMillis), for sliding windows.
  virtual void Record(uint32_t stats_key, bool error, uint64_t latency_us, int64_t now_ms) = 0;
};

}  // namespace canarymesh::router
