// A tiny HTTP/1.1 server on a loopback port that answers every request with a status the test
// chooses (200 or 503 ...), standing in for an instance's health endpoint. Thread-safe setters;
// serves on its own thread until destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace canarymesh::testing {

class LocalHealthServer {
 public:
  LocalHealthServer();   // listens on 127.0.0.1:<free port>, answering 200
  ~LocalHealthServer();  // stops serving and closes the socket
  LocalHealthServer(const LocalHealthServer&) = delete;
  LocalHealthServer& operator=(const LocalHealthServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }
  void set_status(int status) { status_.store(status); }
  uint64_t requests() const { return requests_.load(); }
  std::string last_request_line() const;

 private:
  void Serve();

  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};  // written to stop Serve()
  uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<uint64_t> requests_{0};
  mutable std::mutex mu_;
  std::string last_line_;
  std::thread thread_;
};

}  // namespace canarymesh::testing
