#include "router/downstream_connection.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "router/p2c_balancer.h"
#include "router/socket_ops.h"
#include "router/upstream_pool.h"
#include "router/version_choice.h"

namespace canarymesh::router {
namespace {

constexpr size_t kMaxRetainedBody = 64 * 1024;  // request bodies up to this size can be replayed
constexpr size_t kMaxUnparsedInput = 256 * 1024;  // pipelined bytes buffered before we stop reading

bool IsIdempotent(int method) {
  switch (method) {
    case http::kMethodGet: case http::kMethodHead: case http::kMethodOptions: case http::kMethodTrace:
    case http::kMethodPut: case http::kMethodDelete:
      return true;
    default:
      return false;
  }
}

}  // namespace

DownstreamConnection::DownstreamConnection(Worker& worker, const ListenerConfig& listener, int fd,
                                           const sockaddr* peer)
    : worker_(worker),
      listener_(listener),
      fd_(fd),
      parser_(http::MessageParser::Kind::kRequest, this, worker.config().limits.max_request_header_bytes) {
  std::string ip = PeerIp(peer);
  std::snprintf(peer_ip_, sizeof(peer_ip_), "%s", ip.c_str());
  request_head_.reserve(1024);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_total);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_active);
}

DownstreamConnection::~DownstreamConnection() { Close(); }

void DownstreamConnection::Start() {
  event_assign(&read_ev_, worker_.base(), fd_, EV_READ | EV_PERSIST, &OnReadEvent, this);
  event_assign(&write_ev_, worker_.base(), fd_, EV_WRITE, &OnWriteEvent, this);
  event_assign(&timer_ev_, worker_.base(), -1, 0, &OnTimerEvent, this);
  UpdateReadInterest();
  SetTimer(Timer::kIdle);
}

void DownstreamConnection::Close() {
  if (fd_ < 0) return;
  if (active_) {
    if (upstream_) ReleaseUpstream(false);
    ResetExchange();
  }
  event_del(&read_ev_);
  event_del(&write_ev_);
  event_del(&timer_ev_);
  ::close(fd_);
  fd_ = -1;
  RouterCounters::Drop(worker_.mutable_counters().downstream_connections_active);
  worker_.RemoveDownstream(this);  // hands ownership to the deferred-delete list
}

void DownstreamConnection::Drain() {
  if (fd_ < 0) return;
  if (!active_ && !parser_.InMessage() && out_.empty()) {
    Close();
  } else {
    close_after_response_ = true;
  }
}

// ---- socket events ----

void DownstreamConnection::OnReadEvent(evutil_socket_t, short, void* arg) {
  static_cast<DownstreamConnection*>(arg)->HandleRead();
}
void DownstreamConnection::OnWriteEvent(evutil_socket_t, short, void* arg) {
  static_cast<DownstreamConnection*>(arg)->HandleWrite();
}
void DownstreamConnection::OnTimerEvent(evutil_socket_t, short, void* arg) {
  static_cast<DownstreamConnection*>(arg)->HandleTimeout();
}

void DownstreamConnection::UpdateReadInterest() {
  if (fd_ < 0) return;
  bool want = !peer_eof_ && !close_after_write_ && !read_blocked_by_upstream_ &&
              in_.size() < kMaxUnparsedInput;
  if (want == read_armed_) return;
  if (want) {
    event_add(&read_ev_, nullptr);
  } else {
    event_del(&read_ev_);
  }
  read_armed_ = want;
}

void DownstreamConnection::SetTimer(Timer timer) {
  if (timer == timer_) return;
  timer_ = timer;
  switch (timer) {
    case Timer::kNone: event_del(&timer_ev_); break;
    case Timer::kIdle: event_add(&timer_ev_, worker_.client_idle_timeout()); break;
    case Timer::kHeader: event_add(&timer_ev_, worker_.header_timeout()); break;
    case Timer::kRequest: event_add(&timer_ev_, worker_.request_timeout()); break;
  }
}

void DownstreamConnection::HandleRead() {
  ssize_t n = ReadInto(fd_, in_, read_chunk_.size());
  read_chunk_.Observe(n);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    Close();
    return;
  }
  if (n == 0) {
    peer_eof_ = true;
    UpdateReadInterest();
    // A client may half-close after complete requests and still read the answers: the one in
    // flight and any pipelined behind it are answered, then the connection closes
    // (see the end of ProcessInput).
    if (active_ && request_complete_) return;
    // Between requests: the last answer may still be queued; deliver it, then close.
    if (!active_ && !parser_.InMessage()) {
      close_after_write_ = true;
      FlushOutput();
      return;
    }
    Close();
    return;
  }
  if (timer_ == Timer::kIdle) SetTimer(Timer::kHeader);
  ProcessInput();
  if (fd_ >= 0) {
    UpdateReadInterest();
    FlushOutput();
  }
}

void DownstreamConnection::HandleWrite() {
  write_armed_ = false;
  FlushOutput();
}

void DownstreamConnection::FlushOutput() {
  if (fd_ < 0) return;
  if (!WriteFrom(fd_, out_)) {
    Close();
    return;
  }
  if (!out_.empty()) {
    if (!write_armed_) {
      event_add(&write_ev_, nullptr);
      write_armed_ = true;
    }
    if (upstream_ && out_.size() >= worker_.config().limits.buffer_high_watermark) {
      upstream_->PauseReading(true);  // slow client: stop pulling the response
    }
    return;
  }
  // Resume whenever the output is empty: keying this on how much one write drained missed the
  // case where a paused upstream's backlog left over several writes, stalling the response.
  // PauseReading(false) is a no-op when reading was not paused.
  if (upstream_) upstream_->PauseReading(false);
  if (close_after_write_) Close();
}

void DownstreamConnection::HandleTimeout() {
  Timer which = timer_;
  timer_ = Timer::kNone;
  if (which == Timer::kRequest && active_ && !local_) {
    if (!response_started_) {
      // No answer in time: 504, and the instance gets a failure mark.
      if (upstream_ && pool_) {
        if (pool_->instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
          RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
        }
      }
      if (upstream_) ReleaseUpstream(false);
      RecordOutcome(true);
      std::string body = "upstream timeout: no response from service '" + service_->name +
                         "' within " + std::to_string(worker_.config().timeouts.request_ms) + " ms\n";
      RouterCounters::Bump(worker_.mutable_counters().local_504);
      LocalReply(504, "Gateway Timeout", body, !request_complete_);
      if (request_complete_) FinishExchange();
      FlushOutput();
      return;
    }
    // The response stalled midway: nothing sensible can be sent any more.
    RecordOutcome(true);
    Close();
    return;
  }
  if (which == Timer::kHeader && parser_.InMessage() && !active_) {
    RouterCounters::Bump(worker_.mutable_counters().local_400);
    LocalReply(408, "Request Timeout", "request headers not received in time\n", true);
    FlushOutput();
    return;
  }
  if (!active_) Close();  // idle keep-alive connection
}

// ---- request parsing ----

void DownstreamConnection::ProcessInput() {
  if (processing_) return;
  processing_ = true;
  while (fd_ >= 0 && !in_.empty() && !close_after_write_) {
    if (active_ && request_complete_) break;  // pipelined: wait for the current response
    if (parser_.paused()) {
      if (active_) break;
      parser_.Resume();
    }
    size_t consumed = parser_.Execute(in_.data(), in_.size());
    in_.Consume(consumed);
    if (fd_ < 0) break;
    if (parser_.error() != http::ParseError::kNone) {
      bool too_large = parser_.error() == http::ParseError::kHeadersTooLarge;
      if (active_ && !local_) {
        // The body of a request already on its way upstream turned out malformed.
        if (upstream_) ReleaseUpstream(false);
        if (response_started_) {
          Close();
          break;
        }
        ResetExchange();
      }
      if (too_large) {
        RouterCounters::Bump(worker_.mutable_counters().local_431);
        LocalReply(431, "Request Header Fields Too Large",
                   "request header section exceeds " +
                       std::to_string(worker_.config().limits.max_request_header_bytes) + " bytes\n",
                   true);
      } else {
        RouterCounters::Bump(worker_.mutable_counters().local_400);
        LocalReply(400, "Bad Request", std::string("malformed HTTP request: ") + parser_.ErrorDescription() + "\n",
                   true);
      }
      break;
    }
    if (consumed == 0 && !parser_.paused()) break;
  }
  processing_ = false;
  // Half-closed by the client and nothing left to answer: close once the output is written.
  if (peer_eof_ && !active_ && fd_ >= 0) {
    close_after_write_ = true;
    UpdateReadInterest();
  }
}

void DownstreamConnection::OnHead(const http::MessageHead& head) {
  active_ = true;
  local_ = false;
  request_complete_ = false;
  response_started_ = false;
  attempts_ = 0;
  failed_instance_ = nullptr;
  start_us_ = SteadyMicros();
  request_chunked_ = head.chunked;
  request_is_head_ = head.method_code == http::kMethodHead;
  request_idempotent_ = IsIdempotent(head.method_code);
  client_http11_ = head.version_major == 1 && head.version_minor >= 1;
  client_keep_alive_ = head.keep_alive;
  worker_.RequestStarted();
  RouterCounters::Bump(worker_.mutable_counters().requests_total);
  SetTimer(Timer::kNone);
  bool has_body = head.chunked || (head.has_content_length && head.content_length > 0);

  if (head.upgrade) {
    RouterCounters::Bump(worker_.mutable_counters().local_501);
    LocalReply(501, "Not Implemented", "protocol upgrade and CONNECT are not supported\n", true);
    return;
  }
  routes_ = worker_.AcquireRoutes();
  if (head.method_code == http::kMethodPost) {
    if (const ServiceConfig* thrift_service = ThriftHttpExchange::MatchPath(worker_.config(), head.target)) {
      StartThriftHttp(head, *thrift_service);
      return;
    }
  }
  std::string_view host = head.Find("host");
  service_ = routes_->table->Match(host, head.target);
  if (service_ == nullptr) {
    RouterCounters::Bump(worker_.mutable_counters().local_404);
    LocalReply(404, "Not Found",
               "no service for host '" + std::string(host.substr(0, 200)) + "' and path '" +
                   std::string(head.target.substr(0, 200)) + "'\n",
               has_body);
    return;
  }
  // Version: the test override wins, then the sticky key, then the weighted split.
  VersionChoiceInput choice_input;
  if (!listener_.strip_overrides) choice_input.override_header = worker_.config().override_header;
  choice_input.client_ip = peer_ip_;
  choice_input.random_bits = worker_.rng().Next();
  choice_input.scratch = &override_joined_;
  VersionChoice choice = ChooseVersion(*service_, head, choice_input);
  version_ = choice.group;
  if (version_ == nullptr) {
    choice.message.push_back('\n');
    if (choice.status == 400) {
      RouterCounters::Bump(worker_.mutable_counters().local_400);
      LocalReply(400, "Bad Request", choice.message, has_body);
    } else {
      RecordOutcome(true);
      RouterCounters::Bump(worker_.mutable_counters().local_503);
      LocalReply(503, "Service Unavailable", choice.message, has_body);
    }
    return;
  }
  request_head_.clear();
  http::RequestRewrite rewrite;
  rewrite.client_ip = peer_ip_;
  if (listener_.strip_overrides) rewrite.drop_header = worker_.config().override_header;
  http::WriteRequestHead(head, rewrite, &request_head_);
  retained_body_.Clear();
  body_retained_ = true;
  const int64_t start_ms = static_cast<int64_t>(start_us_ / 1000);
  worker_.retry_budget().Deposit(start_ms);
  Dispatch(start_ms);
}

void DownstreamConnection::Dispatch(int64_t now_ms) {
  ++attempts_;
  const auto& instances = version_->instances;
  int chosen = PickPowerOfTwo(
      instances.size(),
      [&](size_t i) {
        const auto& inst = instances[i];
        BalancerCandidate c;
        c.in_flight = worker_.PoolFor(inst).in_flight();
        c.ejected = inst->IsEjected(now_ms);
        c.excluded = inst.get() == failed_instance_;
        return c;
      },
      worker_.rng());
  pool_ = &worker_.PoolFor(instances[static_cast<size_t>(chosen)]);
  int error_number = 0;
  UpstreamConnection* conn = pool_->Acquire(&error_number);
  pool_->RequestStarted();
  if (conn == nullptr) {
    upstream_ = nullptr;
    OnUpstreamFailure(UpstreamFailure::kConnectFailed, error_number);
    return;
  }
  upstream_ = conn;
  conn->Attach(this, request_is_head_);
  conn->output().Append(request_head_);
  if (!retained_body_.empty()) conn->output().Append(retained_body_.data(), retained_body_.size());
  SetTimer(Timer::kRequest);
  conn->Flush();
}

void DownstreamConnection::OnBody(const char* data, size_t len) {
  if (!active_ || local_) return;  // discarded: the proxy already answered
  if (thrift_http_) {
    if (!thrift_http_->AppendBody(data, len)) {
      worker_.DeferDelete(std::move(thrift_http_));
      RouterCounters::Bump(worker_.mutable_counters().local_400);
      LocalReply(413, "Content Too Large", "Thrift call larger than the largest Thrift frame allowed\n", true);
    }
    return;
  }
  char frame[24];
  size_t frame_len = request_chunked_ ? http::FormatChunkHeader(len, frame) : 0;
  if (body_retained_) {
    if (retained_body_.size() + len + frame_len + 2 > kMaxRetainedBody) {
      body_retained_ = false;
      retained_body_.Clear();
    } else {
      retained_body_.Append(frame, frame_len);
      retained_body_.Append(data, len);
      if (request_chunked_) retained_body_.Append("\r\n", 2);
    }
  }
  if (!upstream_) return;  // between attempts; the retained copy (if any) is replayed
  ByteBuffer& out = upstream_->output();
  out.Append(frame, frame_len);
  out.Append(data, len);
  if (request_chunked_) out.Append("\r\n", 2);
  if (out.size() >= worker_.config().limits.buffer_high_watermark) {
    upstream_->Flush();
    if (upstream_ && upstream_->output().size() >= worker_.config().limits.buffer_high_watermark) {
      read_blocked_by_upstream_ = true;  // the upstream is slow to take the body
      UpdateReadInterest();
    }
  }
}

void DownstreamConnection::OnMessageComplete() {
  if (!active_) return;
  request_complete_ = true;
  if (local_) {
    FinishExchange();
    return;
  }
  if (thrift_http_) {
    SetTimer(Timer::kNone);  // the upstream connection times the call out
    thrift_http_->Dispatch();
    return;
  }
  if (request_chunked_) {
    if (body_retained_) retained_body_.Append("0\r\n\r\n", 5);
    if (upstream_) upstream_->output().Append("0\r\n\r\n", 5);
  }
  if (upstream_) upstream_->Flush();
}

// ---- upstream events ----

void DownstreamConnection::OnUpstreamInterim(const http::MessageHead& head) {
  worker_.scratch().clear();
  http::WriteResponseHead(head, http::BodyFraming::kNone, false, true, &worker_.scratch());
  if (client_http11_) out_.Append(worker_.scratch());
}

void DownstreamConnection::OnUpstreamHead(const http::MessageHead& head) {
  response_started_ = true;
  response_status_ = head.status;
  framing_ = http::ChooseResponseFraming(head, request_is_head_, client_http11_);
  close_after_response_ = close_after_response_ || !client_keep_alive_ || worker_.draining() ||
                          framing_ == http::BodyFraming::kUntilClose;
  worker_.scratch().clear();
  http::WriteResponseHead(head, framing_, close_after_response_, client_http11_, &worker_.scratch());
  out_.Append(worker_.scratch());
  SetTimer(Timer::kRequest);  // from here on it bounds a stall in the response body
}

void DownstreamConnection::OnUpstreamBody(const char* data, size_t len) {
  if (framing_ == http::BodyFraming::kChunked) {
    char frame[24];
    out_.Append(frame, http::FormatChunkHeader(len, frame));
    out_.Append(data, len);
    out_.Append("\r\n", 2);
  } else if (framing_ != http::BodyFraming::kNone) {
    out_.Append(data, len);
  }
  if (out_.size() >= worker_.config().limits.buffer_high_watermark) FlushOutput();
}

void DownstreamConnection::OnUpstreamReadBatchDone() {
  if (timer_ == Timer::kRequest && response_started_) {
    event_add(&timer_ev_, worker_.request_timeout());  // progress: restart the stall timer
  }
  FlushOutput();
}

void DownstreamConnection::OnUpstreamDrained() {
  if (read_blocked_by_upstream_) {
    read_blocked_by_upstream_ = false;
    UpdateReadInterest();
    ProcessInput();
  }
}

void DownstreamConnection::OnUpstreamComplete() {
  if (framing_ == http::BodyFraming::kChunked) out_.Append("0\r\n\r\n", 5);
  pool_->instance()->RecordSuccess();
  RecordOutcome(response_status_ >= 500);
  ReleaseUpstream(request_complete_);
  FinishExchange();
  if (fd_ >= 0) {
    FlushOutput();
  }
}

void DownstreamConnection::OnUpstreamFailure(UpstreamFailure failure, int error_number) {
  // The pool already closed the connection.
  upstream_ = nullptr;
  UpstreamPool* pool = pool_;
  if (pool) pool->RequestFinished();
  pool_ = nullptr;
  // Every kind of failure here (connect, reset, broken HTTP) marks the instance.
  if (pool && pool->instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
    RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
    LOG_WARN << "ejected upstream " << pool->instance()->label() << " of service " << service_->name
             << " after failures";
  }
  if (!active_) return;
  if (response_started_) {
    RecordOutcome(true);
    Close();  // the client got part of a response; closing is the only honest signal
    return;
  }
  failed_instance_ = pool ? pool->instance().get() : nullptr;
  if (TryRetry(failure)) {
    RouterCounters::Bump(worker_.mutable_counters().retries_total);
    Dispatch(SteadyMillis());
    return;
  }
  RecordOutcome(true);
  std::string where = pool ? pool->instance()->label() : std::string("?");
  const char* reason = error_number ? std::strerror(error_number) : "connection closed";
  if (failure == UpstreamFailure::kConnectTimeout) {
    RouterCounters::Bump(worker_.mutable_counters().local_504);
    LocalReply(504, "Gateway Timeout",
               "upstream connect timeout: " + where + " of service '" + service_->name + "'\n",
               !request_complete_);
  } else {
    RouterCounters::Bump(worker_.mutable_counters().local_502);
    const char* what = failure == UpstreamFailure::kConnectFailed ? "upstream connect error"
                       : failure == UpstreamFailure::kMalformedResponse ? "malformed upstream response"
                                                                        : "upstream reset before response";
    LocalReply(502, "Bad Gateway",
               std::string(what) + ": " + where + " of service '" + service_->name + "': " + reason + "\n",
               !request_complete_);
  }
  if (request_complete_) FinishExchange();
  if (fd_ >= 0) FlushOutput();
}

bool DownstreamConnection::TryRetry(UpstreamFailure failure) {
  if (attempts_ >= worker_.config().retries.max_attempts) return false;
  if (!body_retained_) return false;  // the body already left and cannot be replayed
  bool nothing_sent = failure == UpstreamFailure::kConnectFailed || failure == UpstreamFailure::kConnectTimeout;
  if (!nothing_sent && !request_idempotent_) return false;
  if (!worker_.retry_budget().TryWithdraw(SteadyMillis())) {
    RouterCounters::Bump(worker_.mutable_counters().retries_budget_exhausted_total);
    return false;
  }
  return true;
}

// ---- exchange bookkeeping ----

void DownstreamConnection::ReleaseUpstream(bool reusable) {
  UpstreamConnection* conn = upstream_;
  upstream_ = nullptr;
  if (pool_) {
    pool_->RequestFinished();
    if (conn) {
      if (reusable) {
        pool_->Release(conn);
      } else {
        pool_->Close(conn);
      }
    }
  }
  pool_ = nullptr;
}

void DownstreamConnection::RecordOutcome(bool error) {
  if (service_ == nullptr) return;
  uint32_t key = version_ ? version_->stats_key : service_->unrouted_stats_key;
  const uint64_t now_us = SteadyMicros();
  worker_.recorder().Record(key, error, now_us - start_us_, static_cast<int64_t>(now_us / 1000));
}

void DownstreamConnection::LocalReply(int status, const char* reason, std::string_view body, bool close) {
  local_ = true;
  response_started_ = true;
  bool must_close = close || !client_keep_alive_ || worker_.draining();
  worker_.scratch().clear();
  // An answer to HEAD has no body: the client would read those bytes as the next response.
  http::WriteLocalResponse(status, reason, request_is_head_ ? std::string_view() : body, must_close,
                           &worker_.scratch());
  out_.Append(worker_.scratch());
  if (must_close) {
    close_after_response_ = true;
    close_after_write_ = true;
    UpdateReadInterest();
  }
}

void DownstreamConnection::ResetExchange() {
  if (!active_) return;
  if (thrift_http_) {
    thrift_http_->Abandon();
    worker_.DeferDelete(std::move(thrift_http_));  // may be on the stack
  }
  active_ = false;
  local_ = false;
  request_is_head_ = false;  // a parse error before the next OnHead must not inherit it
  service_ = nullptr;
  version_ = nullptr;
  if (routes_) {
    worker_.ReleaseRoutes(routes_);
    routes_ = nullptr;
  }
  worker_.RequestFinished();
}

void DownstreamConnection::FinishExchange() {
  bool close = close_after_response_ || !request_complete_;
  ResetExchange();
  if (close) {
    close_after_write_ = true;
    UpdateReadInterest();
    return;
  }
  SetTimer(in_.empty() ? Timer::kIdle : Timer::kHeader);
  if (!processing_) {
    ProcessInput();  // a pipelined request may be waiting
    UpdateReadInterest();
  }
}

// ---- Thrift over HTTP ----

void DownstreamConnection::StartThriftHttp(const http::MessageHead& head, const ServiceConfig& service) {
  service_ = routes_->table->FindService(service.name);
  if (service_ == nullptr) {
    RouterCounters::Bump(worker_.mutable_counters().local_404);
    LocalReply(404, "Not Found", "no service '" + service.name + "'\n", true);
    return;
  }
  const std::string& sticky = service_->selector.sticky().header;
  thrift_http_ = std::make_unique<ThriftHttpExchange>(
      worker_, *this, service, head.Find(worker_.config().override_header),
      sticky.empty() ? std::string_view() : head.Find(sticky), peer_ip_, !listener_.strip_overrides);
  SetTimer(Timer::kHeader);  // until the body is in
}

void DownstreamConnection::OnThriftHttpResponse(int status, std::string_view body) {
  if (!active_ || local_ || fd_ < 0) return;
  if (status != 200) {
    RouterCounters::Bump(worker_.mutable_counters().local_400);
    LocalReply(status, status == 400 ? "Bad Request" : "Bad Gateway", body, false);
  } else {
    response_started_ = true;
    bool close = !client_keep_alive_ || worker_.draining();
    close_after_response_ = close_after_response_ || close;
    char head[256];
    int n = std::snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Type: application/x-thrift\r\nContent-Length: %zu\r\n%s\r\n",
                          body.size(), close ? "Connection: close\r\n" : "");
    out_.Append(head, static_cast<size_t>(n));
    out_.Append(body);
  }
  FinishExchange();
  if (fd_ >= 0) FlushOutput();
}

}  // namespace canarymesh::router
