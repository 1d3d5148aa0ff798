// Appends a Thrift message, re-framed for its next hop (thrift::Reframe), to a socket's output
// buffer. The usual case, same framing and binary protocol, is one copy straight into the buffer
// with the seqid patched there; other framings are built in `scratch` (reused, so no allocation
// in steady state) and then copied. Thread-compatible: buffers belong to the caller.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "core/status.h"
#include "router/byte_buffer.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

inline Status AppendReframed(std::string_view message, thrift::MessageInfo& info,
                             const thrift::ReframeRequest& request, std::string& scratch,
                             ByteBuffer& out) {
  if (thrift::CopiesVerbatim(message, info, request)) {
    size_t room = 0;
    char* tail = out.WritableTail(message.size(), &room);
    std::memcpy(tail, message.data(), message.size());
    thrift::PatchSeqIdInCopy(tail, info, request.seqid);
    out.Commit(message.size());
    return Status::Ok();
  }
  scratch.clear();
  if (Status s = thrift::Reframe(message, info, request, &scratch); !s.ok()) return s;
  out.Append(scratch);
  return Status::Ok();
}

}  // namespace canarymesh::router
