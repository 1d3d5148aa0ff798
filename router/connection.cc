#include "router/connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace canarymesh::router {

void Connection::AssignEvents() {
  event_assign(&read_ev_, base_, fd_, EV_READ | EV_PERSIST, &OnReadEvent, this);
  event_assign(&write_ev_, base_, fd_, EV_WRITE, &OnWriteEvent, this);
  event_assign(&timer_ev_, base_, -1, 0, &OnTimerEvent, this);
}

void Connection::Adopt(int fd) {
  fd_ = fd;
  AssignEvents();
}

int Connection::Connect(const NetAddress& address) {
  int fd = StartConnect(address);
  if (fd < 0) return -fd;
  Adopt(fd);
  ArmWrite();  // fires when the connect completes, either way
  return 0;
}

int Connection::ConnectError() const {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err;
}

void Connection::Close() {
  if (fd_ < 0) return;
  event_del(&read_ev_);
  event_del(&write_ev_);
  event_del(&timer_ev_);
  ::close(fd_);
  fd_ = -1;
  read_armed_ = false;
  write_armed_ = false;
  flush_scheduled_ = false;
}

void Connection::WantRead(bool want) {
  if (fd_ < 0 || want == read_armed_) return;
  if (want) {
    event_add(&read_ev_, nullptr);
  } else {
    event_del(&read_ev_);
  }
  read_armed_ = want;
}

ssize_t Connection::Read(ByteBuffer& in) {
  ssize_t n = ReadInto(fd_, in, read_chunk_.size());
  read_chunk_.Observe(n);
  return n;
}

Connection::FlushResult Connection::Flush(ByteBuffer& out) {
  if (!WriteFrom(fd_, out)) return FlushResult::kError;
  if (out.empty()) return FlushResult::kDone;
  ArmWrite();
  return FlushResult::kPending;
}

void Connection::ArmWrite() {
  if (write_armed_ || fd_ < 0) return;
  event_add(&write_ev_, nullptr);
  write_armed_ = true;
}

void Connection::ScheduleFlush() {
  if (flush_scheduled_ || write_armed_ || fd_ < 0) return;
  flush_scheduled_ = true;
  event_active(&write_ev_, EV_WRITE, 1);
}

// ---- libevent trampolines (the only ones for connections in router/) ----

void Connection::OnReadEvent(evutil_socket_t, short, void* arg) {
  static_cast<Connection*>(arg)->callbacks_.OnReadable();
}

void Connection::OnWriteEvent(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  self->write_armed_ = false;
  self->flush_scheduled_ = false;
  if (self->fd_ < 0) return;
  self->callbacks_.OnWritable();
}

void Connection::OnTimerEvent(evutil_socket_t, short, void* arg) {
  static_cast<Connection*>(arg)->callbacks_.OnTimer();
}

}  // namespace canarymesh::router
