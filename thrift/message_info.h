// What MessageReader reports for each complete message: where its bytes are (so a proxy can
// copy exactly those bytes through), what it is (name, type, seqid, how a reply ended), what
// travels around it (THeader info headers, a TTwitter RequestHeader), and where the pieces sit
// inside it (so rewrite.h can edit them). Plain values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "thrift/app_exception.h"
#include "thrift/theader.h"
#include "thrift/ttwitter.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

// How a reply ended, for per-version error counting.
enum class ReplyStatus : uint8_t {
  kNotAReply,             // CALL or ONEWAY
  kSuccess,               // REPLY whose result struct holds field 0, or nothing (void)
  kDeclaredException,     // REPLY whose result struct holds an exception field (id >= 1)
  kApplicationException,  // EXCEPTION: a TApplicationException
};

struct THeaderInfo {
  uint16_t flags = 0;
  int32_t seqid = 0;  // the frame's own copy; the C++ library writes the message's seqid here
  InfoHeaders headers;
  bool unknown_info = false;  // info blocks of unknown id were present; rewrites drop them
};

struct MessageInfo {
  // Extent in the connection's byte stream: bytes [begin, begin + size) are the whole message,
  // frame length word, THeader header section and TTwitter header struct included.
  uint64_t begin = 0;
  size_t size = 0;
  WireFormat format;  // THeader: the frame's own protocol

  std::string name;
  MessageType type = MessageType::kCall;
  int32_t seqid = 0;
  ReplyStatus reply = ReplyStatus::kNotAReply;
  int16_t exception_field_id = 0;  // kDeclaredException: the result struct's field id
  // kApplicationException: decoded when the struct was at most ReaderOptions::max_capture bytes.
  std::optional<ApplicationException> app_exception;

  std::optional<THeaderInfo> theader;
  bool ttwitter_upgrade = false;  // the name is __can__finagle__trace__v3__
  // After a TTwitter upgrade: the RequestHeader before a call, decoded (calls only).
  std::optional<RequestHeader> request_header;

  // Layout, in bytes from `begin`.
  size_t ttwitter_header_offset = 0;  // the Request/ResponseHeader struct, if any
  size_t ttwitter_header_size = 0;
  size_t head_offset = 0;  // the message head: name, type, seqid
  size_t head_size = 0;
  size_t seqid_offset = 0;
  size_t seqid_size = 0;

  // Back to a fresh MessageInfo for the next message, field by field: keeps the name's buffer
  // (no allocation per message for long names) and skips building and zeroing a temporary.
  void Reset() {
    begin = 0;
    size = 0;
    format = WireFormat{};
    name.clear();
    type = MessageType::kCall;
    seqid = 0;
    reply = ReplyStatus::kNotAReply;
    exception_field_id = 0;
    app_exception.reset();
    theader.reset();
    ttwitter_upgrade = false;
    request_header.reset();
    ttwitter_header_offset = ttwitter_header_size = 0;
    head_offset = head_size = 0;
    seqid_offset = seqid_size = 0;
  }
};

}  // namespace canarymesh::thrift
