#include "thrift/message_reader.h"

#include <algorithm>
#include <utility>

#include "thrift/format_detector.h"
#include "thrift/message_head.h"
#include "thrift/token_reader.h"
#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {

MessageReader::MessageReader(ReaderOptions options)
    : options_(std::move(options)),
      state_(options_.format ? State::kFrameStart : State::kDetect),
      format_(options_.format) {}

bool MessageReader::MidMessage() const {
  return !stash_.empty() ||
         (state_ != State::kDetect && state_ != State::kFrameStart && state_ != State::kFailed);
}

MessageReader::FeedResult MessageReader::Feed(std::string_view data) {
  size_t taken = 0;
  while (state_ != State::kFailed) {
    size_t used = 0;
    if (stash_.empty()) {
      Progress p = Run(data.substr(taken), &used);
      taken += used;
      if (p != Progress::kNeedMore) return {p, taken};
      stash_.assign(data.substr(taken));  // the first bytes of an incomplete token
      return {p, data.size()};
    }
    // Complete the held-back token with as few new bytes as it needs, then carry on from there.
    size_t add = std::min(need_ > stash_.size() ? need_ - stash_.size() : 1, data.size() - taken);
    if (add == 0) return {Progress::kNeedMore, taken};
    stash_.append(data.substr(taken, add));
    taken += add;
    Progress p = Run(stash_, &used);
    if (p == Progress::kNeedMore) {
      stash_.erase(0, used);
      continue;
    }
    size_t left = stash_.size() - used;
    stash_.clear();
    if (p == Progress::kError) return {p, taken};
    // The stash began with the prefix of one token; a message cannot end before that token
    // does, so any bytes left over were appended from `data` by this call: give them back.
    if (left > add) {
      Fail("internal error: reader stash out of step");
      return {Progress::kError, taken};
    }
    return {p, taken - left};
  }
  return {Progress::kError, taken};
}

Progress MessageReader::Run(std::string_view window, size_t* consumed) {
  in_ = window;
  pos_ = 0;
  Step step = Step::kContinue;
  while (step == Step::kContinue) {
    switch (state_) {
      case State::kDetect:
        step = OnDetect();
        break;
      case State::kFrameStart:
        step = OnFrameStart();
        break;
      case State::kTTwitterHeader:
        step = OnTTwitterHeader();
        break;
      case State::kMessageHead:
        step = OnMessageHead();
        break;
      case State::kReplyStatus:
        step = OnReplyStatus();
        break;
      case State::kBody:
        step = OnBody();
        break;
      case State::kFrameRest:
        step = OnFrameRest();
        break;
      case State::kFailed:
        step = Step::kError;
        break;
    }
  }
  *consumed = pos_;
  in_ = {};
  if (step == Step::kMessage) return Progress::kDone;
  return step == Step::kNeedMore ? Progress::kNeedMore : Progress::kError;
}

// kDetect: peek at the connection's first bytes -> kFrameStart.
MessageReader::Step MessageReader::OnDetect() {
  Detection d = DetectFormat(in_.substr(pos_), options_.max_name_size);
  if (d.progress == Progress::kError) return Fail(d.error);
  if (d.progress == Progress::kNeedMore) return NeedMore(d.need);
  format_ = d.format;
  state_ = State::kFrameStart;
  return Step::kContinue;
}

// kFrameStart: a message begins. Framed: its length word; THeader: also the fixed part and
// header section. Unframed: nothing to read. -> kTTwitterHeader | kMessageHead.
MessageReader::Step MessageReader::OnFrameStart() {
  info_.Reset();
  info_.begin = stream_pos_;
  info_.format = *format_;
  frame_end_ = kNoFrame;
  Transport transport = format_->transport;
  if (transport != Transport::kUnframed) {
    std::string_view w = Window();
    if (w.size() < 4) return NeedMore(4);
    uint32_t length = LoadBe32(w.data());
    if (length > options_.max_frame_size) {
      return Fail("frame too large: " + std::to_string(length) + " bytes, limit " +
                  std::to_string(options_.max_frame_size));
    }
    frame_end_ = stream_pos_ + 4 + length;
    if (transport == Transport::kFramed) {
      Consume(4);
    } else {
      THeaderFrame frame;
      Token t = ReadTHeaderFrame(w, &frame);
      if (t.progress == Progress::kError) return Fail(t.error);
      if (t.progress == Progress::kNeedMore) return NeedMore(t.need);
      info_.format.protocol = frame.protocol;
      info_.theader =
          THeaderInfo{frame.flags, frame.seqid, std::move(frame.headers), frame.unknown_info};
      Consume(t.size);
    }
  }
  if (ttwitter_ == TTwitterHeaders::kNone) {
    state_ = State::kMessageHead;
    return Step::kContinue;
  }
  info_.ttwitter_header_offset = stream_pos_ - info_.begin;
  StartWalk(Protocol::kBinaryStrict,
            ttwitter_ == TTwitterHeaders::kRequest ? Capture::kRequestHeader : Capture::kOff);
  state_ = State::kTTwitterHeader;
  return Step::kContinue;
}

// kTTwitterHeader: walk the RequestHeader (kept, then decoded) or ResponseHeader -> kMessageHead.
MessageReader::Step MessageReader::OnTTwitterHeader() {
  Token t = skipper_.Skip(Window());
  Consume(t.size);
  if (t.progress == Progress::kNeedMore) return NeedMore(t.need);
  if (t.progress == Progress::kError) return Fail(std::string("bad TTwitter header: ") + t.error);
  info_.ttwitter_header_size = stream_pos_ - info_.begin - info_.ttwitter_header_offset;
  if (capture_ == Capture::kRequestHeader) {
    if (capture_overflow_) return Fail("TTwitter RequestHeader larger than the capture limit");
    Result<RequestHeader> header = DecodeRequestHeader(captured_);
    if (!header.ok()) return Fail(header.status().message());
    info_.request_header = std::move(header.value());
  }
  capture_ = Capture::kOff;
  state_ = State::kMessageHead;
  return Step::kContinue;
}

// kMessageHead: name, type, seqid -> kReplyStatus | StartBody().
MessageReader::Step MessageReader::OnMessageHead() {
  std::string_view w = Window();
  if (info_.format.transport == Transport::kHeader && IsBinary(info_.format.protocol)) {
    // THeader's binary protocol writes strict and reads both.
    if (w.empty()) return NeedMore(1);
    info_.format.protocol =
        (static_cast<uint8_t>(w[0]) & 0x80) ? Protocol::kBinaryStrict : Protocol::kBinaryLax;
  }
  MessageHead head;
  Token t = ReadMessageHead(w, info_.format.protocol, options_.max_name_size, &head);
  if (t.progress == Progress::kError) return Fail(t.error);
  if (t.progress == Progress::kNeedMore) return NeedMore(t.need);
  info_.name.assign(head.name);
  info_.type = head.type;
  info_.seqid = head.seqid;
  info_.head_offset = stream_pos_ - info_.begin;
  info_.head_size = t.size;
  info_.seqid_offset = info_.head_offset + head.seqid_offset;
  info_.seqid_size = head.seqid_size;
  info_.ttwitter_upgrade = IsBinary(info_.format.protocol) && head.name == kTTwitterUpgradeMethod;
  Consume(t.size);
  if (info_.type == MessageType::kReply) {
    state_ = State::kReplyStatus;
    return Step::kContinue;
  }
  if (info_.type == MessageType::kException) info_.reply = ReplyStatus::kApplicationException;
  return StartBody();
}

// kReplyStatus: the result struct's first field says success (0, or none for void) or which
// declared exception (id >= 1). Peeked at, not consumed. -> StartBody().
MessageReader::Step MessageReader::OnReplyStatus() {
  FieldHeader field;
  Token t = ReadFieldHeader(Window(), info_.format.protocol, 0, &field);
  if (t.progress == Progress::kError) return Fail(t.error);
  if (t.progress == Progress::kNeedMore) return NeedMore(t.need);
  if (field.type == FieldType::kStop || field.id < 1) {
    info_.reply = ReplyStatus::kSuccess;
  } else {
    info_.reply = ReplyStatus::kDeclaredException;
    info_.exception_field_id = field.id;
  }
  return StartBody();
}

// After the head: a framed payload is skipped by count, except a TApplicationException, which is
// walked (and kept) to decode it. -> kBody | kFrameRest.
MessageReader::Step MessageReader::StartBody() {
  bool exception = info_.type == MessageType::kException;
  if (frame_end_ != kNoFrame && !exception) {
    state_ = State::kFrameRest;
    return Step::kContinue;
  }
  StartWalk(info_.format.protocol, exception ? Capture::kException : Capture::kOff);
  state_ = State::kBody;
  return Step::kContinue;
}

// kBody: walk the payload struct to its STOP -> kFrameRest | message complete.
MessageReader::Step MessageReader::OnBody() {
  Token t = skipper_.Skip(Window());
  Consume(t.size);
  if (t.progress == Progress::kNeedMore) return NeedMore(t.need);
  if (t.progress == Progress::kError) return Fail(t.error);
  if (capture_ == Capture::kException && !capture_overflow_) {
    Result<ApplicationException> e = DecodeApplicationException(captured_, info_.format.protocol);
    if (e.ok()) info_.app_exception = std::move(e.value());
  }
  capture_ = Capture::kOff;
  if (frame_end_ != kNoFrame) {
    state_ = State::kFrameRest;
    return Step::kContinue;
  }
  return MessageDone();
}

// kFrameRest: skip to the end of the frame by count -> message complete.
MessageReader::Step MessageReader::OnFrameRest() {
  Consume(std::min<uint64_t>(frame_end_ - stream_pos_, in_.size() - pos_));
  if (stream_pos_ < frame_end_) return NeedMore(1);
  return MessageDone();
}

MessageReader::Step MessageReader::MessageDone() {
  info_.size = stream_pos_ - info_.begin;
  if (frame_end_ == kNoFrame && info_.size > options_.max_frame_size) {
    return Fail("message too large");
  }
  frame_end_ = kNoFrame;
  state_ = State::kFrameStart;
  return Step::kMessage;
}

MessageReader::Step MessageReader::NeedMore(size_t need) {
  if (frame_end_ != kNoFrame && stream_pos_ + need > frame_end_) {
    return Fail("message runs past the end of its frame");
  }
  if (frame_end_ == kNoFrame && state_ != State::kDetect && state_ != State::kFrameStart &&
      stream_pos_ + need - info_.begin > options_.max_frame_size) {
    return Fail("message too large: over " + std::to_string(options_.max_frame_size) + " bytes");
  }
  need_ = need;
  return Step::kNeedMore;
}

MessageReader::Step MessageReader::Fail(std::string_view why) {
  status_ = Status::InvalidArgument("thrift: " + std::string(why));
  state_ = State::kFailed;
  return Step::kError;
}

std::string_view MessageReader::Window() const {
  std::string_view w = in_.substr(pos_);
  if (frame_end_ != kNoFrame) w = w.substr(0, frame_end_ - stream_pos_);
  return w;
}

void MessageReader::Consume(size_t n) {
  if (capture_ != Capture::kOff && !capture_overflow_) {
    if (captured_.size() + n <= options_.max_capture) {
      captured_.append(in_.substr(pos_, n));
    } else {
      capture_overflow_ = true;
    }
  }
  pos_ += n;
  stream_pos_ += n;
}

void MessageReader::StartWalk(Protocol protocol, Capture capture) {
  skipper_.Start(protocol, StructSkipper::Limits{options_.max_depth, options_.max_frame_size});
  capture_ = capture;
  captured_.clear();
  capture_overflow_ = false;
}

}  // namespace canarymesh::thrift
