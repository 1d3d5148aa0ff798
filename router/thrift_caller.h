// What a pooled Thrift upstream connection reports back to whoever made a call on it: the client
// connection of a Thrift listener, or the Thrift-over-HTTP exchange of an HTTP client. The
// upstream keeps (caller, call id) per outstanding upstream seqid; a caller that goes away first
// tells the upstream (ThriftUpstreamConnection::Orphan) so that its late reply is dropped.
// Worker-thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "thrift/app_exception.h"
#include "thrift/message_info.h"

namespace canarymesh::router {

class ThriftCaller {
 public:
  virtual ~ThriftCaller() = default;
  // The reply to `call_id`, as the upstream's reader read it (upstream seqid and framing); the
  // caller re-frames it for its client. `info` may be edited.
  virtual void OnThriftReply(uint64_t call_id, std::string_view message,
                             thrift::MessageInfo& info) = 0;
  // No reply will come: the connection failed or the call timed out.
  virtual void OnThriftCallFailed(uint64_t call_id, const thrift::ApplicationException& why) = 0;
};

// What the upstream needs to know about a call besides its bytes.
struct ThriftCallContext {
  uint32_t stats_key = 0;  // per-version statistics (protocol "thrift")
  uint64_t start_us = 0;   // when the client's call arrived (SteadyMicros)
  uint64_t now_us = 0;     // SteadyMicros as the caller just read it; 0: Send reads the clock
  // The caller calls ThriftUpstreamConnection::Flush() once it has queued its batch of calls;
  // otherwise the bytes go out when the loop next turns.
  bool caller_flushes = false;
  std::string_view carry_key;  // carried on to the next hop when not empty (THeader/TTwitter)
  std::string_view carry_value;
};

}  // namespace canarymesh::router
