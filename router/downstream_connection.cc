#include "router/downstream_connection.h"

#include <errno.h>

#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "router/p2c_balancer.h"
#include "router/socket_ops.h"
#include "router/upstream_pool.h"
#include "router/version_choice.h"

namespace canarymesh::router {
namespace {

constexpr size_t kMaxRetainedBody = 64 * 1024;    // request bodies up to this size can be replayed
constexpr size_t kMaxUnparsedInput = 256 * 1024;  // pipelined bytes buffered before we stop reading

}  // namespace

DownstreamConnection::DownstreamConnection(Worker& worker, const ListenerConfig& listener, int fd,
                                           const sockaddr* peer)
    : worker_(worker),
      listener_(listener),
      socket_(worker.base(), *this),
      parser_(http::MessageParser::Kind::kRequest, this,
              worker.config().limits.max_request_header_bytes) {
  socket_.Adopt(fd);
  std::string ip = PeerIp(peer);
  std::snprintf(peer_ip_, sizeof(peer_ip_), "%s", ip.c_str());
  exchange_.request_head.reserve(1024);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_total);
  RouterCounters::Bump(worker_.mutable_counters().downstream_connections_active);
}

DownstreamConnection::~DownstreamConnection() { Close(); }

void DownstreamConnection::Start() {
  UpdateReadInterest();
  SetTimer(Timer::kIdle);
}

void DownstreamConnection::Close() {
  if (!socket_.open()) return;
  if (exchange_.active()) {
    if (exchange_.upstream) ReleaseUpstream(false);
    ResetExchange();
  }
  socket_.Close();
  RouterCounters::Drop(worker_.mutable_counters().downstream_connections_active);
  worker_.RemoveDownstream(this);  // hands ownership to the deferred-delete list
}

void DownstreamConnection::Drain() {
  if (!socket_.open()) return;
  if (!exchange_.active() && !parser_.InMessage() && out_.empty()) {
    Close();
  } else {
    close_after_response_ = true;
  }
}

// ---- socket events ----

void DownstreamConnection::UpdateReadInterest() {
  socket_.WantRead(!peer_eof_ && !close_after_write_ && !read_blocked_by_upstream_ &&
                   in_.size() < kMaxUnparsedInput);
}

void DownstreamConnection::SetTimer(Timer timer) {
  if (timer == timer_) return;
  timer_ = timer;
  switch (timer) {
    case Timer::kNone:
      socket_.CancelTimer();
      break;
    case Timer::kIdle:
      socket_.ArmTimer(worker_.client_idle_timeout());
      break;
    case Timer::kHeader:
      socket_.ArmTimer(worker_.header_timeout());
      break;
    case Timer::kRequest:
      socket_.ArmTimer(worker_.request_timeout());
      break;
  }
}

void DownstreamConnection::OnReadable() {
  ssize_t n = socket_.Read(in_);
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
    if (exchange_.active() && exchange_.request_complete) return;
    // Between requests: the last answer may still be queued; deliver it, then close.
    if (!exchange_.active() && !parser_.InMessage()) {
      close_after_write_ = true;
      FlushOutput();
      return;
    }
    Close();
    return;
  }
  if (timer_ == Timer::kIdle) SetTimer(Timer::kHeader);
  ProcessInput();
  if (socket_.open()) {
    UpdateReadInterest();
    FlushOutput();
  }
}

void DownstreamConnection::OnWritable() { FlushOutput(); }

void DownstreamConnection::FlushOutput() {
  if (!socket_.open()) return;
  switch (socket_.Flush(out_)) {
    case Connection::FlushResult::kError:
      Close();
      return;
    case Connection::FlushResult::kPending:
      if (exchange_.upstream && out_.size() >= worker_.config().limits.buffer_high_watermark) {
        exchange_.upstream->PauseReading(true);  // slow client: stop pulling the response
      }
      return;
    case Connection::FlushResult::kDone:
      break;
  }
  // Resume whenever the output is empty: keying this on how much one write drained missed the
  // case where a paused upstream's backlog left over several writes, stalling the response.
  // PauseReading(false) is a no-op when reading was not paused.
  if (exchange_.upstream) exchange_.upstream->PauseReading(false);
  if (close_after_write_) Close();
}

void DownstreamConnection::OnTimer() {
  Timer which = timer_;
  timer_ = Timer::kNone;
  if (which == Timer::kRequest && exchange_.active() && !exchange_.local()) {
    if (!exchange_.response_started()) {
      // No answer in time: 504, and the instance gets a failure mark.
      if (exchange_.upstream && exchange_.pool) {
        if (exchange_.pool->instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
          RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
        }
      }
      if (exchange_.upstream) ReleaseUpstream(false);
      RecordOutcome(true);
      std::string body = "upstream timeout: no response from service '" + exchange_.service->name +
                         "' within " + std::to_string(worker_.config().timeouts.request_ms) +
                         " ms\n";
      LocalReply(504, "Gateway Timeout", body, !exchange_.request_complete);
      if (exchange_.request_complete) FinishExchange();
      FlushOutput();
      return;
    }
    // The response stalled midway: nothing sensible can be sent any more.
    RecordOutcome(true);
    Close();
    return;
  }
  if (which == Timer::kHeader && parser_.InMessage() && !exchange_.active()) {
    LocalReply(408, "Request Timeout", "request headers not received in time\n", true);
    FlushOutput();
    return;
  }
  if (!exchange_.active()) Close();  // idle keep-alive connection
}

// ---- request parsing ----

void DownstreamConnection::ProcessInput() {
  if (processing_) return;
  processing_ = true;
  while (socket_.open() && !in_.empty() && !close_after_write_) {
    // Pipelined: wait for the current response.
    if (exchange_.active() && exchange_.request_complete) break;
    if (parser_.paused()) {
      if (exchange_.active()) break;
      parser_.Resume();
    }
    size_t consumed = parser_.Execute(in_.data(), in_.size());
    in_.Consume(consumed);
    if (!socket_.open()) break;
    if (parser_.error() != http::ParseError::kNone) {
      bool too_large = parser_.error() == http::ParseError::kHeadersTooLarge;
      if (exchange_.active() && !exchange_.local()) {
        // The body of a request already on its way upstream turned out malformed.
        if (exchange_.upstream) ReleaseUpstream(false);
        if (exchange_.response_started()) {
          Close();
          break;
        }
        ResetExchange();
      }
      if (too_large) {
        LocalReply(431, "Request Header Fields Too Large",
                   "request header section exceeds " +
                       std::to_string(worker_.config().limits.max_request_header_bytes) +
                       " bytes\n",
                   true);
      } else {
        LocalReply(400, "Bad Request",
                   std::string("malformed HTTP request: ") + parser_.ErrorDescription() + "\n",
                   true);
      }
      break;
    }
    if (consumed == 0 && !parser_.paused()) break;
  }
  processing_ = false;
  // Half-closed by the client and nothing left to answer: close once the output is written.
  if (peer_eof_ && !exchange_.active() && socket_.open()) {
    close_after_write_ = true;
    UpdateReadInterest();
  }
}

void DownstreamConnection::OnHead(const http::MessageHead& head) {
  HttpExchange& x = exchange_;
  x.Begin(head, SteadyMicros());
  worker_.RequestStarted();
  RouterCounters::Bump(worker_.mutable_counters().http_requests_total);
  SetTimer(Timer::kNone);
  bool has_body = head.chunked || (head.has_content_length && head.content_length > 0);

  if (head.upgrade) {
    LocalReply(501, "Not Implemented", "protocol upgrade and CONNECT are not supported\n", true);
    return;
  }
  x.routes = worker_.AcquireRoutes();
  if (head.method_code == http::kMethodPost) {
    if (const ServiceConfig* thrift_service =
            ThriftHttpExchange::MatchPath(worker_.config(), head.target)) {
      StartThriftHttp(head, *thrift_service);
      return;
    }
  }
  std::string_view host = head.Find("host");
  x.service = x.routes->table->Match(host, head.target);
  if (x.service == nullptr) {
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
  choice_input.scratch = &x.override_joined;
  VersionChoice choice = ChooseVersion(*x.service, head, choice_input);
  x.version = choice.group;
  if (x.version == nullptr) {
    choice.message.push_back('\n');
    if (choice.status == 400) {
      LocalReply(400, "Bad Request", choice.message, has_body);
    } else {
      RecordOutcome(true);
      LocalReply(503, "Service Unavailable", choice.message, has_body);
    }
    return;
  }
  x.request_head.clear();
  http::RequestRewrite rewrite;
  rewrite.client_ip = peer_ip_;
  if (listener_.strip_overrides) rewrite.drop_header = worker_.config().override_header;
  http::WriteRequestHead(head, rewrite, &x.request_head);
  x.retained_body.Clear();
  x.body_retained = true;
  const int64_t start_ms = static_cast<int64_t>(x.start_us / 1000);
  worker_.retry_budget().Deposit(start_ms);
  Dispatch(start_ms);
}

void DownstreamConnection::Dispatch(int64_t now_ms) {
  HttpExchange& x = exchange_;
  ++x.attempts;
  const auto& instances = x.version->instances;
  int chosen = PickPowerOfTwo(
      instances.size(),
      [&](size_t i) {
        const auto& inst = instances[i];
        BalancerCandidate c;
        c.in_flight = worker_.PoolFor(inst).in_flight();
        c.ejected = inst->IsEjected(now_ms);
        c.excluded = inst.get() == x.failed_instance;
        return c;
      },
      worker_.rng());
  x.pool = &worker_.PoolFor(instances[static_cast<size_t>(chosen)]);
  int error_number = 0;
  UpstreamConnection* conn = x.pool->Acquire(&error_number);
  x.pool->RequestStarted();
  if (conn == nullptr) {
    x.upstream = nullptr;
    OnUpstreamFailure(UpstreamFailure::kConnectFailed, error_number);
    return;
  }
  x.upstream = conn;
  conn->Attach(this, x.request_is_head);
  conn->output().Append(x.request_head);
  if (!x.retained_body.empty()) {
    conn->output().Append(x.retained_body.data(), x.retained_body.size());
  }
  SetTimer(Timer::kRequest);
  conn->Flush();
}

void DownstreamConnection::OnBody(const char* data, size_t len) {
  HttpExchange& x = exchange_;
  if (!x.active() || x.local()) return;  // discarded: the proxy already answered
  if (x.thrift_http) {
    if (!x.thrift_http->AppendBody(data, len)) {
      worker_.DeferDelete(std::move(x.thrift_http));
      LocalReply(413, "Content Too Large",
                 "Thrift call larger than the largest Thrift frame allowed\n", true);
    }
    return;
  }
  char frame[24];
  size_t frame_len = x.request_chunked ? http::FormatChunkHeader(len, frame) : 0;
  if (x.body_retained) {
    if (x.retained_body.size() + len + frame_len + 2 > kMaxRetainedBody) {
      x.body_retained = false;
      x.retained_body.Clear();
    } else {
      x.retained_body.Append(frame, frame_len);
      x.retained_body.Append(data, len);
      if (x.request_chunked) x.retained_body.Append("\r\n", 2);
    }
  }
  if (!x.upstream) return;  // between attempts; the retained copy (if any) is replayed
  ByteBuffer& out = x.upstream->output();
  out.Append(frame, frame_len);
  out.Append(data, len);
  if (x.request_chunked) out.Append("\r\n", 2);
  if (out.size() >= worker_.config().limits.buffer_high_watermark) {
    x.upstream->Flush();
    if (x.upstream &&
        x.upstream->output().size() >= worker_.config().limits.buffer_high_watermark) {
      read_blocked_by_upstream_ = true;  // the upstream is slow to take the body
      UpdateReadInterest();
    }
  }
}

void DownstreamConnection::OnMessageComplete() {
  HttpExchange& x = exchange_;
  if (!x.active()) return;
  x.request_complete = true;
  if (x.local()) {
    FinishExchange();
    return;
  }
  if (x.thrift_http) {
    SetTimer(Timer::kNone);  // the upstream connection times the call out
    x.thrift_http->Dispatch();
    return;
  }
  if (x.request_chunked) {
    if (x.body_retained) x.retained_body.Append("0\r\n\r\n", 5);
    if (x.upstream) x.upstream->output().Append("0\r\n\r\n", 5);
  }
  if (x.upstream) x.upstream->Flush();
}

// ---- upstream events ----

void DownstreamConnection::OnUpstreamInterim(const http::MessageHead& head) {
  worker_.scratch().clear();
  http::WriteResponseHead(head, http::BodyFraming::kNone, false, true, &worker_.scratch());
  if (exchange_.client_http11) out_.Append(worker_.scratch());
}

void DownstreamConnection::OnUpstreamHead(const http::MessageHead& head) {
  HttpExchange& x = exchange_;
  x.phase = HttpExchange::Phase::kResponding;
  x.response_status = head.status;
  x.framing = http::ChooseResponseFraming(head, x.request_is_head, x.client_http11);
  close_after_response_ = close_after_response_ || !x.client_keep_alive || worker_.draining() ||
                          x.framing == http::BodyFraming::kUntilClose;
  worker_.scratch().clear();
  http::WriteResponseHead(head, x.framing, close_after_response_, x.client_http11,
                          &worker_.scratch());
  out_.Append(worker_.scratch());
  SetTimer(Timer::kRequest);  // from here on it bounds a stall in the response body
}

void DownstreamConnection::OnUpstreamBody(const char* data, size_t len) {
  if (exchange_.framing == http::BodyFraming::kChunked) {
    char frame[24];
    out_.Append(frame, http::FormatChunkHeader(len, frame));
    out_.Append(data, len);
    out_.Append("\r\n", 2);
  } else if (exchange_.framing != http::BodyFraming::kNone) {
    out_.Append(data, len);
  }
  if (out_.size() >= worker_.config().limits.buffer_high_watermark) FlushOutput();
}

void DownstreamConnection::OnUpstreamReadBatchDone() {
  if (timer_ == Timer::kRequest && exchange_.response_started()) {
    socket_.ArmTimer(worker_.request_timeout());  // progress: restart the stall timer
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
  if (exchange_.framing == http::BodyFraming::kChunked) out_.Append("0\r\n\r\n", 5);
  exchange_.pool->instance()->RecordSuccess();
  RecordOutcome(exchange_.response_status >= 500);
  ReleaseUpstream(exchange_.request_complete);
  FinishExchange();
  if (socket_.open()) FlushOutput();
}

void DownstreamConnection::OnUpstreamFailure(UpstreamFailure failure, int error_number) {
  HttpExchange& x = exchange_;
  // The pool already closed the connection.
  x.upstream = nullptr;
  UpstreamPool* pool = x.pool;
  if (pool) pool->RequestFinished();
  x.pool = nullptr;
  // Every kind of failure here (connect, reset, broken HTTP) marks the instance.
  if (pool && pool->instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
    RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
    LOG_WARN << "ejected upstream " << pool->instance()->label() << " of service "
             << x.service->name << " after failures";
  }
  if (!x.active()) return;
  if (x.response_started()) {
    RecordOutcome(true);
    Close();  // the client got part of a response; closing is the only honest signal
    return;
  }
  x.failed_instance = pool ? pool->instance().get() : nullptr;
  if (TryRetry(failure)) {
    RouterCounters::Bump(worker_.mutable_counters().retries_total);
    Dispatch(SteadyMillis());
    return;
  }
  RecordOutcome(true);
  const bool timeout = failure == UpstreamFailure::kConnectTimeout;
  LocalReply(timeout ? 504 : 502, timeout ? "Gateway Timeout" : "Bad Gateway",
             DescribeUpstreamFailure(failure, pool ? pool->instance()->label() : "?",
                                     x.service->name, error_number),
             !x.request_complete);
  if (x.request_complete) FinishExchange();
  if (socket_.open()) FlushOutput();
}

bool DownstreamConnection::TryRetry(UpstreamFailure failure) {
  if (exchange_.attempts >= worker_.config().retries.max_attempts) return false;
  if (!exchange_.body_retained) return false;  // the body already left and cannot be replayed
  bool nothing_sent =
      failure == UpstreamFailure::kConnectFailed || failure == UpstreamFailure::kConnectTimeout;
  if (!nothing_sent && !exchange_.request_idempotent) return false;
  if (!worker_.retry_budget().TryWithdraw(SteadyMillis())) {
    RouterCounters::Bump(worker_.mutable_counters().retries_budget_exhausted_total);
    return false;
  }
  return true;
}

// ---- exchange bookkeeping ----

void DownstreamConnection::ReleaseUpstream(bool reusable) {
  UpstreamConnection* conn = exchange_.upstream;
  exchange_.upstream = nullptr;
  if (UpstreamPool* pool = exchange_.pool) {
    pool->RequestFinished();
    if (conn) {
      if (reusable) {
        pool->Release(conn);
      } else {
        pool->Close(conn);
      }
    }
  }
  exchange_.pool = nullptr;
}

void DownstreamConnection::RecordOutcome(bool error) {
  if (exchange_.service == nullptr) return;
  uint32_t key =
      exchange_.version ? exchange_.version->stats_key : exchange_.service->unrouted_stats_key;
  const uint64_t now_us = SteadyMicros();
  worker_.recorder().Record(key, error, now_us - exchange_.start_us,
                            static_cast<int64_t>(now_us / 1000));
}

void DownstreamConnection::LocalReply(int status, const char* reason, std::string_view body,
                                      bool close) {
  worker_.mutable_counters().CountLocalResponse(status);
  // Inside an exchange the request is now answered (kLocal); outside one (408, a parse error
  // between requests) the answer always closes the connection.
  if (exchange_.active()) exchange_.phase = HttpExchange::Phase::kLocal;
  bool must_close = close || !exchange_.client_keep_alive || worker_.draining();
  worker_.scratch().clear();
  // An answer to HEAD has no body: the client would read those bytes as the next response.
  http::WriteLocalResponse(status, reason, exchange_.request_is_head ? std::string_view() : body,
                           must_close, &worker_.scratch());
  out_.Append(worker_.scratch());
  if (must_close) {
    close_after_response_ = true;
    close_after_write_ = true;
    UpdateReadInterest();
  }
}

void DownstreamConnection::ResetExchange() {
  HttpExchange& x = exchange_;
  if (!x.active()) return;
  if (x.thrift_http) {
    x.thrift_http->Abandon();
    worker_.DeferDelete(std::move(x.thrift_http));  // may be on the stack
  }
  x.phase = HttpExchange::Phase::kIdle;
  x.request_is_head = false;  // a parse error before the next OnHead must not inherit it
  x.service = nullptr;
  x.version = nullptr;
  if (x.routes) {
    worker_.ReleaseRoutes(x.routes);
    x.routes = nullptr;
  }
  worker_.RequestFinished();
}

void DownstreamConnection::FinishExchange() {
  bool close = close_after_response_ || !exchange_.request_complete;
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

void DownstreamConnection::StartThriftHttp(const http::MessageHead& head,
                                           const ServiceConfig& service) {
  HttpExchange& x = exchange_;
  x.service = x.routes->table->FindService(service.name);
  if (x.service == nullptr) {
    LocalReply(404, "Not Found", "no service '" + service.name + "'\n", true);
    return;
  }
  x.thrift_http = ThriftHttpExchange::Start(worker_, *this, head, service, *x.service, peer_ip_,
                                            !listener_.strip_overrides);
  SetTimer(Timer::kHeader);  // until the body is in
}

void DownstreamConnection::OnThriftHttpResponse(int status, std::string_view body) {
  HttpExchange& x = exchange_;
  if (!x.active() || x.local() || !socket_.open()) return;
  if (status != 200) {
    LocalReply(status, status == 400 ? "Bad Request" : "Bad Gateway", body, false);
  } else {
    x.phase = HttpExchange::Phase::kResponding;
    bool close = !x.client_keep_alive || worker_.draining();
    close_after_response_ = close_after_response_ || close;
    ThriftHttpExchange::AppendHttpReply(body, close, out_);
  }
  FinishExchange();
  if (socket_.open()) FlushOutput();
}

}  // namespace canarymesh::router
