#include "router/thrift_downstream_connection.h"

#include <errno.h>
#include <netinet/in.h>

#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "router/thrift_call_path.h"
#include "router/thrift_connections.h"
#include "router/thrift_forward.h"
#include "router/thrift_upstream_connection.h"
#include "thrift/reply_encoder.h"
#include "thrift/ttwitter.h"

namespace canarymesh::router {
namespace {

thrift::ReaderOptions ClientReaderOptions(const ListenerConfig& listener) {
  thrift::ReaderOptions options;
  options.max_frame_size = listener.max_frame_bytes;
  return options;
}

std::string PeerLabel(const sockaddr* peer) {
  std::string ip = PeerIp(peer);
  uint16_t port = 0;
  if (peer->sa_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in*>(peer)->sin_port);
  if (peer->sa_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(peer)->sin6_port);
  return (peer->sa_family == AF_INET6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

ThriftProtocolError Classify(const thrift::MessageReader& reader) {
  const std::string& why = reader.status().message();
  if (why.find("too large") != std::string::npos) return ThriftProtocolError::kFrameTooLarge;
  if (!reader.format().has_value()) return ThriftProtocolError::kUnknownProtocol;
  return ThriftProtocolError::kMalformed;
}

}  // namespace

ThriftDownstreamConnection::ThriftDownstreamConnection(Worker& worker,
                                                       ThriftConnections& connections,
                                                       const ListenerConfig& listener, int fd,
                                                       const sockaddr* peer)
    : worker_(worker),
      connections_(connections),
      listener_(listener),
      listener_index_(connections.ListenerIndex(listener)),
      service_config_(connections.FindServiceConfig(listener.service)),
      socket_(worker.base(), *this),
      peer_(PeerLabel(peer)),
      in_(ClientReaderOptions(listener)) {
  socket_.Adopt(fd);
  std::snprintf(peer_ip_, sizeof(peer_ip_), "%s", PeerIp(peer).c_str());
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_total);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_active);
}

ThriftDownstreamConnection::~ThriftDownstreamConnection() { Close(); }

void ThriftDownstreamConnection::Start() { UpdateInterest(); }

void ThriftDownstreamConnection::Close() {
  if (!socket_.open()) return;
  for (size_t i = 0; i < outstanding_.size(); ++i) {
    const Outstanding& o = outstanding_[i];
    if (o.upstream) o.upstream->Orphan(o.upstream_seqid, o.call_id);
    worker_.RequestFinished();
  }
  outstanding_.clear();
  socket_.Close();
  RouterCounters::Drop(worker_.mutable_counters().downstream_connections_active);
  connections_.Remove(this);  // deferred delete
}

void ThriftDownstreamConnection::Drain() {
  if (!socket_.open()) return;
  draining_ = true;
  UpdateInterest();
}

// ---- events ----

// Reads while the client is within its outstanding-call limit; the idle timer runs only when
// nothing is owed; the connection closes once a finished client (EOF, drain) is fully answered.
void ThriftDownstreamConnection::UpdateInterest() {
  if (!socket_.open()) return;
  const bool finished = peer_eof_ || draining_;
  if (finished && outstanding_.empty() && out_.empty()) {
    Close();
    return;
  }
  bool want = !finished && outstanding_.size() < kMaxOutstanding;
  if (want != socket_.reading()) {
    socket_.WantRead(want);
    // Calls may already wait in the buffer (reading stopped at the limit): look at them now.
    if (want && in_.buffer().size() > 0) socket_.ActivateRead();
  }
  Timer timer = !outstanding_.empty() ? Timer::kNone
                : in_.MidMessage()    ? Timer::kPartial
                                      : Timer::kIdle;
  if (timer == Timer::kIdle && !idle_) idle_since_us_ = SteadyMicros();
  idle_ = timer == Timer::kIdle;
  // The idle timer stays armed while calls are outstanding (HandleTimeout ignores it then, and
  // re-arms for the rest of the idle period if the connection went idle since): a busy client
  // costs no timer moves per call.
  if (timer == timer_ || (timer == Timer::kNone && timer_ == Timer::kIdle)) return;
  timer_ = timer;
  if (timer == Timer::kNone) {
    socket_.CancelTimer();
  } else {
    socket_.ArmTimer(timer == Timer::kIdle ? worker_.client_idle_timeout()
                                           : worker_.header_timeout());
  }
}

void ThriftDownstreamConnection::OnReadable() {
  ssize_t n = socket_.Read(in_.buffer());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      ProcessInput();  // woken by UpdateInterest for calls already buffered
      return;
    }
    Close();
    return;
  }
  if (n == 0) {
    ProcessInput();  // calls that came with the EOF
    if (!socket_.open()) return;
    peer_eof_ = true;
    if (in_.MidMessage()) {
      ProtocolError(ThriftProtocolError::kTruncated,
                    "connection closed in the middle of a message");
      return;
    }
    UpdateInterest();
    return;
  }
  ProcessInput();
}

void ThriftDownstreamConnection::ProcessInput() {
  if (processing_ || !socket_.open()) return;
  processing_ = true;
  batch_read_us_ = SteadyMicros();
  upstreams_.BeginRead();
  std::string_view message;
  while (socket_.open() && outstanding_.size() < kMaxOutstanding && !draining_) {
    thrift::Progress p = in_.Next(&message);
    if (p == thrift::Progress::kNeedMore) break;
    if (p == thrift::Progress::kError) {
      processing_ = false;
      upstreams_.FlushAll();
      ProtocolError(Classify(in_.reader()), in_.reader().status().message());
      return;
    }
    OnCall(message, in_.reader().mutable_message());
    if (!socket_.open()) break;
    in_.Pop();
  }
  processing_ = false;
  upstreams_.FlushAll();
  if (!socket_.open()) return;
  DeliverAnswered();
  UpdateInterest();
}

void ThriftDownstreamConnection::OnWritable() {
  switch (socket_.Flush(out_)) {
    case Connection::FlushResult::kError:
      Close();
      return;
    case Connection::FlushResult::kPending:
      return;
    case Connection::FlushResult::kDone:
      UpdateInterest();
      return;
  }
}

void ThriftDownstreamConnection::ScheduleFlush() {
  if (out_.empty()) return;
  socket_.ScheduleFlush();
}

void ThriftDownstreamConnection::OnTimer() {
  Timer which = timer_;
  timer_ = Timer::kNone;
  if (!outstanding_.empty()) return;  // busy: armed again once idle
  if (which == Timer::kPartial && in_.MidMessage()) {
    ProtocolError(ThriftProtocolError::kTruncated, "message not completed in time");
    return;
  }
  if (which == Timer::kIdle) {
    const uint64_t idle_us = uint64_t{worker_.config().timeouts.client_idle_ms} * 1000;
    const uint64_t now_us = SteadyMicros();
    if (now_us < idle_since_us_ + idle_us) {  // armed before the last calls: not idle that long
      uint64_t wait_us = idle_since_us_ + idle_us - now_us;
      timeval tv{static_cast<time_t>(wait_us / 1000000),
                 static_cast<suseconds_t>(wait_us % 1000000)};
      timer_ = Timer::kIdle;
      socket_.ArmTimer(&tv);
      return;
    }
  }
  Close();  // idle
}

void ThriftDownstreamConnection::ProtocolError(ThriftProtocolError reason,
                                               const std::string& detail) {
  RouterCounters::Bump(connections_.counters().ProtocolErrors(listener_index_, reason));
  LOG_WARN << "thrift listener '" << listener_.name << "': closing client " << peer_ << " ("
           << ThriftProtocolErrorName(reason) << "): " << detail;
  Close();
}

// ---- calls ----

void ThriftDownstreamConnection::OnCall(std::string_view message, thrift::MessageInfo& info) {
  const bool first = !saw_message_;
  saw_message_ = true;
  if (info.ttwitter_upgrade && info.type == thrift::MessageType::kCall) {
    if (!first) {
      AnswerLocally(info, thrift::AppExceptionType::kProtocolError,
                    "TTwitter upgrade after other calls");
      return;
    }
    // Finagle's client asks to upgrade: agree; every call from now on has a RequestHeader.
    Outstanding& o = AddOutstanding();
    o.call_id = next_call_id_++;
    o.phase = Outstanding::Phase::kAnswered;
    o.reply = thrift::EncodeTTwitterUpgradeReply(info.format.transport, info.seqid);
    worker_.RequestStarted();
    in_.reader().ExpectTTwitterHeaders(thrift::TTwitterHeaders::kRequest);
    RouterCounters::Bump(connections_.counters().ttwitter_upgrades_total);
    return;
  }
  if (info.type != thrift::MessageType::kCall && info.type != thrift::MessageType::kOneway) {
    ProtocolError(ThriftProtocolError::kMalformed,
                  "client sent a " + std::string(thrift::MessageTypeName(info.type)) + " message");
    return;
  }
  const bool oneway = info.type == thrift::MessageType::kOneway;
  RouterCounters::Bump(connections_.counters().calls_total);

  ThriftCallInput input;
  input.service_config = service_config_;
  input.service = listener_.service;
  if (!listener_.strip_overrides) input.choice.override_header = worker_.config().override_header;
  input.choice.client_ip = peer_ip_;
  input.choice.random_bits = worker_.rng().Next();
  input.choice.thrift =
      service_config_ && service_config_->thrift ? &*service_config_->thrift : nullptr;
  input.strip_overrides = listener_.strip_overrides;
  input.start_us = batch_read_us_;  // the calls of one read arrived together
  input.now_us = batch_read_us_;    // read when this batch of calls was taken, moments ago
  input.spec_cache = &upstream_spec_;
  input.upstreams = &upstreams_;
  ThriftCallPath path(worker_);
  ThriftRoute route;
  if (!path.Route(info, input, &route)) {
    AnswerLocally(info, thrift::AppExceptionType::kInternalError, route.error);
    return;
  }

  if (oneway) {
    int32_t upstream_seqid = 0;
    Status s = path.Send(route, message, info, nullptr, 0, &upstream_seqid);
    if (!s.ok()) {
      LOG_WARN << "thrift: oneway call '" << info.name << "' from " << peer_
               << " dropped: " << s.message();
      return;
    }
    RouterCounters::Bump(connections_.counters().oneway_total);
    return;
  }
  Outstanding& o = AddOutstanding();
  o.call_id = next_call_id_++;
  o.client_seqid = info.seqid;
  o.client = thrift::SourceFrameOf(info);
  o.theader_flags = info.theader ? info.theader->flags : 0;
  o.method.assign(info.name);
  worker_.RequestStarted();
  Status s = path.Send(route, message, info, this, o.call_id, &o.upstream_seqid);
  if (!s.ok()) {  // delivered with the others once this read is processed
    AnswerWithException(o, {thrift::AppExceptionType::kInternalError,
                            "canarymesh: cannot forward the call: " + s.message()});
    return;
  }
  o.upstream = route.upstream;
}

void ThriftDownstreamConnection::AnswerLocally(const thrift::MessageInfo& call,
                                               thrift::AppExceptionType type,
                                               const std::string& why) {
  RouterCounters::Bump(connections_.counters().local_exceptions_total);
  if (call.type == thrift::MessageType::kOneway) {
    LOG_WARN << "thrift: oneway call '" << call.name << "' from " << peer_ << " dropped: " << why;
    return;
  }
  auto reply =
      thrift::EncodeApplicationExceptionReply(thrift::ReplyEncoding::For(call), call.name,
                                              call.seqid, thrift::ApplicationException{type, why});
  if (!reply.ok()) {
    ProtocolError(ThriftProtocolError::kMalformed, "cannot answer: " + reply.status().message());
    return;
  }
  Outstanding& o = AddOutstanding();
  o.call_id = next_call_id_++;
  o.phase = Outstanding::Phase::kAnswered;
  o.reply = std::move(reply.value());
  worker_.RequestStarted();
}

ThriftDownstreamConnection::Outstanding& ThriftDownstreamConnection::AddOutstanding() {
  Outstanding& o = outstanding_.push_back();
  o.call_id = 0;
  o.phase = Outstanding::Phase::kAwaitingReply;
  o.reply.clear();
  o.upstream = nullptr;
  o.upstream_seqid = 0;
  o.client_seqid = 0;
  o.client = thrift::FrameSpec{};
  o.theader_flags = 0;
  o.method.clear();
  return o;
}

ThriftDownstreamConnection::Outstanding* ThriftDownstreamConnection::Find(uint64_t call_id) {
  if (outstanding_.empty() || call_id < outstanding_.front().call_id) return nullptr;
  size_t index = call_id - outstanding_.front().call_id;
  return index < outstanding_.size() ? &outstanding_[index] : nullptr;
}

void ThriftDownstreamConnection::OnThriftReply(uint64_t call_id, std::string_view message,
                                               thrift::MessageInfo& info) {
  Outstanding* o = Find(call_id);
  if (o == nullptr || o->answered()) return;
  o->upstream = nullptr;
  o->phase = Outstanding::Phase::kAnswered;
  thrift::ReframeRequest request;
  request.target = o->client;
  request.seqid = o->client_seqid;
  request.theader_flags = o->theader_flags;
  // The usual case, the oldest call answered: straight to the socket's buffer, no copy kept.
  Status s;
  if (o == &outstanding_.front() && socket_.open()) {
    s = AppendReframed(message, info, request, worker_.scratch(), out_);
  } else {
    o->reply.clear();
    s = thrift::Reframe(message, info, request, &o->reply);
  }
  if (!s.ok()) {
    OnThriftCallFailed(call_id, {thrift::AppExceptionType::kInternalError,
                                 "canarymesh: cannot pass the reply on: " + s.message()});
    return;
  }
  DeliverAnswered();
}

void ThriftDownstreamConnection::OnThriftCallFailed(uint64_t call_id,
                                                    const thrift::ApplicationException& why) {
  Outstanding* o = Find(call_id);
  if (o == nullptr) return;
  o->upstream = nullptr;
  AnswerWithException(*o, why);
  DeliverAnswered();
}

void ThriftDownstreamConnection::AnswerWithException(Outstanding& o,
                                                     const thrift::ApplicationException& why) {
  o.phase = Outstanding::Phase::kAnswered;
  o.reply.clear();
  auto reply = thrift::EncodeApplicationExceptionReply(
      thrift::ReplyEncoding{o.client.format, o.client.ttwitter, o.theader_flags, {}}, o.method,
      o.client_seqid, why);
  if (reply.ok()) o.reply = std::move(reply.value());
  RouterCounters::Bump(connections_.counters().local_exceptions_total);
}

void ThriftDownstreamConnection::DeliverAnswered() {
  if (!socket_.open()) return;
  bool delivered = false;
  while (!outstanding_.empty() && outstanding_.front().answered()) {
    Outstanding& done = outstanding_.front();
    out_.Append(done.reply);  // empty when OnThriftReply wrote it already
    if (done.reply.capacity() > kKeptReplyCapacity) std::string().swap(done.reply);
    outstanding_.pop_front();
    worker_.RequestFinished();
    delivered = true;
  }
  if (delivered) {
    ScheduleFlush();
    if (!processing_) UpdateInterest();
  }
}

}  // namespace canarymesh::router
