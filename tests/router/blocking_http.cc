#include "tests/router/blocking_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "tests/support/loopback.h"

namespace canarymesh::router::testing {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string WireHead::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) return v;
  }
  return "";
}

bool WireHead::Has(std::string_view name) const {
  for (const auto& h : headers) {
    if (IEquals(h.first, name)) return true;
  }
  return false;
}

std::string WireHead::Joined(std::string_view name) const {
  std::string out;
  for (const auto& [n, v] : headers) {
    if (!IEquals(n, name)) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

bool WireHead::HasToken(std::string_view name, std::string_view token) const {
  std::string list = Joined(name);
  std::string_view rest = list;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (IEquals(Trim(rest.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

bool WireReader::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  char tmp[64 * 1024];
  ssize_t n;
  do {
    n = recv(fd_, tmp, sizeof(tmp), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    last_errno_ = n == 0 ? 0 : errno;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool WireReader::ReadLine(std::string* line) {
  while (true) {
    size_t eol = buf_.find("\r\n", pos_);
    if (eol != std::string::npos) {
      line->assign(buf_, pos_, eol - pos_);
      pos_ = eol + 2;
      return true;
    }
    if (buf_.size() - pos_ > (1 << 20)) return false;
    if (!Fill()) return false;
  }
}

bool WireReader::ReadHead(WireHead* head) {
  *head = WireHead{};
  std::string line;
  if (!ReadLine(&line)) return false;
  std::string_view rest = line;
  for (int i = 0; i < 2; ++i) {
    size_t sp = rest.find(' ');
    head->part[i] = std::string(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  head->part[2] = std::string(rest);
  while (true) {
    if (!ReadLine(&line)) return false;
    if (line.empty()) return true;
    size_t colon = line.find(':');
    if (colon == std::string::npos) return false;
    head->headers.emplace_back(line.substr(0, colon),
                               std::string(Trim(std::string_view(line).substr(colon + 1))));
  }
}

bool WireReader::ReadExact(uint64_t n, std::string* out,
                           const std::function<void(const char*, size_t)>& sink) {
  while (n > 0) {
    if (pos_ == buf_.size() && !Fill()) return false;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, buf_.size() - pos_));
    if (sink) {
      sink(buf_.data() + pos_, take);
    } else {
      out->append(buf_, pos_, take);
    }
    pos_ += take;
    n -= take;
  }
  return true;
}

bool WireReader::ReadChunked(std::string* out,
                             const std::function<void(const char*, size_t)>& sink) {
  std::string line;
  while (true) {
    if (!ReadLine(&line)) return false;
    size_t end = line.find(';');
    std::string size_text = std::string(Trim(std::string_view(line).substr(0, end)));
    if (size_text.empty()) return false;
    char* parse_end = nullptr;
    uint64_t size = std::strtoull(size_text.c_str(), &parse_end, 16);
    if (*parse_end != '\0') return false;
    if (size == 0) break;
    if (!ReadExact(size, out, sink)) return false;
    if (!ReadLine(&line) || !line.empty()) return false;
  }
  while (true) {  // trailers
    if (!ReadLine(&line)) return false;
    if (line.empty()) return true;
  }
}

bool WireReader::ReadUntilClose(std::string* out,
                                const std::function<void(const char*, size_t)>& sink) {
  while (true) {
    if (pos_ < buf_.size()) {
      if (sink) {
        sink(buf_.data() + pos_, buf_.size() - pos_);
      } else {
        out->append(buf_, pos_);
      }
      pos_ = buf_.size();
    }
    if (!Fill()) return last_errno_ == 0;
  }
}

bool WireReader::WaitForClose(int timeout_ms) {
  pos_ = buf_.size();
  int waited = 0;
  while (waited < timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, 100);
    waited += 100;
    if (r <= 0) continue;
    char tmp[4096];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset counts as closed
  }
  return false;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void SetIoTimeout(int fd, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int ConnectLoopback(uint16_t port, int receive_buffer) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SetIoTimeout(fd, kIoTimeoutMs);
  return fd;
}

void ResetAndClose(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

ClosedPort::ClosedPort() {
  fd_ = ::canarymesh::testing::ListenLoopback(&port_, -1);  // bound, never listening
}

ClosedPort::~ClosedPort() {
  if (fd_ >= 0) close(fd_);
}

UnacceptingPort::UnacceptingPort() {
  listen_fd_ = ::canarymesh::testing::ListenLoopback(&port_, 0);  // room for one queued connection
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS
    fillers_.push_back(fd);
  }
}

UnacceptingPort::~UnacceptingPort() {
  for (int fd : fillers_) close(fd);
  close(listen_fd_);
}

}  // namespace canarymesh::router::testing
