// Re-sends a message the proxy read in another framing: framed <-> unframed <-> THeader, with or
// without a TTwitter header struct in front, under a new seqid, optionally carrying one value on
// (a THeader info header, or a TTwitter broadcast context in a RequestHeader). The protocol
// (binary or compact) is kept: only the bytes around the message head and body change, and the
// body is copied as it is. Pure functions; thread-safe on distinct arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "thrift/message_info.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

// One side of a proxied connection: its transport, protocol and whether it was upgraded to
// TTwitter (a header struct precedes every message).
struct FrameSpec {
  WireFormat format;
  bool ttwitter = false;
  bool operator==(const FrameSpec&) const = default;
};

struct ReframeRequest {
  FrameSpec target;  // target.format.protocol is ignored: the message's own is kept
  int32_t seqid = 0;
  uint16_t theader_flags = 0;  // target THeader, source not THeader
  // Target TTwitter, source without a TTwitter header: the struct to send in front.
  std::string_view ttwitter_header;
  // Carried on when not empty: the THeader info header or, in a TTwitter call, the context.
  std::string_view carry_key;
  std::string_view carry_value;
};

// `message` holds exactly the bytes MessageReader reported for `info`; `info` describes the
// source framing (a TTwitter header is present iff info.ttwitter_header_size > 0). Appends the
// message as `request` asks to `out`. `info` may be edited on the way (when the framing is kept,
// the message is patched in place, which is the fast path), so pass the reader's own copy.
Status Reframe(std::string_view message, MessageInfo& info, const ReframeRequest& request,
               std::string* out);

// Reframe's fast path, for a caller that copies into its own buffer: true when `message` goes
// out byte for byte except its seqid (same framing, binary protocol, nothing to carry). Then
// copy `message` and call PatchSeqIdInCopy on the copy; Reframe would produce the same bytes.
bool CopiesVerbatim(std::string_view message, const MessageInfo& info,
                    const ReframeRequest& request);
// Writes `seqid` into `copy`, a verbatim copy of the message `info` describes (CopiesVerbatim).
void PatchSeqIdInCopy(char* copy, const MessageInfo& info, int32_t seqid);

// The source's own framing, as Reframe understands it.
FrameSpec SourceFrameOf(const MessageInfo& info);

// A RequestHeader for a TTwitter upstream when the client sent none: trace and span ids, no
// parent, an empty context list.
std::string EncodeMinimalRequestHeader(int64_t trace_id, int64_t span_id);

}  // namespace canarymesh::thrift
