#include "thrift/fuzz_entry.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "thrift/format_detector.h"
#include "thrift/message_reader.h"
#include "thrift/reply_encoder.h"
#include "thrift/rewrite.h"

namespace canarymesh::thrift {
namespace {

constexpr size_t kMaxFrame = 1 << 20;  // keeps each run fast
constexpr std::string_view kKey = "x-canary-version";

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "thrift codec contract broken: %s\n", what);
  std::abort();
}

// Reads `bytes` as one message of `format` and returns it; aborts unless it is exactly one.
MessageInfo ReadBack(std::string_view bytes, WireFormat format, TTwitterHeaders ttwitter) {
  ReaderOptions options;
  options.format = format;
  options.max_frame_size = kMaxFrame + 4096;
  MessageReader reader(options);
  reader.ExpectTTwitterHeaders(ttwitter);
  MessageReader::FeedResult r = reader.Feed(bytes);
  if (r.progress != Progress::kDone) {
    std::fprintf(stderr, "read back: %s\n", reader.status().ToString().c_str());
  }
  Check(r.progress == Progress::kDone, "a rewritten message does not read back");
  Check(r.consumed == bytes.size() && reader.message().size == bytes.size(),
        "a rewritten message reads back with another extent");
  return reader.message();
}

void ExerciseRewrites(std::string_view input, const MessageInfo& info, TTwitterHeaders ttwitter) {
  WireFormat format = info.format;
  std::string bytes(input.substr(info.begin, info.size));
  MessageInfo edited = info;
  // A seqid whose varint length differs from most inputs'.
  int32_t seqid = info.seqid == -1 ? 7 : -1;
  Check(RewriteSeqId(bytes, edited, seqid).ok(), "seqid rewrite refused a message it read");
  MessageInfo back = ReadBack(bytes, format, ttwitter);
  Check(back.seqid == seqid && back.name == info.name && back.type == info.type,
        "seqid rewrite reads back wrong");
  Check(back.head_offset == edited.head_offset && back.size == edited.size,
        "seqid rewrite left a stale layout");

  if (info.theader) {
    if (SetTHeaderInfoHeader(bytes, edited, kKey, "v2").ok()) {
      back = ReadBack(bytes, format, ttwitter);
      bool found = false;
      for (const auto& [k, v] : back.theader->headers) found |= k == kKey && v == "v2";
      Check(found && back.seqid == seqid, "THeader header edit reads back wrong");
    }
  }
  if (info.request_header) {
    if (SetTTwitterContext(bytes, edited, kKey, "svc=v2").ok()) {
      back = ReadBack(bytes, format, ttwitter);
      bool found = false;
      for (const auto& c : back.request_header->contexts) found |= c.key == kKey;
      Check(found && back.seqid == seqid && back.name == info.name,
            "TTwitter context edit reads back wrong");
    }
  }

  ApplicationException error{AppExceptionType::kInternalError, "no live instance"};
  Result<std::string> reply =
      EncodeApplicationExceptionReply(ReplyEncoding::For(info), info.name, info.seqid, error);
  if (reply.ok()) {
    back = ReadBack(*reply, format,
                    info.request_header ? TTwitterHeaders::kResponse : TTwitterHeaders::kNone);
    Check(back.type == MessageType::kException && back.seqid == info.seqid &&
              back.name == info.name && back.app_exception &&
              back.app_exception->message == error.message,
          "TApplicationException reply reads back wrong");
  }
}

}  // namespace

size_t FuzzThriftCodec(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t config = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t chunk = (config & 0x0f) == 0x0f ? input.size() + 1 : (config & 0x0f) + 1u;
  TTwitterHeaders ttwitter = static_cast<TTwitterHeaders>(((config >> 4) & 3) % 3);
  bool ttwitter_from_start = ttwitter != TTwitterHeaders::kNone && (config & 0x40) != 0;

  ReaderOptions options;
  options.max_frame_size = kMaxFrame;
  if (ttwitter_from_start) {
    Transport transport = (config & 0x80) != 0 ? Transport::kFramed : Transport::kUnframed;
    options.format = WireFormat{transport, Protocol::kBinaryStrict};
  }
  Detection detection =
      ttwitter_from_start ? Detection{Progress::kDone, *options.format} : DetectFormat(input);
  MessageReader reader(options);
  TTwitterHeaders active = ttwitter_from_start ? ttwitter : TTwitterHeaders::kNone;
  reader.ExpectTTwitterHeaders(active);
  uint64_t next_begin = 0;
  size_t messages = 0;
  for (size_t at = 0; at < input.size();) {
    std::string_view piece = input.substr(at, chunk);
    while (true) {
      MessageReader::FeedResult r = reader.Feed(piece);
      Check(r.consumed <= piece.size(), "consumed more than it was given");
      if (r.progress == Progress::kError) return messages;
      if (r.progress == Progress::kNeedMore) {
        Check(r.consumed == piece.size(), "needs more but left bytes unread");
        break;
      }
      const MessageInfo& info = reader.message();
      Check(info.begin == next_begin, "messages do not tile the stream");
      Check(info.begin + info.size == at + r.consumed, "message extent disagrees with consumed");
      Check(info.size <= kMaxFrame + 4, "message larger than the limit");
      Check(detection.progress == Progress::kDone &&
                detection.format.transport == reader.format()->transport,
            "reader and detector disagree");
      next_begin = info.begin + info.size;
      ExerciseRewrites(input, info, active);
      ++messages;
      // As a proxy would: upgraded once the upgrade call (or its reply) has gone by.
      MessageType upgrade_type =
          ttwitter == TTwitterHeaders::kRequest ? MessageType::kCall : MessageType::kReply;
      if (active == TTwitterHeaders::kNone && ttwitter != TTwitterHeaders::kNone &&
          info.ttwitter_upgrade && info.type == upgrade_type) {
        active = ttwitter;
        reader.ExpectTTwitterHeaders(active);
      }
      at += r.consumed;
      piece = piece.substr(r.consumed);
    }
    at += piece.size();
  }
  return messages;
}

}  // namespace canarymesh::thrift
