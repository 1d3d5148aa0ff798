#include "tests/router/test_client.h"

#include <sys/socket.h>
#include <unistd.h>

namespace canarymesh::router::testing {

TestClient::TestClient(uint16_t port, int receive_buffer)
    : fd_(ConnectLoopback(port, receive_buffer)), reader_(fd_) {}

TestClient::~TestClient() {
  if (fd_ >= 0) close(fd_);
}

bool TestClient::Send(std::string_view bytes) { return fd_ >= 0 && SendAll(fd_, bytes); }

bool TestClient::Read(ClientResponse* response, bool head_request,
                      const std::function<void(const char*, size_t)>& sink) {
  *response = ClientResponse{};
  if (fd_ < 0 || !reader_.ReadHead(&response->head)) return false;
  response->status = std::atoi(response->head.part[1].c_str());
  int s = response->status;
  if (head_request || (s >= 100 && s < 200) || s == 204 || s == 304) return true;
  auto counting_sink = [&](const char* p, size_t n) {
    response->body_bytes += n;
    if (sink) {
      sink(p, n);
    } else {
      response->body.append(p, n);
    }
  };
  bool ok;
  std::string ignored;
  if (response->head.HasToken("transfer-encoding", "chunked")) {
    ok = reader_.ReadChunked(&ignored, counting_sink);
  } else if (response->head.Has("content-length")) {
    ok = reader_.ReadExact(std::stoull(response->head.Header("content-length")), &ignored,
                           counting_sink);
  } else {
    ok = reader_.ReadUntilClose(&ignored, counting_sink);
  }
  return ok;
}

ClientResponse TestClient::RoundTrip(std::string_view request, bool head_request) {
  ClientResponse r;
  if (!Send(request) || !Read(&r, head_request)) r.status = 0;
  return r;
}

bool TestClient::WaitForClose(int timeout_ms) {
  return fd_ >= 0 && reader_.WaitForClose(timeout_ms);
}

void TestClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

void TestClient::Reset() {
  if (fd_ >= 0) ResetAndClose(fd_);
  fd_ = -1;
}

std::string Get(std::string_view host, std::string_view target, std::string_view extra) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n" +
         std::string(extra) + "\r\n";
}

std::string Post(std::string_view host, std::string_view target, std::string_view body,
                 std::string_view extra) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) +
         "\r\n" + std::string(body);
}

}  // namespace canarymesh::router::testing
