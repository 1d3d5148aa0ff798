// Counters of the Thrift data plane that are not per service/version: calls, oneway calls,
// TTwitter upgrades, replies the proxy wrote itself, and client connections closed for bad input
// by listener and reason. One block per worker, written only by that worker (relaxed atomics, as
// RouterCounters, so the admin thread can sum them). Thread-safe to read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace canarymesh::router {

enum class ThriftProtocolError : uint8_t {
  kFrameTooLarge,    // a frame (or unframed message) over the listener's max_frame_bytes
  kTruncated,        // the client closed in the middle of a message
  kUnknownProtocol,  // the first bytes fit no Thrift transport/protocol
  kMalformed,        // detected, then broken (bad field type, nesting too deep, ...)
  kCount,
};

std::string_view ThriftProtocolErrorName(ThriftProtocolError reason);

struct ThriftCounters {
  explicit ThriftCounters(size_t listeners)
      : listener_count(listeners),
        protocol_errors(new std::atomic<uint64_t>[listeners * static_cast<size_t>(ThriftProtocolError::kCount)]()) {}

  std::atomic<uint64_t> calls_total{0};
  std::atomic<uint64_t> oneway_total{0};
  std::atomic<uint64_t> ttwitter_upgrades_total{0};
  std::atomic<uint64_t> local_exceptions_total{0};  // TApplicationExceptions the proxy wrote
  const size_t listener_count;
  std::unique_ptr<std::atomic<uint64_t>[]> protocol_errors;  // [listener][reason]

  std::atomic<uint64_t>& ProtocolErrors(size_t listener, ThriftProtocolError reason) {
    return protocol_errors[listener * static_cast<size_t>(ThriftProtocolError::kCount) + static_cast<size_t>(reason)];
  }
  uint64_t ProtocolErrors(size_t listener, ThriftProtocolError reason) const {
    return protocol_errors[listener * static_cast<size_t>(ThriftProtocolError::kCount) + static_cast<size_t>(reason)]
        .load(std::memory_order_relaxed);
  }
};

inline std::string_view ThriftProtocolErrorName(ThriftProtocolError reason) {
  switch (reason) {
    case ThriftProtocolError::kFrameTooLarge: return "frame_too_large";
    case ThriftProtocolError::kTruncated: return "truncated";
    case ThriftProtocolError::kUnknownProtocol: return "unknown_protocol";
    case ThriftProtocolError::kMalformed: return "malformed";
    case ThriftProtocolError::kCount: break;
  }
  return "unknown";
}

}  // namespace canarymesh::router
