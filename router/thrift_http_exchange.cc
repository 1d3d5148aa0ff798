#include "router/thrift_http_exchange.h"

#include <cstring>

#include "core/clock.h"
#include "router/p2c_balancer.h"
#include "router/thrift_connections.h"
#include "router/thrift_upstream_connection.h"
#include "router/thrift_version_choice.h"
#include "thrift/message_reader.h"
#include "thrift/reply_encoder.h"

namespace canarymesh::router {

const ServiceConfig* ThriftHttpExchange::MatchPath(const ProxyConfig& config, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  for (const ServiceConfig& s : config.services) {
    if (s.thrift && !s.thrift->http_path.empty() && s.thrift->http_path == path) return &s;
  }
  return nullptr;
}

ThriftHttpExchange::ThriftHttpExchange(Worker& worker, ThriftHttpResponder& responder, const ServiceConfig& service,
                                       std::string_view override_value, std::string_view sticky_value,
                                       std::string_view client_ip, bool honor_overrides)
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
                      : fed.progress == thrift::Progress::kNeedMore ? "truncated Thrift message"
                                                                     : "bytes after the Thrift message";
    responder_.OnThriftHttpResponse(400, "body is not one Thrift call: " + why + "\n");
    return;
  }
  thrift::MessageInfo& info = reader.mutable_message();
  if (info.type != thrift::MessageType::kCall && info.type != thrift::MessageType::kOneway) {
    responder_.OnThriftHttpResponse(400, "body is a Thrift " + std::string(thrift::MessageTypeName(info.type)) +
                                             ", not a call\n");
    return;
  }
  method_ = info.name;
  client_seqid_ = info.seqid;
  client_ = thrift::SourceFrameOf(info);
  RouterCounters::Bump(worker_.thrift().counters().calls_total);

  Worker::RoutesLease* routes = worker_.AcquireRoutes();
  const ServiceRoute* service = routes->table->FindService(service_.name);
  if (service == nullptr) {
    worker_.ReleaseRoutes(routes);
    AnswerException("no service '" + service_.name + "'");
    return;
  }
  ThriftChoiceInput input;
  if (honor_overrides_) {
    input.override_header = worker_.config().override_header;
    input.http_override = override_value_;
  }
  input.http_sticky = sticky_value_;
  input.client_ip = client_ip_;
  input.random_bits = worker_.rng().Next();
  input.thrift = service_.thrift ? &*service_.thrift : nullptr;
  ThriftVersionChoice choice = ChooseThriftVersion(*service, info, input);
  auto fail = [&](const std::string& why, uint32_t stats_key) {
    worker_.recorder().Record(stats_key, true, SteadyMicros() - start_us_, SteadyMillis());
    worker_.ReleaseRoutes(routes);
    AnswerException(why);
  };
  if (choice.group == nullptr) {
    fail(choice.message, service->unrouted_thrift_stats_key);
    return;
  }
  const VersionGroup& version = *choice.group;
  auto spec = worker_.thrift().UpstreamSpec(service_, client_);
  if (!spec.ok()) {
    fail(spec.status().message(), version.thrift_stats_key);
    return;
  }
  const int64_t now_ms = SteadyMillis();
  int chosen = PickPowerOfTwo(
      version.instances.size(),
      [&](size_t i) {
        BalancerCandidate c;
        c.in_flight = worker_.thrift().InFlight(version.instances[i], *spec);
        c.ejected = version.instances[i]->IsEjected(now_ms);
        return c;
      },
      worker_.rng());
  const auto& instance = version.instances[static_cast<size_t>(chosen)];
  ThriftUpstreamPool& pool = worker_.thrift().PoolFor(instance, *spec);
  int error_number = 0;
  ThriftUpstreamConnection* upstream = pool.Pick(&error_number);
  if (upstream == nullptr) {
    instance->RecordFailure(now_ms, worker_.config().outlier);
    fail("upstream connect error: " + instance->label() + ": " + std::strerror(error_number),
         version.thrift_stats_key);
    return;
  }
  ThriftCallContext context;
  context.stats_key = version.thrift_stats_key;
  context.start_us = start_us_;
  if ((spec->format.transport == thrift::Transport::kHeader || spec->ttwitter) && !choice.carry.empty()) {
    context.carry_key = worker_.config().override_header;
    context.carry_value = choice.carry;
  }
  worker_.ReleaseRoutes(routes);
  const bool oneway = info.type == thrift::MessageType::kOneway;
  int32_t seqid = 0;
  Status s = upstream->Send(body_, info, context, oneway ? nullptr : this, 1, &seqid);
  pool.Update(upstream);
  if (!s.ok()) {
    worker_.recorder().Record(version.thrift_stats_key, true, SteadyMicros() - start_us_, SteadyMillis());
    AnswerException("cannot forward the call: " + s.message());
    return;
  }
  if (oneway) {
    RouterCounters::Bump(worker_.thrift().counters().oneway_total);
    answered_ = true;
    responder_.OnThriftHttpResponse(200, "");
    return;
  }
  upstream_ = upstream;
  upstream_seqid_ = seqid;
}

void ThriftHttpExchange::OnThriftReply(uint64_t, std::string_view message, thrift::MessageInfo& info) {
  upstream_ = nullptr;
  if (answered_) return;
  thrift::ReframeRequest request;
  request.target = client_;
  request.seqid = client_seqid_;
  std::string reply;
  Status s = thrift::Reframe(message, info, request, &reply);
  if (!s.ok()) {
    AnswerException("cannot pass the reply on: " + s.message());
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
  auto reply = thrift::EncodeApplicationExceptionReply(thrift::ReplyEncoding{client_.format, false, 0, {}}, method_,
                                                       client_seqid_, why);
  responder_.OnThriftHttpResponse(reply.ok() ? 200 : 502, reply.ok() ? *reply : why.message + "\n");
}

void ThriftHttpExchange::AnswerException(const std::string& why) {
  OnThriftCallFailed(1, {thrift::AppExceptionType::kInternalError, "canarymesh: " + why});
}

}  // namespace canarymesh::router
