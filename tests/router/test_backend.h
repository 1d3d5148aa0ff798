// Small HTTP backends for the router's socket tests: a listener on 127.0.0.1 with a free port,
// one thread per accepted connection running a handler that the test writes (answer normally,
// chunked, until close, slowly, reset, ...). Blocking sockets with read deadlines.
// Thread-safe: counters and recorded requests may be read from the test thread while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/router/blocking_http.h"

namespace canarymesh::router::testing {

class TestBackend;

struct BackendRequest {
  WireHead head;
  std::string body;
  const std::string& method() const { return head.part[0]; }
  const std::string& target() const { return head.part[1]; }
  const std::string& version() const { return head.part[2]; }
};

// One accepted connection, handed to the handler on its own thread.
class BackendConnection {
 public:
  BackendConnection(TestBackend& owner, int fd, int index);
  int index() const { return index_; }  // 0 for the backend's first connection
  // Head, then a Content-Length or chunked body (streamed to `sink` instead when set). Records
  // the request with the backend. False on EOF/error.
  bool ReadRequest(BackendRequest* out, const std::function<void(const char*, size_t)>& sink = {});
  bool ReadHead(BackendRequest* out);
  bool ReadBody(BackendRequest* req, const std::function<void(const char*, size_t)>& sink = {});
  bool Send(std::string_view data);
  // A complete response with Content-Length.
  bool Respond(int status, std::string_view body, std::string_view extra_headers = "");
  // Blocks until the proxy closes this connection (or the backend stops).
  void WaitForPeerClose();
  void Reset();  // RST now; the handler must return right after
  WireReader& reader() { return reader_; }
  int fd() const { return fd_; }

 private:
  friend class TestBackend;
  TestBackend& owner_;
  int fd_;
  int index_;
  WireReader reader_;
  bool reset_ = false;
};

using BackendHandler = std::function<void(BackendConnection&)>;

class TestBackend {
 public:
  // `receive_buffer`: SO_RCVBUF for accepted connections (small = a slow-to-drain backend).
  explicit TestBackend(BackendHandler handler, std::string name = "backend",
                       int receive_buffer = 0);
  ~TestBackend();
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  int closed_connections() const { return closed_.load(); }  // handlers that returned
  std::vector<BackendRequest> Requests() const;
  // Closes the listener and every connection, then joins the handler threads.
  void Stop();

 private:
  friend class BackendConnection;
  void AcceptLoop();
  void Record(const BackendRequest& request);

  BackendHandler handler_;
  std::string name_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> closed_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> handler_threads_;
  std::list<int> open_fds_;
  std::vector<BackendRequest> requests_seen_;
};

// Answers every request on a keep-alive connection with 200 and a body naming the backend,
// method and target; headers X-Backend, X-Connection (index), X-Body-Length.
BackendHandler EchoHandler(std::string name);

}  // namespace canarymesh::router::testing
