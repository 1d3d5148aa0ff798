#include "tests/router/test_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "tests/support/loopback.h"

namespace canarymesh::router::testing {

BackendConnection::BackendConnection(TestBackend& owner, int fd, int index)
    : owner_(owner), fd_(fd), index_(index), reader_(fd) {}

bool BackendConnection::ReadHead(BackendRequest* out) {
  out->body.clear();
  if (!reader_.ReadHead(&out->head)) return false;
  owner_.requests_.fetch_add(1);
  return true;
}

bool BackendConnection::ReadBody(BackendRequest* req,
                                 const std::function<void(const char*, size_t)>& sink) {
  bool ok = true;
  if (req->head.HasToken("transfer-encoding", "chunked")) {
    ok = reader_.ReadChunked(&req->body, sink);
  } else if (req->head.Has("content-length")) {
    ok = reader_.ReadExact(std::stoull(req->head.Header("content-length")), &req->body, sink);
  }
  owner_.Record(*req);
  return ok;
}

bool BackendConnection::ReadRequest(BackendRequest* out,
                                    const std::function<void(const char*, size_t)>& sink) {
  *out = BackendRequest{};
  return ReadHead(out) && ReadBody(out, sink);
}

bool BackendConnection::Send(std::string_view data) { return SendAll(fd_, data); }

bool BackendConnection::Respond(int status, std::string_view body, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) +
                    " Backend\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                    std::string(extra_headers) + "\r\n";
  out.append(body);
  return Send(out);
}

void BackendConnection::WaitForPeerClose() {
  while (!owner_.stopping_.load()) {
    if (reader_.WaitForClose(200)) return;
  }
}

void BackendConnection::Reset() {
  if (reset_) return;
  std::lock_guard<std::mutex> lock(owner_.mu_);
  owner_.open_fds_.remove(fd_);
  ResetAndClose(fd_);
  reset_ = true;
}

TestBackend::TestBackend(BackendHandler handler, std::string name, int receive_buffer)
    : handler_(std::move(handler)), name_(std::move(name)) {
  // The receive buffer is set on the listener so accepted sockets start with it (the window is
  // negotiated at SYN).
  listen_fd_ = ::canarymesh::testing::ListenLoopback(&port_, 512, receive_buffer);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestBackend::~TestBackend() { Stop(); }

void TestBackend::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    SetIoTimeout(fd, kIoTimeoutMs);
    int index = connections_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) {
      close(fd);
      return;
    }
    open_fds_.push_back(fd);
    handler_threads_.emplace_back([this, fd, index] {
      BackendConnection conn(*this, fd, index);
      handler_(conn);
      if (!conn.reset_) {
        std::lock_guard<std::mutex> lock(mu_);
        open_fds_.remove(fd);
        close(fd);
      }
      closed_.fetch_add(1);
    });
  }
}

void TestBackend::Stop() {
  if (stopping_.exchange(true)) return;
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    threads.swap(handler_threads_);
  }
  for (std::thread& t : threads) t.join();
}

void TestBackend::Record(const BackendRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_seen_.push_back(request);
}

std::vector<BackendRequest> TestBackend::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_seen_;
}

BackendHandler EchoHandler(std::string name) {
  return [name](BackendConnection& conn) {
    BackendRequest req;
    while (conn.ReadRequest(&req)) {
      std::string extra = "X-Backend: " + name +
                          "\r\nX-Connection: " + std::to_string(conn.index()) +
                          "\r\nX-Body-Length: " + std::to_string(req.body.size()) + "\r\n";
      std::string body = name + " " + req.method() + " " + req.target();
      if (!conn.Respond(200, body, extra)) return;
    }
  };
}

}  // namespace canarymesh::router::testing
