// The HTTP request/response in progress on one client connection (one at a time; pipelined
// requests wait in the connection's input): its phase, what the request asked for, where it was
// routed and the upstream connection serving it. One object per client connection, reused from
// request to request (Begin() resets it and keeps its buffers' capacity), so a request allocates
// nothing in steady state. Worker-thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/head_writer.h"
#include "http/message_parser.h"
#include "router/byte_buffer.h"
#include "router/route_table.h"
#include "router/thrift_http_exchange.h"
#include "router/worker.h"

namespace canarymesh::router {

class UpstreamConnection;
class UpstreamPool;

struct HttpExchange {
  // kIdle -> kForwarding (OnHead) -> kResponding (upstream head) -> kIdle (FinishExchange);
  // kForwarding -> kLocal (the proxy answers: no route, failure, timeout) -> kIdle.
  // A local answer outside any exchange (408, a parse error) closes the connection and leaves
  // the phase kIdle.
  enum class Phase : uint8_t {
    kIdle,        // no request in progress
    kForwarding,  // head read: being routed, sent upstream, waiting for the response head
    kResponding,  // the response head went to the client; its body follows
    kLocal,       // the proxy answered itself; the rest of the request body is discarded
  };

  bool active() const { return phase != Phase::kIdle; }
  bool local() const { return phase == Phase::kLocal; }
  bool response_started() const { return phase == Phase::kResponding || phase == Phase::kLocal; }

  // A new request: everything per request back to its initial value.
  void Begin(const http::MessageHead& head, uint64_t now_us);

  Phase phase = Phase::kIdle;

  // The request.
  bool request_complete = false;  // its last byte was read
  bool request_chunked = false;
  bool request_is_head = false;
  bool request_idempotent = false;
  bool client_http11 = true;
  bool client_keep_alive = true;
  uint64_t start_us = 0;

  // The response.
  http::BodyFraming framing = http::BodyFraming::kNone;
  int response_status = 0;

  // Routing and attempts.
  uint32_t attempts = 0;
  const ServiceRoute* service = nullptr;
  const VersionGroup* version = nullptr;
  Worker::RoutesLease* routes = nullptr;  // keeps service/version alive
  UpstreamPool* pool = nullptr;
  UpstreamConnection* upstream = nullptr;
  const UpstreamInstance* failed_instance = nullptr;
  std::string request_head;     // serialized for the upstream; kept for retries
  std::string override_joined;  // several override header lines joined into one list
  ByteBuffer retained_body;     // body bytes sent so far, kept while small enough to replay
  bool body_retained = true;
  std::unique_ptr<ThriftHttpExchange> thrift_http;  // the exchange is a Thrift call
};

}  // namespace canarymesh::router
