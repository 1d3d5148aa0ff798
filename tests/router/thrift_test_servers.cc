#include "tests/router/thrift_test_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thrift/TApplicationException.h>
#include <thrift/TProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/protocol/THeaderProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>
#include <thrift/transport/TSocket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "tests/support/loopback.h"
#include "ttwitter_types.h"

namespace canarymesh::router::testing {

using apache::thrift::TApplicationException;
using apache::thrift::TConnectionInfo;
using apache::thrift::TProcessor;
using apache::thrift::TProcessorFactory;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TBinaryProtocolFactory;
using apache::thrift::protocol::TCompactProtocol;
using apache::thrift::protocol::THeaderProtocol;
using apache::thrift::protocol::THeaderProtocolFactory;
using apache::thrift::protocol::TMessageType;
using apache::thrift::protocol::TProtocol;
using apache::thrift::protocol::TProtocolException;
using apache::thrift::server::TThreadedServer;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TFramedTransportFactory;
using apache::thrift::transport::TServerSocket;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransport;
using apache::thrift::transport::TTransportFactory;

namespace {

constexpr const char* kOverride = "x-canary-version";

// What one server connection knows: THeader protocol (for headers) or the last TTwitter header.
struct ConnectionState {
  std::shared_ptr<TProtocol> input;
  bool upgraded = false;
  cmtest::ttwitter::RequestHeader header;
  bool has_header = false;
};

struct Counters {
  std::shared_ptr<std::atomic<uint64_t>> pings, calls, upgrades;
};

class Handler : public cmtest::EchoIf {
 public:
  Handler(std::string version, EchoServer::Kind kind, uint16_t next_port, Counters counters,
          std::shared_ptr<ConnectionState> state)
      : version_(std::move(version)),
        kind_(kind),
        next_port_(next_port),
        counters_(counters),
        state_(std::move(state)) {}

  void echo(std::string& out, const std::string& s) override {
    ++*counters_.calls;
    if (s == "fail") throw std::runtime_error("echo failed on purpose");
    if (s == "oops") {
      cmtest::Oops oops;
      oops.why = "oops";
      oops.code = 7;
      throw oops;
    }
    if (s.rfind("sleep:", 0) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(s.substr(6))));
    std::string seen = "-";
    std::map<std::string, std::string> headers;
    if (auto* header = dynamic_cast<THeaderProtocol*>(state_->input.get())) {
      for (const auto& [k, v] : header->getHeaders()) headers[k] = v;
      if (headers.count(kOverride)) seen = headers[kOverride];
    }
    if (state_->has_header) {
      for (const auto& c : state_->header.contexts) {
        if (c.key == kOverride) seen = c.value;
      }
    }
    if (kind_ == EchoServer::Kind::kForwarding) {
      // A service that passes THeader headers on to its own downstream calls.
      auto socket = std::make_shared<TSocket>("127.0.0.1", next_port_);
      auto protocol = std::make_shared<THeaderProtocol>(socket);
      for (const auto& [k, v] : headers) protocol->setHeader(k, v);
      cmtest::EchoClient next(protocol);
      socket->open();
      std::string reply;
      next.echo(reply, s);
      socket->close();
      out = version_ + ">" + reply;
      return;
    }
    out = version_ + "|" + s + "|" + seen;
  }
  void mirror(cmtest::Blob& out, const cmtest::Blob& b) override { out = b; }
  void nothing() override { ++*counters_.calls; }
  void ping(const int32_t) override { ++*counters_.pings; }
  void tree(cmtest::Node& out, const cmtest::Node& n) override { out = n; }

 private:
  std::string version_;
  EchoServer::Kind kind_;
  uint16_t next_port_;
  Counters counters_;
  std::shared_ptr<ConnectionState> state_;
};

// Finagle's server side of TTwitter (TTwitterServerFilter): the upgrade, then a RequestHeader
// before each call and a ResponseHeader before each reply.
class TTwitterProcessor : public TProcessor {
 public:
  TTwitterProcessor(std::shared_ptr<TProcessor> inner, std::shared_ptr<ConnectionState> state,
                    Counters counters)
      : inner_(std::move(inner)), state_(std::move(state)), counters_(counters) {}

  bool process(std::shared_ptr<TProtocol> in, std::shared_ptr<TProtocol> out,
               void* context) override {
    if (!state_->upgraded) {
      std::string name;
      TMessageType type;
      int32_t seqid = 0;
      in->readMessageBegin(name, type, seqid);
      if (name != "__can__finagle__trace__v3__") {
        throw TProtocolException(TProtocolException::INVALID_DATA,
                                 "expected the TTwitter upgrade, got " + name);
      }
      cmtest::ttwitter::ConnectionOptions options;
      options.read(in.get());
      in->readMessageEnd();
      in->getTransport()->readEnd();
      out->writeMessageBegin(name, apache::thrift::protocol::T_REPLY, seqid);
      cmtest::ttwitter::UpgradeReply().write(out.get());
      out->writeMessageEnd();
      out->getTransport()->writeEnd();
      out->getTransport()->flush();
      state_->upgraded = true;
      ++*counters_.upgrades;
      return true;
    }
    state_->header = cmtest::ttwitter::RequestHeader();
    state_->header.read(in.get());
    state_->has_header = true;
    cmtest::ttwitter::ResponseHeader response;
    response.write(out.get());
    return inner_->process(in, out, context);
  }

 private:
  std::shared_ptr<TProcessor> inner_;
  std::shared_ptr<ConnectionState> state_;
  Counters counters_;
};

class Factory : public TProcessorFactory {
 public:
  Factory(std::string version, EchoServer::Kind kind, uint16_t next_port, Counters counters)
      : version_(std::move(version)), kind_(kind), next_port_(next_port), counters_(counters) {}
  std::shared_ptr<TProcessor> getProcessor(const TConnectionInfo& info) override {
    auto state = std::make_shared<ConnectionState>();
    state->input = info.input;
    auto handler = std::make_shared<Handler>(version_, kind_, next_port_, counters_, state);
    auto processor = std::make_shared<cmtest::EchoProcessor>(handler);
    if (kind_ == EchoServer::Kind::kTTwitter)
      return std::make_shared<TTwitterProcessor>(processor, state, counters_);
    return processor;
  }

 private:
  std::string version_;
  EchoServer::Kind kind_;
  uint16_t next_port_;
  Counters counters_;
};

}  // namespace

EchoServer::EchoServer(std::string version, Kind kind, uint16_t next_port)
    : version_(std::move(version)) {
  Counters counters{pings_, calls_, upgrades_};
  auto factory = std::make_shared<Factory>(version_, kind, next_port, counters);
  for (int attempt = 0; attempt < 5 && !server_; ++attempt) {
    port_ = ::canarymesh::testing::PickFreePort();
    auto socket = std::make_shared<TServerSocket>("127.0.0.1", port_);
    if (kind == Kind::kTTwitter) {
      server_ = std::make_shared<TThreadedServer>(factory, socket,
                                                  std::make_shared<TFramedTransportFactory>(),
                                                  std::make_shared<TBinaryProtocolFactory>());
    } else {
      server_ =
          std::make_shared<TThreadedServer>(factory, socket, std::make_shared<TTransportFactory>(),
                                            std::make_shared<THeaderProtocolFactory>());
      // One THeaderProtocol per connection for both directions, so replies go out in the
      // format (and with the headers) the client used.
      server_->setOutputProtocolFactory(nullptr);
    }
    auto server = server_;
    thread_ = std::thread([server] {
      try {
        server->serve();
      } catch (const std::exception&) {
      }
    });
    for (int i = 0; i < 500 && !::canarymesh::testing::Accepting(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!::canarymesh::testing::Accepting(port_)) {
      server_->stop();
      thread_.join();
      server_.reset();
    }
  }
  if (!server_) throw std::runtime_error("EchoServer: could not listen");
}

EchoServer::~EchoServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ClientFormatName(ClientFormat format) {
  switch (format) {
    case ClientFormat::kFramedBinary:
      return "FramedBinary";
    case ClientFormat::kBufferedBinary:
      return "BufferedBinary";
    case ClientFormat::kFramedCompact:
      return "FramedCompact";
    case ClientFormat::kHeaderCompact:
      return "HeaderCompact";
    case ClientFormat::kHeaderBinary:
      return "HeaderBinary";
    case ClientFormat::kTTwitter:
      return "TTwitter";
  }
  return "?";
}

struct EchoTestClient::Impl {
  ClientFormat format;
  std::shared_ptr<TSocket> socket;
  std::shared_ptr<TTransport> transport;
  std::shared_ptr<TProtocol> protocol;
  std::shared_ptr<THeaderProtocol> header;
  std::unique_ptr<cmtest::EchoClient> client;
  std::map<std::string, std::string> contexts;
  std::string dest, delegation_src, delegation_dst;

  // THeaderTransport forgets its write headers after every flush: set them before each call.
  void ApplyHeaders() {
    if (!header) return;
    for (const auto& [k, v] : contexts) header->setHeader(k, v);
  }
  void WriteRequestHeader() {
    cmtest::ttwitter::RequestHeader h;
    h.trace_id = 42;
    h.span_id = 43;
    for (const auto& [k, v] : contexts) {
      cmtest::ttwitter::RequestContext c;
      c.key = k;
      c.value = v;
      h.contexts.push_back(c);
    }
    if (!dest.empty()) h.__set_dest(dest);
    if (!delegation_src.empty()) {
      cmtest::ttwitter::Delegation d;
      d.src = delegation_src;
      d.dst = delegation_dst;
      h.__set_delegations({d});
    }
    h.write(protocol.get());
  }
  void ReadResponseHeader() {
    cmtest::ttwitter::ResponseHeader r;
    r.read(protocol.get());
  }
};

EchoTestClient::EchoTestClient(uint16_t port, ClientFormat format)
    : impl_(std::make_unique<Impl>()) {
  impl_->format = format;
  impl_->socket = std::make_shared<TSocket>("127.0.0.1", port);
  impl_->socket->setRecvTimeout(30000);
  switch (format) {
    case ClientFormat::kFramedBinary:
    case ClientFormat::kTTwitter:
      impl_->transport = std::make_shared<TFramedTransport>(impl_->socket);
      impl_->protocol = std::make_shared<TBinaryProtocol>(impl_->transport);
      break;
    case ClientFormat::kBufferedBinary:
      impl_->transport = std::make_shared<TBufferedTransport>(impl_->socket);
      impl_->protocol = std::make_shared<TBinaryProtocol>(impl_->transport);
      break;
    case ClientFormat::kFramedCompact:
      impl_->transport = std::make_shared<TFramedTransport>(impl_->socket);
      impl_->protocol = std::make_shared<TCompactProtocol>(impl_->transport);
      break;
    case ClientFormat::kHeaderCompact:
    case ClientFormat::kHeaderBinary:
      impl_->transport = impl_->socket;
      impl_->header = std::make_shared<THeaderProtocol>(
          impl_->socket, format == ClientFormat::kHeaderBinary
                             ? apache::thrift::protocol::T_BINARY_PROTOCOL
                             : apache::thrift::protocol::T_COMPACT_PROTOCOL);
      impl_->protocol = impl_->header;
      break;
  }
  impl_->client = std::make_unique<cmtest::EchoClient>(impl_->protocol);
  impl_->socket->open();
  if (format == ClientFormat::kTTwitter) {
    // Finagle's TTwitterClientFilter: the upgrade call, answered by an UpgradeReply.
    impl_->protocol->writeMessageBegin("__can__finagle__trace__v3__",
                                       apache::thrift::protocol::T_CALL, 0);
    cmtest::ttwitter::ConnectionOptions().write(impl_->protocol.get());
    impl_->protocol->writeMessageEnd();
    impl_->transport->writeEnd();
    impl_->transport->flush();
    std::string name;
    TMessageType type;
    int32_t seqid = 0;
    impl_->protocol->readMessageBegin(name, type, seqid);
    if (name != "__can__finagle__trace__v3__" || type != apache::thrift::protocol::T_REPLY) {
      throw std::runtime_error("TTwitter upgrade refused: " + name);
    }
    cmtest::ttwitter::UpgradeReply().read(impl_->protocol.get());
    impl_->protocol->readMessageEnd();
    impl_->transport->readEnd();
  }
}

EchoTestClient::~EchoTestClient() {
  try {
    impl_->socket->close();
  } catch (...) {
  }
}

void EchoTestClient::SetHeader(const std::string& key, const std::string& value) {
  if (impl_->header) impl_->header->setHeader(key, value);
  impl_->contexts[key] = value;
}

void EchoTestClient::SetTTwitterDestination(const std::string& dest,
                                            const std::string& delegation_src,
                                            const std::string& delegation_dst) {
  impl_->dest = dest;
  impl_->delegation_src = delegation_src;
  impl_->delegation_dst = delegation_dst;
}

std::string EchoTestClient::Echo(const std::string& s) {
  std::string reply;
  if (impl_->format == ClientFormat::kTTwitter) {
    impl_->WriteRequestHeader();
    impl_->client->send_echo(s);
    impl_->ReadResponseHeader();
    impl_->client->recv_echo(reply);
    return reply;
  }
  impl_->ApplyHeaders();
  impl_->client->echo(reply, s);
  return reply;
}

void EchoTestClient::Ping(int32_t x) {
  if (impl_->format == ClientFormat::kTTwitter) impl_->WriteRequestHeader();
  impl_->ApplyHeaders();
  impl_->client->ping(x);
}

void EchoTestClient::Nothing() {
  if (impl_->format == ClientFormat::kTTwitter) {
    impl_->WriteRequestHeader();
    impl_->client->send_nothing();
    impl_->ReadResponseHeader();
    impl_->client->recv_nothing();
    return;
  }
  impl_->ApplyHeaders();
  impl_->client->nothing();
}

std::string EncodeFramedEchoCall(const std::string& s, int32_t seqid) {
  auto memory = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  auto framed = std::make_shared<TFramedTransport>(memory);
  TBinaryProtocol protocol(framed);
  protocol.writeMessageBegin("echo", apache::thrift::protocol::T_CALL, seqid);
  cmtest::Echo_echo_pargs args;
  args.s = &s;
  args.write(&protocol);
  protocol.writeMessageEnd();
  framed->writeEnd();
  framed->flush();
  return memory->getBufferAsString();
}

int ConnectRaw(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadUntilClosed(int fd, int timeout_ms) {
  std::string out;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return "<open>";
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::vector<std::string> EchoTestClient::PipelinedEcho(const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (impl_->format == ClientFormat::kTTwitter) impl_->WriteRequestHeader();
    impl_->ApplyHeaders();
    impl_->client->send_echo(v);
  }
  std::vector<std::string> replies;
  for (size_t i = 0; i < values.size(); ++i) {
    if (impl_->format == ClientFormat::kTTwitter) impl_->ReadResponseHeader();
    std::string reply;
    impl_->client->recv_echo(reply);
    replies.push_back(reply);
  }
  return replies;
}

}  // namespace canarymesh::router::testing
