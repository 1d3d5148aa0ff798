// Finagle's TTwitter protocol (finagle-thrift): after the client's `__can__finagle__trace__v3__`
// call is answered with an UpgradeReply, every call is preceded by a RequestHeader struct and
// every reply by a ResponseHeader struct, always in strict binary. This file decodes a
// RequestHeader and edits its broadcast contexts (how Finagle carries values such as a canary
// version override from service to service). Pure functions; thread-safe.
//
// Field ids, checked against twitter/finagle finagle-thrift/src/main/thrift/tracing.thrift
// (commit 19c676363939bfbe0dd5f084ca8a6c25f2c11c75):
//   RequestHeader { 1: i64 trace_id, 2: i64 span_id, 3: optional i64 parent_span_id,
//                   (no 4), 5: optional bool sampled, 6: optional ClientId client_id,
//                   7: optional i64 flags, 8: list<RequestContext> contexts,
//                   9: optional string dest, 10: optional list<Delegation> delegations,
//                   11: optional i64 trace_id_high }
//   ClientId { 1: string name }   RequestContext { 1: binary key, 2: binary value }
//   Delegation { 1: string src, 2: string dst }
//   ResponseHeader { 1: list<Span> spans, 2: list<RequestContext> contexts }
//   ConnectionOptions {}   UpgradeReply {}
// TTwitterClientFilter/TTwitterServerFilter.scala: the upgrade call carries ConnectionOptions as
// its body, the server answers a REPLY of the same name whose body is UpgradeReply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace canarymesh::thrift {

inline constexpr std::string_view kTTwitterUpgradeMethod = "__can__finagle__trace__v3__";

struct RequestContext {
  std::string key;
  std::string value;
  bool operator==(const RequestContext&) const = default;
};

struct Delegation {
  std::string src;
  std::string dst;
  bool operator==(const Delegation&) const = default;
};

struct RequestHeader {
  int64_t trace_id = 0;
  int64_t span_id = 0;
  std::optional<int64_t> parent_span_id;
  std::optional<bool> sampled;
  std::optional<std::string> client_id;
  std::optional<int64_t> flags;
  std::vector<RequestContext> contexts;
  std::optional<std::string> dest;
  std::vector<Delegation> delegations;
  std::optional<int64_t> trace_id_high;
};

// `in` holds exactly one binary-encoded RequestHeader struct.
Result<RequestHeader> DecodeRequestHeader(std::string_view in);

// Returns the RequestHeader `in` with the context `key` set to `value`: the first entry with that
// key is replaced, later duplicates dropped, or the entry appended. Every other field, unknown
// ones included, is copied byte for byte; the contexts field is re-encoded last.
Result<std::string> SetRequestHeaderContext(std::string_view in, std::string_view key,
                                            std::string_view value);

}  // namespace canarymesh::thrift
