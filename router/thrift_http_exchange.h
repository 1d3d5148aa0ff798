// One Thrift call that came as an HTTP POST (Apache Thrift's THttpClient, e.g. from PHP, which has
// no THeader): the body is one unframed Thrift message; the override and sticky key come from the
// HTTP headers. The call goes to the service's Thrift instances in the service's wire format
// (thrift.transport; "same" = buffered, the body's own protocol), and the reply comes back as the
// HTTP response body (Content-Type application/x-thrift). Routing and upstream failures are
// answered as a TApplicationException in a 200 body, as a Thrift server would; a body that is not
// exactly one Thrift call is a 400. Owned by the HTTP DownstreamConnection; worker-thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "http/message_parser.h"
#include "router/byte_buffer.h"
#include "router/route_table.h"
#include "router/thrift_caller.h"
#include "router/worker.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftUpstreamConnection;

// Where the HTTP answer goes (the DownstreamConnection).
class ThriftHttpResponder {
 public:
  virtual ~ThriftHttpResponder() = default;
  // status 200: `body` is the Thrift reply; otherwise a plain-text reason.
  virtual void OnThriftHttpResponse(int status, std::string_view body) = 0;
};

class ThriftHttpExchange : public ThriftCaller, public DeferredDeletable {
 public:
  // The service whose thrift.http_path matches the request target's path, or null.
  static const ServiceConfig* MatchPath(const ProxyConfig& config, std::string_view target);

  // The exchange for a POST (`head`) to `config`'s thrift.http_path, routed in `route`: the
  // override and sticky key are read from the HTTP headers.
  static std::unique_ptr<ThriftHttpExchange> Start(Worker& worker, ThriftHttpResponder& responder,
                                                   const http::MessageHead& head,
                                                   const ServiceConfig& config,
                                                   const ServiceRoute& route,
                                                   std::string_view client_ip,
                                                   bool honor_overrides);
  // Appends the HTTP response that carries a Thrift reply (`body`) to `out`.
  static void AppendHttpReply(std::string_view body, bool close, ByteBuffer& out);

  ThriftHttpExchange(Worker& worker, ThriftHttpResponder& responder, const ServiceConfig& service,
                     std::string_view override_value, std::string_view sticky_value,
                     std::string_view client_ip, bool honor_overrides);
  ~ThriftHttpExchange() override;
  ThriftHttpExchange(const ThriftHttpExchange&) = delete;
  ThriftHttpExchange& operator=(const ThriftHttpExchange&) = delete;

  // False when the body grows past the largest Thrift frame allowed.
  bool AppendBody(const char* data, size_t len);
  // The whole body is in: route and send the call.
  void Dispatch();
  // The HTTP exchange ended first (client gone): a reply still owed is dropped.
  void Abandon();

  // ThriftCaller
  void OnThriftReply(uint64_t call_id, std::string_view message,
                     thrift::MessageInfo& info) override;
  void OnThriftCallFailed(uint64_t call_id, const thrift::ApplicationException& why) override;

 private:
  // Answers with a TApplicationException saying `why`.
  void FailCall(const std::string& why);

  Worker& worker_;
  ThriftHttpResponder& responder_;
  const ServiceConfig& service_;
  std::string override_value_;
  std::string sticky_value_;
  std::string client_ip_;
  bool honor_overrides_;
  std::string body_;
  uint64_t start_us_ = 0;
  // The call in flight.
  ThriftUpstreamConnection* upstream_ = nullptr;
  int32_t upstream_seqid_ = 0;
  std::string method_;
  int32_t client_seqid_ = 0;
  thrift::FrameSpec client_;
  bool answered_ = false;
};

}  // namespace canarymesh::router
