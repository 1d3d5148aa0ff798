// One non-blocking socket on a worker's loop: its read, write and timer events (embedded, so no
// allocation per connection), read interest, output flushing with write-readiness, connect
// completion and close. The four protocol sessions (HTTP and Thrift, downstream and upstream)
// each own one and receive its events through ConnectionCallbacks, so socket plumbing exists
// once (the role of Envoy's Network::ConnectionImpl under its protocol filters).
// Worker-thread only.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/types.h>

#include "core/net_address.h"
#include "router/byte_buffer.h"
#include "router/socket_ops.h"

namespace canarymesh::router {

// What a session hears from its socket. Each call may close the connection.
class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  // The socket is readable (or ActivateRead asked for a look at what is already buffered).
  virtual void OnReadable() = 0;
  // The socket is writable again (after Flush left bytes, a connect completed, or
  // ScheduleFlush asked for a write at the end of this loop turn).
  virtual void OnWritable() = 0;
  virtual void OnTimer() = 0;
};

class Connection {
 public:
  // How a Flush ended.
  enum class FlushResult : uint8_t {
    kDone,     // everything written
    kPending,  // bytes left; the write event is armed and OnWritable follows
    kError,    // a hard error, errno set; the caller decides how to fail
  };

  Connection(event_base* base, ConnectionCallbacks& callbacks)
      : base_(base), callbacks_(callbacks) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Takes an accepted (non-blocking) socket. No event is armed yet.
  void Adopt(int fd);
  // Starts a non-blocking connect to `address` and arms the write event, which fires when it
  // completes (ConnectError() then tells how). Returns 0, or an errno for an immediate failure.
  int Connect(const NetAddress& address);
  // After a connect's write event: 0 when connected, else the socket's errno (EINPROGRESS when
  // the event was an early wake-up).
  int ConnectError() const;
  // Deletes the events and closes the socket; no callback follows. Idempotent.
  void Close();

  bool open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Read interest; changes the event only when `want` differs from the current interest.
  void WantRead(bool want);
  bool reading() const { return read_armed_; }
  // Runs OnReadable on this loop turn even without new bytes (input already buffered).
  void ActivateRead() { event_active(&read_ev_, EV_READ, 1); }
  // Reads into `in` (an adaptive chunk). As ReadInto: bytes, 0 on EOF, -1 with errno.
  ssize_t Read(ByteBuffer& in);

  // Writes what the socket takes of `out`; arms the write event if bytes are left.
  FlushResult Flush(ByteBuffer& out);
  // OnWritable at the end of this loop turn, so that output queued meanwhile goes in one write.
  // No-op when a write event is already armed or scheduled.
  void ScheduleFlush();
  // A write is due: armed for write-readiness, or scheduled for this loop turn.
  bool write_due() const { return write_armed_ || flush_scheduled_; }
  bool flush_scheduled() const { return flush_scheduled_; }
  void ArmWrite();

  void ArmTimer(const timeval* after) { event_add(&timer_ev_, after); }
  void CancelTimer() { event_del(&timer_ev_); }

 private:
  static void OnReadEvent(evutil_socket_t fd, short what, void* arg);
  static void OnWriteEvent(evutil_socket_t fd, short what, void* arg);
  static void OnTimerEvent(evutil_socket_t fd, short what, void* arg);
  void AssignEvents();

  event_base* const base_;
  ConnectionCallbacks& callbacks_;
  int fd_ = -1;
  event read_ev_{};
  event write_ev_{};
  event timer_ev_{};
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool flush_scheduled_ = false;
  AdaptiveReadChunk read_chunk_;
};

}  // namespace canarymesh::router
