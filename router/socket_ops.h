// Thin wrappers over the socket calls the data plane makes: non-blocking listen (SO_REUSEPORT so
// each worker owns an accept queue), connect, read into and write from a ByteBuffer.
// Stateless; thread-safe.
#pragma once

#include <sys/types.h>

#include "core/net_address.h"
#include "core/status.h"
#include "router/byte_buffer.h"

namespace canarymesh::router {

Result<int> ListenReusePort(const NetAddress& address, int backlog);
// Fails if anyone (another canarymesh, say) already listens on `address`. SO_REUSEPORT would
// otherwise let a second process bind silently and take half of the connections.
Status CheckAddressFree(const NetAddress& address);
// Starts a non-blocking connect; returns the fd (connect may still be in progress) or -errno.
int StartConnect(const NetAddress& address);
// Reads up to `chunk` bytes into the buffer's tail. Returns bytes read, 0 on EOF, -1 with
// errno set (EAGAIN when nothing is there).
ssize_t ReadInto(int fd, ByteBuffer& buffer, size_t chunk);
// Writes as much of `buffer` as the socket takes. Returns false on a hard error (errno set).
bool WriteFrom(int fd, ByteBuffer& buffer);
void SetTcpNoDelay(int fd);

// Read size that adapts to the peer: small connections (most RPCs) keep 4 KiB buffers, a read
// that fills the whole chunk doubles it up to 64 KiB so bulk transfers need few syscalls.
class AdaptiveReadChunk {
 public:
  size_t size() const { return size_; }
  void Observe(ssize_t bytes_read) {
    if (bytes_read > 0 && static_cast<size_t>(bytes_read) >= size_ && size_ < kMax) size_ *= 2;
  }

 private:
  static constexpr size_t kMin = 4 * 1024;
  static constexpr size_t kMax = 64 * 1024;
  size_t size_ = kMin;
};

}  // namespace canarymesh::router
