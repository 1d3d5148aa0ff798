// Blocking HTTP/1.1 reading and writing for the router tests' clients and backends. Written
// independently of http/ (no http-parser) so that a codec bug cannot hide itself. Every read
// has a deadline (SO_RCVTIMEO), so a proxy that never answers fails a test instead of hanging
// it. Not thread-safe: one reader per socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace canarymesh::router::testing {

inline constexpr int kIoTimeoutMs = 20'000;

struct WireHead {
  // Start line split at its first two spaces: ("GET", "/x", "HTTP/1.1") for a request,
  // ("HTTP/1.1", "200", "OK") for a response.
  std::string part[3];
  std::vector<std::pair<std::string, std::string>> headers;

  // First value of `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Every value of `name` joined with ", " (how a list header reads across lines).
  std::string Joined(std::string_view name) const;
  bool HasToken(std::string_view name, std::string_view token) const;  // in a comma list
};

class WireReader {
 public:
  explicit WireReader(int fd) : fd_(fd) {}

  // Reads through the blank line. False on EOF, error or timeout before it.
  bool ReadHead(WireHead* head);
  // Appends exactly `n` bytes (passes them to `sink` instead when it is set).
  bool ReadExact(uint64_t n, std::string* out,
                 const std::function<void(const char*, size_t)>& sink = {});
  // Decodes a chunked body, trailers discarded.
  bool ReadChunked(std::string* out, const std::function<void(const char*, size_t)>& sink = {});
  // Everything until the peer closes. False on a reset or timeout.
  bool ReadUntilClose(std::string* out, const std::function<void(const char*, size_t)>& sink = {});
  // True if the peer closes (EOF or reset) before the timeout, discarding what arrives.
  bool WaitForClose(int timeout_ms = kIoTimeoutMs);
  size_t buffered() const { return buf_.size() - pos_; }
  int last_errno() const { return last_errno_; }

 private:
  bool Fill();
  bool ReadLine(std::string* line);

  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  int last_errno_ = 0;
};

// Sends everything; false on error.
bool SendAll(int fd, std::string_view data);
// Sets SO_RCVTIMEO/SO_SNDTIMEO.
void SetIoTimeout(int fd, int timeout_ms);
// Connects a blocking socket to 127.0.0.1:port, with SO_RCVBUF set first when
// `receive_buffer` > 0; -1 on failure.
int ConnectLoopback(uint16_t port, int receive_buffer = 0);
// Closes with SO_LINGER 0, so the peer sees a reset.
void ResetAndClose(int fd);
// A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not listening.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A port on 127.0.0.1 whose accept queue is full and never drained: new connections are neither
// accepted nor refused (the SYN is dropped), so connecting times out.
class UnacceptingPort {
 public:
  UnacceptingPort();
  ~UnacceptingPort();
  UnacceptingPort(const UnacceptingPort&) = delete;
  UnacceptingPort& operator=(const UnacceptingPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  std::vector<int> fillers_;
  uint16_t port_ = 0;
};

}  // namespace canarymesh::router::testing
