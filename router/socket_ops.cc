#include "router/socket_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace canarymesh::router {

void SetTcpNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<int> ListenReusePort(const NetAddress& address, int backlog) {
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int err = errno;
    close(fd);
    return Status::IoError(std::string("SO_REUSEPORT: ") + strerror(err));
  }
  if (bind(fd, address.sockaddr_ptr(), address.length) != 0 || listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    return Status::IoError("cannot listen on " + address.ToString() + ": " + strerror(err));
  }
  return fd;
}

Status CheckAddressFree(const NetAddress& address) {
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // TIME_WAIT leftovers are fine
  int rc = bind(fd, address.sockaddr_ptr(), address.length);
  int err = errno;
  close(fd);
  if (rc != 0) {
    return Status::IoError("cannot listen on " + address.ToString() + ": " + strerror(err) +
                           (err == EADDRINUSE ? " (is another proxy already running?)" : ""));
  }
  return Status::Ok();
}

int StartConnect(const NetAddress& address) {
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  SetTcpNoDelay(fd);
  if (connect(fd, address.sockaddr_ptr(), address.length) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

ssize_t ReadInto(int fd, ByteBuffer& buffer, size_t chunk) {
  size_t room = 0;
  char* tail = buffer.WritableTail(chunk, &room);
  ssize_t n;
  do {
    n = read(fd, tail, room);
  } while (n < 0 && errno == EINTR);
  if (n > 0) buffer.Commit(static_cast<size_t>(n));
  return n;
}

bool WriteFrom(int fd, ByteBuffer& buffer) {
  while (!buffer.empty()) {
    ssize_t n = send(fd, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      buffer.Consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

}  // namespace canarymesh::router
