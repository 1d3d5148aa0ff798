// A raw-socket HTTP client for the router's socket tests: sends exact bytes and reads responses
// with its own framing logic (blocking_http.h). Every read has a deadline. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tests/router/blocking_http.h"

namespace canarymesh::router::testing {

struct ClientResponse {
  WireHead head;
  int status = 0;
  std::string body;
  uint64_t body_bytes = 0;  // also counted when the body went to a sink
  const std::string& version() const { return head.part[0]; }
};

class TestClient {
 public:
  // `receive_buffer`: SO_RCVBUF set before connecting (small = a slow-to-drain client).
  explicit TestClient(uint16_t port, int receive_buffer = 0);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view bytes);
  // Reads one response, a 1xx included. `head_request`: the answer has no body.
  // `sink` takes the body instead of ClientResponse::body (huge bodies).
  bool Read(ClientResponse* response, bool head_request = false,
            const std::function<void(const char*, size_t)>& sink = {});
  // Sends a request and reads its answer; status 0 when none came.
  ClientResponse RoundTrip(std::string_view request, bool head_request = false);
  // True if the proxy closes the connection (EOF or reset) within the deadline.
  bool WaitForClose(int timeout_ms = kIoTimeoutMs);
  void ShutdownWrite();
  void Reset();  // RST and forget the socket
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  WireReader reader_;
};

// "GET <target> HTTP/1.1\r\nHost: <host>\r\n<extra>\r\n"; `extra` lines end in \r\n.
std::string Get(std::string_view host, std::string_view target = "/", std::string_view extra = "");
// A request with a Content-Length body.
std::string Post(std::string_view host, std::string_view target, std::string_view body,
                 std::string_view extra = "");

}  // namespace canarymesh::router::testing
