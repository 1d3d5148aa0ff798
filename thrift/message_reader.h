// A resumable reader of one direction of a Thrift connection: bytes in, one MessageInfo out per
// complete message — its extent in the byte stream (so the caller can copy exactly those bytes
// through), name, type, seqid, how a reply ended, THeader info headers and the TTwitter
// RequestHeader — without decoding the message. It detects the format from the first bytes
// unless told. Framed and THeader messages end where their frame ends (the payload is skipped
// by count); an unframed message ends where its struct ends, found by walking it with an
// explicit stack (StructSkipper). Bytes come in chunks of any size; a token split between
// chunks is held back (a few bytes, or a method name or THeader section) until it is whole.
// No sockets, no event loop. Not thread-safe: one reader per connection direction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "thrift/message_info.h"
#include "thrift/struct_skipper.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

struct ReaderOptions {
  std::optional<WireFormat> format;   // the connection's format when known; else detected
  size_t max_frame_size = 16u << 20;  // larger frames (and unframed messages) are errors
  size_t max_depth = 64;              // structs and containers open at once
  size_t max_name_size = 4096;        // method name
  // The TTwitter RequestHeader must fit in this many bytes; a TApplicationException is decoded
  // when its struct does.
  size_t max_capture = 64u << 10;
};

// Which TTwitter struct precedes each message once a connection is upgraded.
enum class TTwitterHeaders : uint8_t { kNone, kRequest, kResponse };

class MessageReader {
 public:
  explicit MessageReader(ReaderOptions options = {});
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;

  struct FeedResult {
    // kNeedMore: all of `data` was taken and no message is complete yet.
    // kDone: a message is complete (message()); `consumed` bytes of `data` were taken: feed
    //        the rest (the next message) in another call.
    // kError: status() says why; the reader is unusable and the connection should be closed.
    Progress progress;
    size_t consumed;
  };
  FeedResult Feed(std::string_view data);

  // The last complete message; valid until the next Feed().
  const MessageInfo& message() const { return info_; }
  // The same, for a caller that edits the message it forwards (rewrite.h keeps bytes and info
  // in step); the reader does not look at it again.
  MessageInfo& mutable_message() { return info_; }
  const Status& status() const { return status_; }
  // The connection's format, once detected or if configured. THeader: the transport only
  // matters; each frame names its protocol (MessageInfo::format).
  const std::optional<WireFormat>& format() const { return format_; }
  // Call right after Feed() returned the message that completed the TTwitter upgrade (the
  // upgrade call on the client side, its UpgradeReply on the server side): every following
  // message is preceded by a RequestHeader / ResponseHeader.
  void ExpectTTwitterHeaders(TTwitterHeaders which) { ttwitter_ = which; }
  // Stream bytes taken so far; equals the end of the last message unless a later one started.
  uint64_t offset() const { return stream_pos_ + stash_.size(); }
  // Bytes of an unfinished message have been taken: the connection closing now truncates it.
  bool MidMessage() const;

 private:
  // One method per state; each says where it goes next. A state that lacks bytes returns
  // kNeedMore without consuming its token; the next Feed() re-enters the same state.
  //   kDetect          -> kFrameStart                      (format decided by the first bytes)
  //   kFrameStart      -> kTTwitterHeader | kMessageHead   (frame length / THeader section read)
  //   kTTwitterHeader  -> kMessageHead                     (Request/ResponseHeader walked)
  //   kMessageHead     -> kReplyStatus (REPLY) | kBody (unframed, or EXCEPTION) | kFrameRest
  //   kReplyStatus     -> kBody | kFrameRest                (first result field peeked at)
  //   kBody            -> kFrameRest (framed) | kFrameStart (message complete)
  //   kFrameRest       -> kFrameStart (message complete)
  //   any              -> kFailed
  enum class State : uint8_t {
    kDetect,
    kFrameStart,
    kTTwitterHeader,
    kMessageHead,
    kReplyStatus,
    kBody,
    kFrameRest,
    kFailed,
  };
  enum class Step : uint8_t { kContinue, kNeedMore, kMessage, kError };
  enum class Capture : uint8_t { kOff, kRequestHeader, kException };

  Progress Run(std::string_view window, size_t* consumed);
  Step OnDetect();
  Step OnFrameStart();
  Step OnTTwitterHeader();
  Step OnMessageHead();
  Step OnReplyStatus();
  Step OnBody();
  Step OnFrameRest();
  Step StartBody();
  Step MessageDone();
  Step NeedMore(size_t need);
  Step Fail(std::string_view why);

  std::string_view Window() const;  // the unread bytes, clipped at the frame's end
  void Consume(size_t n);
  void StartWalk(Protocol protocol, Capture capture);

  static constexpr uint64_t kNoFrame = UINT64_MAX;

  ReaderOptions options_;
  State state_;
  std::optional<WireFormat> format_;
  TTwitterHeaders ttwitter_ = TTwitterHeaders::kNone;
  MessageInfo info_;
  Status status_;
  StructSkipper skipper_;

  std::string_view in_;  // the window being run, and the read position in it
  size_t pos_ = 0;
  uint64_t stream_pos_ = 0;  // stream offset of in_[pos_]
  uint64_t frame_end_ = kNoFrame;
  std::string stash_;  // a token's first bytes, held back until the rest arrives
  size_t need_ = 0;    // the held-back token's size, as far as known

  Capture capture_ = Capture::kOff;
  std::string captured_;  // the RequestHeader or TApplicationException being walked
  bool capture_overflow_ = false;
};

}  // namespace canarymesh::thrift
