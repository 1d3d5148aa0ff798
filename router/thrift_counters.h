// Counters of the Thrift data plane that are not per service/version: calls, oneway calls,
// TTwitter upgrades, replies the proxy wrote itself, and client connections closed for bad input
// by listener and reason. Declared once below; one block per worker, written only by that worker
// (relaxed atomics, as RouterCounters, so the admin thread can sum them). app/proxy_metrics.cc
// exports kThriftStats and the protocol-error family. Thread-safe to read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "router/stat_list.h"

// COUNTER(field, Prometheus name, help)
#define CANARYMESH_THRIFT_STATS(COUNTER)                                                          \
  COUNTER(calls_total, "canarymesh_thrift_calls_total",                                           \
          "Thrift calls read from clients (oneway included).")                                    \
  COUNTER(oneway_total, "canarymesh_thrift_oneway_calls_total", "Oneway Thrift calls forwarded.") \
  COUNTER(ttwitter_upgrades_total, "canarymesh_thrift_ttwitter_upgrades_total",                   \
          "Finagle TTwitter upgrades accepted from clients.")                                     \
  COUNTER(local_exceptions_total, "canarymesh_thrift_local_exceptions_total",                     \
          "TApplicationException replies the proxy wrote itself (no route, upstream failure, "    \
          "timeout).")

namespace canarymesh::router {

enum class ThriftProtocolError : uint8_t {
  kFrameTooLarge,    // a frame (or unframed message) over the listener's max_frame_bytes
  kTruncated,        // the client closed in the middle of a message
  kUnknownProtocol,  // the first bytes fit no Thrift transport/protocol
  kMalformed,        // detected, then broken (bad field type, nesting too deep, ...)
  kCount,
};

std::string_view ThriftProtocolErrorName(ThriftProtocolError reason);

inline constexpr const char* kThriftProtocolErrorsName = "canarymesh_thrift_protocol_errors_total";
inline constexpr const char* kThriftProtocolErrorsHelp =
    "Thrift client connections closed for bad input, by listener and reason.";

struct ThriftCounters {
  explicit ThriftCounters(size_t listeners)
      : listener_count(listeners),
        protocol_errors(new std::atomic<uint64_t>[listeners * kReasons]()) {}

  CANARYMESH_THRIFT_STATS(CANARYMESH_STAT_FIELD)
  const size_t listener_count;

  std::atomic<uint64_t>& ProtocolErrors(size_t listener, ThriftProtocolError reason) {
    return protocol_errors[listener * kReasons + static_cast<size_t>(reason)];
  }
  uint64_t ProtocolErrors(size_t listener, ThriftProtocolError reason) const {
    return protocol_errors[listener * kReasons + static_cast<size_t>(reason)].load(
        std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kReasons = static_cast<size_t>(ThriftProtocolError::kCount);
  std::unique_ptr<std::atomic<uint64_t>[]> protocol_errors;  // [listener][reason]
};

#define CANARYMESH_THRIFT_DESCRIPTOR(field, name, help) \
  {name, help, StatType::kCounter, &ThriftCounters::field},
inline constexpr StatDescriptor<ThriftCounters> kThriftStats[] = {
    CANARYMESH_THRIFT_STATS(CANARYMESH_THRIFT_DESCRIPTOR)};
#undef CANARYMESH_THRIFT_DESCRIPTOR

inline std::string_view ThriftProtocolErrorName(ThriftProtocolError reason) {
  switch (reason) {
    case ThriftProtocolError::kFrameTooLarge:
      return "frame_too_large";
    case ThriftProtocolError::kTruncated:
      return "truncated";
    case ThriftProtocolError::kUnknownProtocol:
      return "unknown_protocol";
    case ThriftProtocolError::kMalformed:
      return "malformed";
    case ThriftProtocolError::kCount:
      break;
  }
  return "unknown";
}

}  // namespace canarymesh::router
