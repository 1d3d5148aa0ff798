// One client connection on a worker and the HTTP/1.1 exchange in progress on it: parses
// requests (one at a time; pipelined ones wait in the input buffer), routes each to a service,
// version and instance, streams the request to an upstream connection and the response back,
// retries where safe, and answers failures itself (400, 404, 431, 501, 502, 503, 504).
// Worker-thread only.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>  // events are embedded: no allocation per connection
#include <sys/socket.h>

#include <list>
#include <memory>
#include <string>

#include "http/head_writer.h"
#include "http/message_parser.h"
#include "router/byte_buffer.h"
#include "router/socket_ops.h"
#include "router/route_table.h"
#include "router/thrift_http_exchange.h"
#include "router/upstream_connection.h"
#include "router/worker.h"

namespace canarymesh::router {

class DownstreamConnection : public http::MessageCallbacks,
                             public UpstreamHandler,
                             public ThriftHttpResponder,
                             public DeferredDeletable {
 public:
  DownstreamConnection(Worker& worker, const ListenerConfig& listener, int fd, const sockaddr* peer);
  ~DownstreamConnection() override;
  DownstreamConnection(const DownstreamConnection&) = delete;
  DownstreamConnection& operator=(const DownstreamConnection&) = delete;

  void Start();
  // Worker is draining: close now if idle, otherwise after the current response.
  void Drain();
  void Close();
  bool closed() const { return fd_ < 0; }
  std::list<std::unique_ptr<DownstreamConnection>>::iterator self;  // position in the worker

 private:
  enum class Timer { kNone, kIdle, kHeader, kRequest };

  static void OnReadEvent(evutil_socket_t fd, short what, void* arg);
  static void OnWriteEvent(evutil_socket_t fd, short what, void* arg);
  static void OnTimerEvent(evutil_socket_t fd, short what, void* arg);
  void HandleRead();
  void HandleWrite();
  void HandleTimeout();
  void ProcessInput();
  void FlushOutput();
  void SetTimer(Timer timer);
  void UpdateReadInterest();

  // Request handling.
  void Dispatch(int64_t now_ms);
  bool TryRetry(UpstreamFailure failure);
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
  int fd_;
  char peer_ip_[64];
  event read_ev_{};
  event write_ev_{};
  event timer_ev_{};
  bool read_armed_ = false;
  bool write_armed_ = false;
  Timer timer_ = Timer::kNone;
  bool processing_ = false;     // ProcessInput is on the stack
  bool peer_eof_ = false;
  bool close_after_write_ = false;
  bool read_blocked_by_upstream_ = false;

  http::MessageParser parser_;
  ByteBuffer in_;
  AdaptiveReadChunk read_chunk_;
  ByteBuffer out_;

  // The exchange in progress (one at a time).
  bool active_ = false;
  bool local_ = false;          // answered by the proxy; the request body is discarded
  bool request_complete_ = false;
  bool request_chunked_ = false;
  bool request_is_head_ = false;
  bool request_idempotent_ = false;
  bool client_http11_ = true;
  bool client_keep_alive_ = true;
  bool response_started_ = false;
  bool close_after_response_ = false;
  http::BodyFraming framing_ = http::BodyFraming::kNone;
  int response_status_ = 0;
  uint32_t attempts_ = 0;
  uint64_t start_us_ = 0;
  const ServiceRoute* service_ = nullptr;
  const VersionGroup* version_ = nullptr;
  Worker::RoutesLease* routes_ = nullptr;  // keeps service_/version_ alive
  UpstreamPool* pool_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  const UpstreamInstance* failed_instance_ = nullptr;
  std::string request_head_;    // serialized for the upstream; kept for retries
  std::string override_joined_; // several override header lines joined into one list
  ByteBuffer retained_body_;    // body bytes sent so far, kept while small enough to replay
  bool body_retained_ = true;
  std::unique_ptr<ThriftHttpExchange> thrift_http_;  // the exchange is a Thrift call
};

}  // namespace canarymesh::router
