// One client connection on a worker and the HTTP/1.1 exchange in progress on it: parses
// requests (one at a time; pipelined ones wait in the input buffer), routes each to a service,
// version and instance, streams the request to an upstream connection and the response back,
// retries where safe, and answers failures itself (400, 404, 408, 413, 431, 501, 502, 503, 504).
// The socket is a Connection; the request's state is an HttpExchange. Worker-thread only.
#pragma once

#include <sys/socket.h>

#include <list>
#include <memory>
#include <string>

#include "http/head_writer.h"
#include "http/message_parser.h"
#include "router/byte_buffer.h"
#include "router/connection.h"
#include "router/http_exchange.h"
#include "router/route_table.h"
#include "router/thrift_http_exchange.h"
#include "router/upstream_connection.h"
#include "router/worker.h"

namespace canarymesh::router {

class DownstreamConnection : public http::MessageCallbacks,
                             public ConnectionCallbacks,
                             public UpstreamHandler,
                             public ThriftHttpResponder,
                             public DeferredDeletable {
 public:
  DownstreamConnection(Worker& worker, const ListenerConfig& listener, int fd,
                       const sockaddr* peer);
  ~DownstreamConnection() override;
  DownstreamConnection(const DownstreamConnection&) = delete;
  DownstreamConnection& operator=(const DownstreamConnection&) = delete;

  void Start();
  // Worker is draining: close now if idle, otherwise after the current response.
  void Drain();
  void Close();
  bool closed() const { return !socket_.open(); }
  std::list<std::unique_ptr<DownstreamConnection>>::iterator self;  // position in the worker

 private:
  enum class Timer { kNone, kIdle, kHeader, kRequest };

  // ConnectionCallbacks
  void OnReadable() override;
  void OnWritable() override;
  void OnTimer() override;

  void ProcessInput();
  void FlushOutput();
  void SetTimer(Timer timer);
  void UpdateReadInterest();

  // Request handling.
  void Dispatch(int64_t now_ms);
  bool TryRetry(UpstreamFailure failure);
  // Answers with `status` (counted in canarymesh_local_responses_total by its code).
  void LocalReply(int status, const char* reason, std::string_view body, bool close);
  void FinishExchange();
  void ResetExchange();
  void ReleaseUpstream(bool reusable);
  void RecordOutcome(bool error);

  // http::MessageCallbacks (requests from the client)
  void OnHead(const http::MessageHead& head) override;
  void OnBody(const char* data, size_t len) override;
  void OnMessageComplete() override;

  // UpstreamHandler
  void OnUpstreamInterim(const http::MessageHead& head) override;
  void OnUpstreamHead(const http::MessageHead& head) override;
  void OnUpstreamBody(const char* data, size_t len) override;
  void OnUpstreamComplete() override;
  void OnUpstreamFailure(UpstreamFailure failure, int error_number) override;
  void OnUpstreamReadBatchDone() override;
  void OnUpstreamDrained() override;

  // Thrift over HTTP (a POST to a service's thrift.http_path): ThriftHttpResponder.
  void StartThriftHttp(const http::MessageHead& head, const ServiceConfig& service);
  void OnThriftHttpResponse(int status, std::string_view body) override;

  Worker& worker_;
  const ListenerConfig& listener_;
  Connection socket_;
  char peer_ip_[64];
  Timer timer_ = Timer::kNone;
  bool processing_ = false;  // ProcessInput is on the stack
  bool peer_eof_ = false;
  bool close_after_write_ = false;
  bool close_after_response_ = false;  // set by a draining worker or a closing answer
  bool read_blocked_by_upstream_ = false;

  http::MessageParser parser_;
  ByteBuffer in_;
  ByteBuffer out_;
  HttpExchange exchange_;
};

}  // namespace canarymesh::router
