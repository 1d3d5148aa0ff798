// One HTTP/1.1 connection from a worker to an upstream instance: non-blocking connect with a
// timeout, a response parser, and an output buffer the attached request writes into. While
// attached it reports to an UpstreamHandler (the downstream request using it); while idle in
// its pool it only watches for the server closing it. Worker-thread only.
#pragma once

#include <list>
#include <memory>
#include <string>

#include "http/message_parser.h"
#include "router/byte_buffer.h"
#include "router/connection.h"
#include "router/socket_ops.h"
#include "router/worker.h"

namespace canarymesh::router {

class UpstreamPool;

enum class UpstreamFailure {
  kConnectFailed,      // refused/unreachable: nothing was sent
  kConnectTimeout,     // nothing was sent
  kReset,              // reset or closed before a complete response
  kMalformedResponse,  // the upstream broke HTTP
};

// The one-line reason a client gets for `failure` of `instance` (errno `error_number`, or 0).
std::string DescribeUpstreamFailure(UpstreamFailure failure, const std::string& instance,
                                    const std::string& service, int error_number);

class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  virtual void OnUpstreamInterim(const http::MessageHead& head) = 0;  // 1xx (not 101)
  virtual void OnUpstreamHead(const http::MessageHead& head) = 0;
  virtual void OnUpstreamBody(const char* data, size_t len) = 0;
  virtual void OnUpstreamComplete() = 0;
  // The connection is gone (already closed by the pool); drop any pointer to it.
  virtual void OnUpstreamFailure(UpstreamFailure failure, int error_number) = 0;
  // End of one read batch: a good moment to flush what was produced.
  virtual void OnUpstreamReadBatchDone() = 0;
  // Output fell below the low watermark: the request body may flow again.
  virtual void OnUpstreamDrained() = 0;
};

class UpstreamConnection : public http::MessageCallbacks,
                           public ConnectionCallbacks,
                           public DeferredDeletable {
 public:
  UpstreamConnection(Worker& worker, UpstreamPool& pool);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Starts connecting; returns 0 or an errno for an immediate failure.
  int Connect();
  void Attach(UpstreamHandler* handler, bool expect_no_body);
  // Back to idle after a complete exchange.
  void Detach();
  ByteBuffer& output() { return out_; }
  void Flush();
  void PauseReading(bool paused);
  // Closes the socket and events; the pool owns the memory.
  void CloseSocket();

  bool connected() const { return connected_; }
  bool reused() const { return exchanges_ > 0; }
  bool closed() const { return !socket_.open(); }
  // No stray bytes after the last response, and the upstream did not announce a close
  // ("Connection: close", HTTP/1.0): safe to reuse.
  bool clean() const { return in_.empty() && !parser_.InMessage() && peer_keeps_alive_; }
  bool response_started() const { return response_bytes_ > 0; }
  std::list<std::unique_ptr<UpstreamConnection>>::iterator self;  // position in the pool

 private:
  // ConnectionCallbacks
  void OnReadable() override;
  void OnWritable() override;
  void OnTimer() override;
  void Fail(UpstreamFailure failure, int error_number);
  void UpdateReadInterest();

  // http::MessageCallbacks
  void OnHead(const http::MessageHead& head) override;
  void OnBody(const char* data, size_t len) override;
  void OnMessageComplete() override;

  Worker& worker_;
  UpstreamPool& pool_;
  Connection socket_;
  bool read_paused_ = false;
  bool connected_ = false;
  bool interim_ = false;          // the message being parsed is a 1xx
  bool peer_keeps_alive_ = true;  // the last final response allows another request
  uint64_t exchanges_ = 0;
  uint64_t response_bytes_ = 0;
  UpstreamHandler* handler_ = nullptr;
  http::MessageParser parser_;
  ByteBuffer in_;
  ByteBuffer out_;
};

}  // namespace canarymesh::router
