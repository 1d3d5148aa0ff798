// A Thrift backend for bench/thrift_bench.sh (BACKEND=nonblocking) built from Apache Thrift's own
// C++ library rather than written by hand: a TNonblockingServer with one I/O thread and no worker
// pool, framed strict binary, serving the Echo service of tests/thrift/test.thrift
// (echo(s) -> s). Realistic for the proxies' sake: it reads and answers calls the way Thrift
// servers in production do, one at a time per connection.
//   thrift_nonblocking_echo PORT
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TNonblockingServer.h>
#include <thrift/transport/TNonblockingServerSocket.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "Echo.h"

namespace {

class EchoHandler : public cmtest::EchoIf {
 public:
  void echo(std::string& out, const std::string& s) override { out = s; }
  void mirror(cmtest::Blob& out, const cmtest::Blob& b) override { out = b; }
  void nothing() override {}
  void ping(int32_t) override {}
  void tree(cmtest::Node& out, const cmtest::Node& n) override { out = n; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  using apache::thrift::protocol::TBinaryProtocolFactory;
  using apache::thrift::server::TNonblockingServer;
  using apache::thrift::transport::TNonblockingServerSocket;
  auto processor = std::make_shared<cmtest::EchoProcessor>(std::make_shared<EchoHandler>());
  auto socket = std::make_shared<TNonblockingServerSocket>("127.0.0.1", std::atoi(argv[1]));
  TNonblockingServer server(processor, std::make_shared<TBinaryProtocolFactory>(), socket);
  server.setNumIOThreads(1);
  server.serve();
  return 0;
}
