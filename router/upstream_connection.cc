#include "router/upstream_connection.h"

#include <errno.h>

#include <cstring>

#include "router/socket_ops.h"
#include "router/upstream_pool.h"

namespace canarymesh::router {

std::string DescribeUpstreamFailure(UpstreamFailure failure, const std::string& instance,
                                    const std::string& service, int error_number) {
  if (failure == UpstreamFailure::kConnectTimeout) {
    return "upstream connect timeout: " + instance + " of service '" + service + "'\n";
  }
  const char* what = failure == UpstreamFailure::kConnectFailed ? "upstream connect error"
                     : failure == UpstreamFailure::kMalformedResponse
                         ? "malformed upstream response"
                         : "upstream reset before response";
  const char* reason = error_number ? std::strerror(error_number) : "connection closed";
  return std::string(what) + ": " + instance + " of service '" + service + "': " + reason + "\n";
}
UpstreamConnection::UpstreamConnection(Worker& worker, UpstreamPool& pool)
    : worker_(worker),
      pool_(pool),
      socket_(worker.base(), *this),
      parser_(http::MessageParser::Kind::kResponse, this,
              worker.config().limits.max_response_header_bytes) {}

UpstreamConnection::~UpstreamConnection() { CloseSocket(); }

int UpstreamConnection::Connect() {
  RouterCounters::Bump(worker_.mutable_counters().upstream_connections_total);
  int error_number = socket_.Connect(pool_.instance()->address());
  if (error_number != 0) return error_number;
  socket_.ArmTimer(worker_.connect_timeout());
  return 0;
}

void UpstreamConnection::CloseSocket() {
  socket_.Close();
  handler_ = nullptr;
}

void UpstreamConnection::Attach(UpstreamHandler* handler, bool expect_no_body) {
  handler_ = handler;
  response_bytes_ = 0;
  parser_.ExpectNoBody(expect_no_body);
  if (connected_) socket_.CancelTimer();  // the idle timer; the request's timer is downstream's
  read_paused_ = false;
  UpdateReadInterest();
}

void UpstreamConnection::Detach() {
  handler_ = nullptr;
  ++exchanges_;
  parser_.Reset();
  read_paused_ = false;
  UpdateReadInterest();
  socket_.ArmTimer(worker_.upstream_idle_timeout());
}

void UpstreamConnection::PauseReading(bool paused) {
  read_paused_ = paused;
  UpdateReadInterest();
}

void UpstreamConnection::UpdateReadInterest() { socket_.WantRead(connected_ && !read_paused_); }

void UpstreamConnection::Flush() {
  if (!socket_.open() || !connected_) return;
  if (socket_.Flush(out_) == Connection::FlushResult::kError) {
    Fail(UpstreamFailure::kReset, errno);
    return;
  }
  // Tell the handler on every flush that ends below the low watermark, not only when this one
  // write crossed it: a backlog drained over several writes would otherwise leave the client's
  // request body blocked for good. OnUpstreamDrained is a no-op unless reading was blocked.
  if (handler_ && out_.size() < worker_.config().limits.buffer_high_watermark / 2) {
    handler_->OnUpstreamDrained();
  }
}

void UpstreamConnection::Fail(UpstreamFailure failure, int error_number) {
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  pool_.Close(this);
  if (handler) handler->OnUpstreamFailure(failure, error_number);
}

void UpstreamConnection::OnTimer() {
  if (!connected_) {
    RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
    Fail(UpstreamFailure::kConnectTimeout, ETIMEDOUT);
  } else if (handler_ == nullptr) {
    pool_.Close(this);  // idle too long
  }
}

void UpstreamConnection::OnWritable() {
  if (!connected_) {
    int err = socket_.ConnectError();
    if (err != 0) {
      RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
      Fail(UpstreamFailure::kConnectFailed, err);
      return;
    }
    connected_ = true;
    socket_.CancelTimer();
    UpdateReadInterest();
  }
  Flush();
}

void UpstreamConnection::OnReadable() {
  ssize_t n = socket_.Read(in_);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (handler_) {
      Fail(UpstreamFailure::kReset, errno);
    } else {
      pool_.Close(this);
    }
    return;
  }
  if (n == 0) {
    // The server closed. A read-until-close body ends here; anything else was cut short.
    if (handler_ && parser_.InMessage() && parser_.ExecuteEof() && handler_) {
      UpstreamHandler* handler = handler_;
      pool_.Close(this);  // never reuse a closed connection; the handler sees completion
      handler->OnUpstreamComplete();
      return;
    }
    if (handler_) {
      Fail(UpstreamFailure::kReset, ECONNRESET);
    } else {
      pool_.Close(this);
    }
    return;
  }
  if (!handler_) {
    pool_.Close(this);  // bytes on an idle connection: nothing asked for them
    return;
  }
  response_bytes_ += static_cast<uint64_t>(n);
  while (!in_.empty() && socket_.open() && handler_) {
    size_t consumed = parser_.Execute(in_.data(), in_.size());
    in_.Consume(consumed);
    if (!socket_.open()) return;  // the handler closed this connection during a callback
    if (parser_.error() != http::ParseError::kNone) {
      Fail(UpstreamFailure::kMalformedResponse, 0);
      return;
    }
    if (!parser_.paused()) {
      if (consumed == 0) break;
      continue;
    }
    if (interim_) {  // a 1xx ended; the real response follows on the same connection
      interim_ = false;
      parser_.Resume();
      continue;
    }
    // A complete response. Bytes after it would be a protocol error; the pool checks.
    UpstreamHandler* handler = handler_;
    handler->OnUpstreamComplete();  // releases (Detach) or closes this connection
    return;
  }
  if (handler_) handler_->OnUpstreamReadBatchDone();
}

void UpstreamConnection::OnHead(const http::MessageHead& head) {
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    interim_ = true;
    if (handler_) handler_->OnUpstreamInterim(head);
    return;
  }
  peer_keeps_alive_ = head.keep_alive;
  if (handler_) handler_->OnUpstreamHead(head);
}

void UpstreamConnection::OnBody(const char* data, size_t len) {
  if (handler_) handler_->OnUpstreamBody(data, len);
}

void UpstreamConnection::OnMessageComplete() {
  // Nothing here: HandleRead reports completion after the parser returns, because the handler
  // may reset this parser and http-parser must not be reset inside its own callback.
}

}  // namespace canarymesh::router
