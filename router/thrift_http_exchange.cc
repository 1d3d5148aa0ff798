#include "router/thrift_http_exchange.h"

#include <cstdio>

#include "core/clock.h"
#include "router/thrift_call_path.h"
#include "router/thrift_connections.h"
#include "router/thrift_upstream_connection.h"
#include "thrift/message_reader.h"
#include "thrift/reply_encoder.h"

namespace canarymesh::router {

const ServiceConfig* ThriftHttpExchange::MatchPath(const ProxyConfig& config,
                                                   std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  for (const ServiceConfig& s : config.services) {
    if (s.thrift && !s.thrift->http_path.empty() && s.thrift->http_path == path) return &s;
  }
  return nullptr;
}

std::unique_ptr<ThriftHttpExchange> ThriftHttpExchange::Start(
    Worker& worker, ThriftHttpResponder& responder, const http::MessageHead& head,
    const ServiceConfig& config, const ServiceRoute& route, std::string_view client_ip,
    bool honor_overrides) {
  const std::string& sticky = route.selector.sticky().header;
  return std::make_unique<ThriftHttpExchange>(
      worker, responder, config, head.Find(worker.config().override_header),
      sticky.empty() ? std::string_view() : head.Find(sticky), client_ip, honor_overrides);
}

void ThriftHttpExchange::AppendHttpReply(std::string_view body, bool close, ByteBuffer& out) {
  char head[256];
  int n = std::snprintf(head, sizeof(head),
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-thrift\r\n"
                        "Content-Length: %zu\r\n%s\r\n",
                        body.size(), close ? "Connection: close\r\n" : "");
  out.Append(head, static_cast<size_t>(n));
  out.Append(body);
}

ThriftHttpExchange::ThriftHttpExchange(Worker& worker, ThriftHttpResponder& responder,
                                       const ServiceConfig& service,
                                       std::string_view override_value,
                                       std::string_view sticky_value, std::string_view client_ip,
                                       bool honor_overrides)
    : worker_(worker),
      responder_(responder),
      service_(service),
      override_value_(override_value),
      sticky_value_(sticky_value),
      client_ip_(client_ip),
      honor_overrides_(honor_overrides),
      start_us_(SteadyMicros()) {}

ThriftHttpExchange::~ThriftHttpExchange() {
  if (upstream_) upstream_->Orphan(upstream_seqid_, 1);
}

void ThriftHttpExchange::Abandon() {
  if (upstream_) upstream_->Orphan(upstream_seqid_, 1);
  upstream_ = nullptr;
  answered_ = true;
}

bool ThriftHttpExchange::AppendBody(const char* data, size_t len) {
  if (body_.size() + len > worker_.thrift().max_frame_bytes()) return false;
  body_.append(data, len);
  return true;
}

void ThriftHttpExchange::Dispatch() {
  thrift::ReaderOptions options;
  options.max_frame_size = worker_.thrift().max_frame_bytes();
  thrift::MessageReader reader(options);
  auto fed = reader.Feed(body_);
  if (fed.progress != thrift::Progress::kDone || fed.consumed != body_.size()) {
    std::string why = fed.progress == thrift::Progress::kError ? reader.status().message()
                      : fed.progress == thrift::Progress::kNeedMore
                          ? "truncated Thrift message"
                          : "bytes after the Thrift message";
    responder_.OnThriftHttpResponse(400, "body is not one Thrift call: " + why + "\n");
    return;
  }
  thrift::MessageInfo& info = reader.mutable_message();
  if (info.type != thrift::MessageType::kCall && info.type != thrift::MessageType::kOneway) {
    responder_.OnThriftHttpResponse(
        400,
        "body is a Thrift " + std::string(thrift::MessageTypeName(info.type)) + ", not a call\n");
    return;
  }
  method_ = info.name;
  client_seqid_ = info.seqid;
  client_ = thrift::SourceFrameOf(info);
  RouterCounters::Bump(worker_.thrift().counters().calls_total);

  ThriftCallInput input;
  input.service_config = &service_;
  input.service = service_.name;
  if (honor_overrides_) {
    input.choice.override_header = worker_.config().override_header;
    input.choice.http_override = override_value_;
  }
  input.choice.http_sticky = sticky_value_;
  input.choice.client_ip = client_ip_;
  input.choice.random_bits = worker_.rng().Next();
  input.choice.thrift = service_.thrift ? &*service_.thrift : nullptr;
  input.strip_overrides = !honor_overrides_;
  input.start_us = start_us_;
  ThriftCallPath path(worker_);
  ThriftRoute route;
  if (!path.Route(info, input, &route)) {
    FailCall(route.error);
    return;
  }
  const bool oneway = info.type == thrift::MessageType::kOneway;
  int32_t seqid = 0;
  Status s = path.Send(route, body_, info, oneway ? nullptr : this, 1, &seqid);
  if (!s.ok()) {
    FailCall("canarymesh: cannot forward the call: " + s.message());
    return;
  }
  if (oneway) {
    RouterCounters::Bump(worker_.thrift().counters().oneway_total);
    answered_ = true;
    responder_.OnThriftHttpResponse(200, "");
    return;
  }
  upstream_ = route.upstream;
  upstream_seqid_ = seqid;
}

void ThriftHttpExchange::OnThriftReply(uint64_t, std::string_view message,
                                       thrift::MessageInfo& info) {
  upstream_ = nullptr;
  if (answered_) return;
  thrift::ReframeRequest request;
  request.target = client_;
  request.seqid = client_seqid_;
  std::string reply;
  Status s = thrift::Reframe(message, info, request, &reply);
  if (!s.ok()) {
    FailCall("canarymesh: cannot pass the reply on: " + s.message());
    return;
  }
  answered_ = true;
  responder_.OnThriftHttpResponse(200, reply);
}

void ThriftHttpExchange::OnThriftCallFailed(uint64_t, const thrift::ApplicationException& why) {
  upstream_ = nullptr;
  if (answered_) return;
  answered_ = true;
  RouterCounters::Bump(worker_.thrift().counters().local_exceptions_total);
  auto reply = thrift::EncodeApplicationExceptionReply(
      thrift::ReplyEncoding{client_.format, false, 0, {}}, method_, client_seqid_, why);
  responder_.OnThriftHttpResponse(reply.ok() ? 200 : 502, reply.ok() ? *reply : why.message + "\n");
}

void ThriftHttpExchange::FailCall(const std::string& why) {
  OnThriftCallFailed(1, {thrift::AppExceptionType::kInternalError, why});
}

}  // namespace canarymesh::router
