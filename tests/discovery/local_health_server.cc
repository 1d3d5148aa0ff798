#include "tests/discovery/local_health_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "tests/support/loopback.h"

namespace canarymesh::testing {

LocalHealthServer::LocalHealthServer() {
  if (::pipe(wake_fd_) != 0) return;
  listen_fd_ = ListenLoopback(&port_, 16);
  if (listen_fd_ < 0) return;
  thread_ = std::thread([this] { Serve(); });
}

LocalHealthServer::~LocalHealthServer() {
  if (thread_.joinable()) {
    char byte = 0;
    (void)!::write(wake_fd_[1], &byte, 1);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_fd_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string LocalHealthServer::last_request_line() const {
  std::lock_guard lock(mu_);
  return last_line_;
}

void LocalHealthServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // Read the request head (health checks send no body), then answer and close.
    std::string request;
    char buffer[1024];
    timeval tv{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
      ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      last_line_ = request.substr(0, request.find("\r\n"));
    }
    requests_.fetch_add(1);
    int status = status_.load();
    std::string response = "HTTP/1.1 " + std::to_string(status) +
                           (status < 300 ? " OK" : " Unavailable") +
                           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(client);
  }
}

}  // namespace canarymesh::testing
