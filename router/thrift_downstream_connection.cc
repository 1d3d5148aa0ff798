#include "router/thrift_downstream_connection.h"

#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "router/p2c_balancer.h"
#include "router/thrift_connections.h"
#include "router/thrift_forward.h"
#include "router/thrift_upstream_connection.h"
#include "router/thrift_version_choice.h"
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
  if (peer->sa_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in*>(peer)->sin_port);
  if (peer->sa_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6*>(peer)->sin6_port);
  return (peer->sa_family == AF_INET6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

ThriftProtocolError Classify(const thrift::MessageReader& reader) {
  const std::string& why = reader.status().message();
  if (why.find("too large") != std::string::npos) return ThriftProtocolError::kFrameTooLarge;
  if (!reader.format().has_value()) return ThriftProtocolError::kUnknownProtocol;
  return ThriftProtocolError::kMalformed;
}

}  // namespace

ThriftDownstreamConnection::ThriftDownstreamConnection(Worker& worker, ThriftConnections& connections,
                                                       const ListenerConfig& listener, int fd,
                                                       const sockaddr* peer)
    : worker_(worker),
      connections_(connections),
      listener_(listener),
      listener_index_(connections.ListenerIndex(listener)),
      service_config_(connections.FindServiceConfig(listener.service)),
      fd_(fd),
      peer_(PeerLabel(peer)),
      in_(ClientReaderOptions(listener)) {
  std::snprintf(peer_ip_, sizeof(peer_ip_), "%s", PeerIp(peer).c_str());
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_total);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_active);
}

ThriftDownstreamConnection::~ThriftDownstreamConnection() { Close(); }

void ThriftDownstreamConnection::Start() {
  event_assign(&read_ev_, worker_.base(), fd_, EV_READ | EV_PERSIST, &OnReadEvent, this);
  event_assign(&write_ev_, worker_.base(), fd_, EV_WRITE, &OnWriteEvent, this);
  event_assign(&timer_ev_, worker_.base(), -1, 0, &OnTimerEvent, this);
  UpdateInterest();
}

void ThriftDownstreamConnection::Close() {
  if (fd_ < 0) return;
  for (size_t i = 0; i < outstanding_.size(); ++i) {
    const Outstanding& o = outstanding_[i];
    if (o.upstream) o.upstream->Orphan(o.upstream_seqid, o.call_id);
    worker_.RequestFinished();
  }
  outstanding_.clear();
  event_del(&read_ev_);
  event_del(&write_ev_);
  event_del(&timer_ev_);
  ::close(fd_);
  fd_ = -1;
  RouterCounters::Drop(worker_.mutable_counters().downstream_connections_active);
  connections_.Remove(this);  // deferred delete
}

void ThriftDownstreamConnection::Drain() {
  if (fd_ < 0) return;
  draining_ = true;
  UpdateInterest();
}

// ---- events ----

void ThriftDownstreamConnection::OnReadEvent(evutil_socket_t, short, void* arg) {
  static_cast<ThriftDownstreamConnection*>(arg)->HandleRead();
}
void ThriftDownstreamConnection::OnWriteEvent(evutil_socket_t, short, void* arg) {
  static_cast<ThriftDownstreamConnection*>(arg)->HandleWrite();
}
void ThriftDownstreamConnection::OnTimerEvent(evutil_socket_t, short, void* arg) {
  static_cast<ThriftDownstreamConnection*>(arg)->HandleTimeout();
}

// Reads while the client is within its outstanding-call limit; the idle timer runs only when
// nothing is owed; the connection closes once a finished client (EOF, drain) is fully answered.
void ThriftDownstreamConnection::UpdateInterest() {
  if (fd_ < 0) return;
  const bool finished = peer_eof_ || draining_;
  if (finished && outstanding_.empty() && out_.empty()) {
    Close();
    return;
  }
  bool want = !finished && outstanding_.size() < kMaxOutstanding;
  if (want != read_armed_) {
    if (want) {
      event_add(&read_ev_, nullptr);
      // Calls may already wait in the buffer (reading stopped at the limit): look at them now.
      if (in_.buffer().size() > 0) event_active(&read_ev_, EV_READ, 1);
    } else {
      event_del(&read_ev_);
    }
    read_armed_ = want;
  }
  Timer timer = !outstanding_.empty() ? Timer::kNone : in_.MidMessage() ? Timer::kPartial : Timer::kIdle;
  if (timer == Timer::kIdle && !idle_) idle_since_us_ = SteadyMicros();
  idle_ = timer == Timer::kIdle;
  // The idle timer stays armed while calls are outstanding (HandleTimeout ignores it then, and
  // re-arms for the rest of the idle period if the connection went idle since): a busy client
  // costs no timer moves per call.
  if (timer == timer_ || (timer == Timer::kNone && timer_ == Timer::kIdle)) return;
  timer_ = timer;
  if (timer == Timer::kNone) {
    event_del(&timer_ev_);
  } else {
    event_add(&timer_ev_, timer == Timer::kIdle ? worker_.client_idle_timeout() : worker_.header_timeout());
  }
}

void ThriftDownstreamConnection::HandleRead() {
  ssize_t n = ReadInto(fd_, in_.buffer(), read_chunk_.size());
  read_chunk_.Observe(n);
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
    if (fd_ < 0) return;
    peer_eof_ = true;
    if (in_.MidMessage()) {
      ProtocolError(ThriftProtocolError::kTruncated, "connection closed in the middle of a message");
      return;
    }
    UpdateInterest();
    return;
  }
  ProcessInput();
}

void ThriftDownstreamConnection::ProcessInput() {
  if (processing_ || fd_ < 0) return;
  processing_ = true;
  batch_upstream_count_ = 0;
  batch_read_us_ = SteadyMicros();
  std::string_view message;
  while (fd_ >= 0 && outstanding_.size() < kMaxOutstanding && !draining_) {
    thrift::Progress p = in_.Next(&message);
    if (p == thrift::Progress::kNeedMore) break;
    if (p == thrift::Progress::kError) {
      processing_ = false;
      FlushBatchUpstreams();
      ProtocolError(Classify(in_.reader()), in_.reader().status().message());
      return;
    }
    OnCall(message, in_.reader().mutable_message());
    if (fd_ < 0) break;
    in_.Pop();
  }
  processing_ = false;
  FlushBatchUpstreams();
  if (fd_ < 0) return;
  DeliverAnswered();
  UpdateInterest();
}

void ThriftDownstreamConnection::HandleWrite() {
  write_armed_ = false;
  flush_scheduled_ = false;
  if (fd_ < 0) return;
  if (!WriteFrom(fd_, out_)) {
    Close();
    return;
  }
  if (!out_.empty()) {
    event_add(&write_ev_, nullptr);
    write_armed_ = true;
    return;
  }
  UpdateInterest();
}

void ThriftDownstreamConnection::ScheduleFlush() {
  if (flush_scheduled_ || write_armed_ || fd_ < 0 || out_.empty()) return;
  flush_scheduled_ = true;
  event_active(&write_ev_, EV_WRITE, 1);
}

void ThriftDownstreamConnection::HandleTimeout() {
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
      timeval tv{static_cast<time_t>(wait_us / 1000000), static_cast<suseconds_t>(wait_us % 1000000)};
      timer_ = Timer::kIdle;
      event_add(&timer_ev_, &tv);
      return;
    }
  }
  Close();  // idle
}

void ThriftDownstreamConnection::ProtocolError(ThriftProtocolError reason, const std::string& detail) {
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
      AnswerLocally(info, thrift::AppExceptionType::kProtocolError, "TTwitter upgrade after other calls");
      return;
    }
    // Finagle's client asks to upgrade: agree; every call from now on has a RequestHeader.
    Outstanding& o = AddOutstanding();
    o.call_id = next_call_id_++;
    o.answered = true;
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
  RouterCounters::Bump(worker_.mutable_counters().requests_total);
  const uint64_t start_us = batch_read_us_;  // the calls of one read arrived together

  Worker::RoutesLease* routes = worker_.AcquireRoutes();
  const ServiceRoute* service = routes->table->FindService(listener_.service);
  const ServiceConfig* service_config = service_config_;
  if (service == nullptr || service_config == nullptr) {
    worker_.ReleaseRoutes(routes);
    AnswerLocally(info, thrift::AppExceptionType::kInternalError,
                  "canarymesh: no service '" + listener_.service + "'");
    return;
  }
  ThriftChoiceInput input;
  if (!listener_.strip_overrides) input.override_header = worker_.config().override_header;
  input.client_ip = peer_ip_;
  input.random_bits = worker_.rng().Next();
  input.thrift = service_config->thrift ? &*service_config->thrift : nullptr;
  ThriftVersionChoice choice = ChooseThriftVersion(*service, info, input);
  auto fail = [&](const std::string& why, uint32_t stats_key) {
    worker_.recorder().Record(stats_key, true, SteadyMicros() - start_us, SteadyMillis());
    worker_.ReleaseRoutes(routes);
    AnswerLocally(info, thrift::AppExceptionType::kInternalError, "canarymesh: " + why);
  };
  if (choice.group == nullptr) {
    fail(choice.message, service->unrouted_thrift_stats_key);
    return;
  }
  const VersionGroup& version = *choice.group;
  const thrift::FrameSpec client_spec = thrift::SourceFrameOf(info);
  if (!upstream_spec_known_ || !(upstream_spec_for_ == client_spec)) {
    auto spec = connections_.UpstreamSpec(*service_config, client_spec);
    if (!spec.ok()) {
      fail(spec.status().message(), version.thrift_stats_key);
      return;
    }
    upstream_spec_known_ = true;
    upstream_spec_for_ = client_spec;
    upstream_spec_ = *spec;
  }
  const thrift::FrameSpec* spec = &upstream_spec_;
  const int64_t now_ms = static_cast<int64_t>(start_us / 1000);
  int chosen = PickPowerOfTwo(
      version.instances.size(),
      [&](size_t i) {
        BalancerCandidate c;
        c.in_flight = connections_.InFlight(version.instances[i], *spec);
        c.ejected = version.instances[i]->IsEjected(now_ms);
        return c;
      },
      worker_.rng());
  const auto& instance = version.instances[static_cast<size_t>(chosen)];
  ThriftUpstreamPool& pool = connections_.PoolFor(instance, *spec);
  int error_number = 0;
  ThriftUpstreamConnection* upstream = BatchUpstreamFor(pool);
  if (upstream == nullptr) {
    upstream = pool.Pick(&error_number);
    if (upstream != nullptr) RememberBatchUpstream(pool, upstream);
  }
  if (upstream == nullptr) {
    if (instance->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
      RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
    }
    fail("upstream connect error: " + instance->label() + " of service '" + service->name +
             "' version '" + version.name + "': " + std::strerror(error_number),
         version.thrift_stats_key);
    return;
  }
  ThriftCallContext context;
  context.stats_key = version.thrift_stats_key;
  context.start_us = start_us;
  context.now_us = start_us;  // read when this batch of calls was taken, moments ago
  context.caller_flushes = true;  // FlushBatchUpstreams, when the batch is done
  const bool carries = spec->format.transport == thrift::Transport::kHeader || spec->ttwitter;
  if (carries && !choice.carry.empty()) {
    context.carry_key = worker_.config().override_header;
    context.carry_value = choice.carry;
  } else if (carries && listener_.strip_overrides) {
    // An untrusted client's override must not reach the next hop either: blank it out (an empty
    // override is no override) when the call carries one in a header or context.
    ThriftChoiceInput probe;
    probe.override_header = worker_.config().override_header;
    if (!ChooseThriftVersion(*service, info, probe).carry.empty()) context.carry_key = worker_.config().override_header;
  }
  worker_.ReleaseRoutes(routes);

  if (oneway) {
    int32_t upstream_seqid = 0;
    Status s = upstream->Send(message, info, context, nullptr, 0, &upstream_seqid);
    pool.Update(upstream);
    if (!s.ok()) {
      LOG_WARN << "thrift: oneway call '" << info.name << "' from " << peer_ << " dropped: " << s.message();
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
  Status s = upstream->Send(message, info, context, this, o.call_id, &o.upstream_seqid);
  pool.Update(upstream);
  if (!s.ok()) {
    o.answered = true;
    auto reply = thrift::EncodeApplicationExceptionReply(
        thrift::ReplyEncoding{o.client.format, o.client.ttwitter, o.theader_flags, {}}, o.method, o.client_seqid,
        {thrift::AppExceptionType::kInternalError, "canarymesh: cannot forward the call: " + s.message()});
    if (reply.ok()) o.reply = std::move(reply.value());
    RouterCounters::Bump(connections_.counters().local_exceptions_total);
    worker_.recorder().Record(version.thrift_stats_key, true, SteadyMicros() - start_us, SteadyMillis());
    return;
  }
  o.upstream = upstream;
}

void ThriftDownstreamConnection::AnswerLocally(const thrift::MessageInfo& call, thrift::AppExceptionType type,
                                               const std::string& why) {
  RouterCounters::Bump(connections_.counters().local_exceptions_total);
  if (call.type == thrift::MessageType::kOneway) {
    LOG_WARN << "thrift: oneway call '" << call.name << "' from " << peer_ << " dropped: " << why;
    return;
  }
  auto reply = thrift::EncodeApplicationExceptionReply(thrift::ReplyEncoding::For(call), call.name, call.seqid,
                                                       thrift::ApplicationException{type, why});
  if (!reply.ok()) {
    ProtocolError(ThriftProtocolError::kMalformed, "cannot answer: " + reply.status().message());
    return;
  }
  Outstanding& o = AddOutstanding();
  o.call_id = next_call_id_++;
  o.answered = true;
  o.reply = std::move(reply.value());
  worker_.RequestStarted();
}

ThriftUpstreamConnection* ThriftDownstreamConnection::BatchUpstreamFor(const ThriftUpstreamPool& pool) {
  for (size_t i = 0; i < batch_upstream_count_; ++i) {
    const BatchUpstream& b = batch_upstreams_[i];
    if (b.pool == &pool) return b.upstream->HasRoom() ? b.upstream : nullptr;
  }
  return nullptr;
}

void ThriftDownstreamConnection::RememberBatchUpstream(const ThriftUpstreamPool& pool,
                                                       ThriftUpstreamConnection* upstream) {
  // The calls queued on the connection this one replaces go out now.
  for (size_t i = 0; i < batch_upstream_count_; ++i) {
    if (batch_upstreams_[i].pool == &pool) {  // that one is full
      batch_upstreams_[i].upstream->Flush();
      batch_upstreams_[i].upstream = upstream;
      return;
    }
  }
  if (batch_upstream_count_ < kBatchUpstreams) {
    batch_upstreams_[batch_upstream_count_++] = BatchUpstream{&pool, upstream};
    return;
  }
  BatchUpstream& evicted = batch_upstreams_[kBatchUpstreams - 1];  // calls to many versions
  evicted.upstream->Flush();
  evicted = BatchUpstream{&pool, upstream};
}

void ThriftDownstreamConnection::FlushBatchUpstreams() {
  for (size_t i = 0; i < batch_upstream_count_; ++i) batch_upstreams_[i].upstream->Flush();
  batch_upstream_count_ = 0;
}

ThriftDownstreamConnection::Outstanding& ThriftDownstreamConnection::AddOutstanding() {
  Outstanding& o = outstanding_.push_back();
  o.call_id = 0;
  o.answered = false;
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
  if (o == nullptr || o->answered) return;
  o->upstream = nullptr;
  o->answered = true;
  thrift::ReframeRequest request;
  request.target = o->client;
  request.seqid = o->client_seqid;
  request.theader_flags = o->theader_flags;
  // The usual case, the oldest call answered: straight to the socket's buffer, no copy kept.
  Status s;
  if (o == &outstanding_.front() && fd_ >= 0) {
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

void ThriftDownstreamConnection::OnThriftCallFailed(uint64_t call_id, const thrift::ApplicationException& why) {
  Outstanding* o = Find(call_id);
  if (o == nullptr) return;
  o->upstream = nullptr;
  o->answered = true;
  o->reply.clear();
  auto reply = thrift::EncodeApplicationExceptionReply(
      thrift::ReplyEncoding{o->client.format, o->client.ttwitter, o->theader_flags, {}}, o->method,
      o->client_seqid, why);
  if (reply.ok()) o->reply = std::move(reply.value());
  RouterCounters::Bump(connections_.counters().local_exceptions_total);
  DeliverAnswered();
}

void ThriftDownstreamConnection::DeliverAnswered() {
  if (fd_ < 0) return;
  bool delivered = false;
  while (!outstanding_.empty() && outstanding_.front().answered) {
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
