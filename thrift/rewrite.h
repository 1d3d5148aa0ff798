// Edits a complete message the way a proxy must when it forwards one: a new seqid (pooled
// upstream connections multiplex many clients), a THeader info header, a TTwitter broadcast
// context (e.g. `x-canary-version`). `message` holds exactly the bytes MessageReader reported
// for `info`; both are updated together (frame length, THeader header size and padding, and the
// layout offsets). Everything else is kept byte for byte. A message that does not match its
// info is refused. Pure functions; thread-safe on distinct arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "thrift/message_info.h"

namespace canarymesh::thrift {

// In place for binary (4 bytes); compact's varint seqid may change length, so its head is
// re-encoded and the frame length fixed. THeader: the frame's seqid is set too.
Status RewriteSeqId(std::string& message, MessageInfo& info, int32_t seqid);

// THeader only: sets info header `key` (replacing an existing one) and re-encodes the header
// section. Info blocks of unknown id, if any, are dropped (the C++ library ignores them too).
Status SetTHeaderInfoHeader(std::string& message, MessageInfo& info, std::string_view key,
                            std::string_view value);

// Upgraded TTwitter calls only: sets the broadcast context `key` in the RequestHeader.
Status SetTTwitterContext(std::string& message, MessageInfo& info, std::string_view key,
                          std::string_view value);

}  // namespace canarymesh::thrift
