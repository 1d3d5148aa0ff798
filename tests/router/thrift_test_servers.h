// Test support for the Thrift proxy tests: real Apache Thrift 0.17 servers of the Echo service
// (tests/thrift/test.thrift) on free loopback ports, and clients in every wire format.
//  - EchoServer (THeader): TThreadedServer with THeaderProtocol, which answers framed and
//    unframed binary, framed compact and THeader clients each in their own format; echo()
//    answers "<version>|<s>|<x-canary-version THeader header or ->".
//  - EchoServer (TTwitter): written to Finagle's tracing.thrift: answers the
//    __can__finagle__trace__v3__ upgrade, reads a RequestHeader before and writes a
//    ResponseHeader after each call; echo() reports the x-canary-version broadcast context.
//  - EchoServer (forwarding, THeader): the middle hop of a two-hop test; echo() calls `next`
//    (through the proxy) with the THeader headers it received and returns "<version>>" + reply.
// echo("fail") throws std::runtime_error (a TApplicationException reply), echo("oops") the
// declared Oops, echo("sleep:N") sleeps N ms first. ping() (oneway) is counted.
// Servers run on their own threads; the accessors are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "Echo.h"

namespace apache::thrift::server {
class TServer;
}

namespace canarymesh::router::testing {

class EchoServer {
 public:
  enum class Kind { kHeader, kTTwitter, kForwarding };
  // kForwarding: `next_port` is where echo() sends its own call (THeader compact).
  EchoServer(std::string version, Kind kind = Kind::kHeader, uint16_t next_port = 0);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint64_t pings() const { return pings_->load(); }
  uint64_t calls() const { return calls_->load(); }
  uint64_t upgrades() const { return upgrades_->load(); }

 private:
  std::string version_;
  uint16_t port_ = 0;
  std::shared_ptr<std::atomic<uint64_t>> pings_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<uint64_t>> calls_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<uint64_t>> upgrades_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<apache::thrift::server::TServer> server_;
  std::thread thread_;
};

// A connected Echo client in one wire format.
enum class ClientFormat {
  kFramedBinary,
  kBufferedBinary,
  kFramedCompact,
  kHeaderCompact,
  kHeaderBinary,
  kTTwitter
};
std::string ClientFormatName(ClientFormat format);

class EchoTestClient {
 public:
  EchoTestClient(uint16_t port, ClientFormat format);
  ~EchoTestClient();
  // THeader: an info header on every following call. TTwitter: a broadcast context.
  void SetHeader(const std::string& key, const std::string& value);
  // TTwitter: the RequestHeader's dest and a delegation, for the calls that follow.
  void SetTTwitterDestination(const std::string& dest, const std::string& delegation_src,
                              const std::string& delegation_dst);
  // Throws what the Thrift library throws (TApplicationException for an EXCEPTION reply).
  std::string Echo(const std::string& s);
  void Ping(int32_t x);
  void Nothing();
  // Sends `n` echo calls before reading any reply; returns the replies in order.
  std::vector<std::string> PipelinedEcho(const std::vector<std::string>& values);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The bytes a framed binary client sends for echo(s) with `seqid`.
std::string EncodeFramedEchoCall(const std::string& s, int32_t seqid);
// A raw loopback connection for bad-input tests: connect, send, read until EOF.
int ConnectRaw(uint16_t port);
// Reads until EOF or `timeout_ms` without data; returns what came, or "<open>" if still open.
std::string ReadUntilClosed(int fd, int timeout_ms = 10000);

}  // namespace canarymesh::router::testing
