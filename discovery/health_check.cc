#include "discovery/health_check.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/net_address.h"

namespace canarymesh {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` on fd until the deadline; false on timeout or error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

Status Connect(const NetAddress& address, const std::string& target, Fd& fd,
               Clock::time_point deadline) {
  if (fd.get() < 0) return Status::IoError("socket: " + std::string(std::strerror(errno)));
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  if (::connect(fd.get(), address.sockaddr_ptr(), address.length) != 0 && errno != EINPROGRESS) {
    return Status::Unavailable("connect " + target + ": " + std::strerror(errno));
  }
  if (!WaitFor(fd.get(), POLLOUT, deadline))
    return Status::Unavailable("connect " + target + ": timed out");
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return Status::Unavailable("connect " + target + ": " + std::strerror(error));
  return Status::Ok();
}

Status HttpGet(const HealthCheckConfig& check, const std::string& target, Fd& fd,
               Clock::time_point deadline) {
  std::string what = "GET http://" + target + check.http_path;
  std::string request = "GET " + check.http_path + " HTTP/1.1\r\nHost: " + target +
                        "\r\nUser-Agent: canarymesh-announcer\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Status::Unavailable(what + ": send: " + std::strerror(errno));
    } else if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status::Unavailable(what + ": timed out sending");
    }
  }
  // Only the status line matters: "HTTP/1.1 204 No Content".
  std::string response;
  while (response.find("\r\n") == std::string::npos && response.size() < 1024) {
    if (!WaitFor(fd.get(), POLLIN, deadline)) return Status::Unavailable(what + ": timed out");
    char buffer[512];
    ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::Unavailable(what + ": recv: " + std::strerror(errno));
    }
    response.append(buffer, static_cast<size_t>(n));
  }
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) {
    return Status::Unavailable(what + ": no HTTP status line in the answer");
  }
  size_t space = response.find(' ');
  if (space == std::string::npos || space + 4 > response.size()) {
    return Status::Unavailable(what + ": malformed status line");
  }
  std::string code = response.substr(space + 1, 3);
  if (code[0] != '2') return Status::Unavailable(what + ": status " + code);
  return Status::Ok();
}

}  // namespace

Status ValidateHealthCheck(const HealthCheckConfig& check) {
  if (check.port == 0) return Status::InvalidArgument("health check: port must be set");
  if (check.host.empty()) return Status::InvalidArgument("health check: host must be set");
  if (check.timeout.count() <= 0)
    return Status::InvalidArgument("health check: timeout must be > 0");
  if (check.kind == HealthCheckConfig::Kind::kHttp &&
      (check.http_path.empty() || check.http_path[0] != '/' ||
       check.http_path.find_first_of(" \r\n") != std::string::npos)) {
    return Status::InvalidArgument(
        "health check: http path must start with '/' and have no spaces");
  }
  return Status::Ok();
}

Status RunHealthCheck(const HealthCheckConfig& check) {
  if (Status valid = ValidateHealthCheck(check); !valid.ok()) return valid;
  bool v6 = check.host.find(':') != std::string::npos;
  std::string target =
      (v6 ? "[" + check.host + "]" : check.host) + ":" + std::to_string(check.port);
  auto address = ParseNetAddress(target);
  if (!address.ok()) return address.status();
  auto deadline = Clock::now() + check.timeout;
  Fd fd(::socket(address->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (Status s = Connect(address.value(), target, fd, deadline); !s.ok()) return s;
  if (check.kind == HealthCheckConfig::Kind::kTcp) return Status::Ok();
  return HttpGet(check, target, fd, deadline);
}

}  // namespace canarymesh
