// The upstream connection, per pool (instance and framing), that one Thrift client connection
// sends its calls on. Calls of one read share it and go out in one write (FlushAll at the end of
// the read). It is kept for later reads while the server is working through its calls
// (ThriftUpstreamConnection::MakingProgress), so that a client pipelining N calls uses one
// upstream connection per version, as through a TCP proxy (taking an idle connection for each
// read spread 32 such clients over 64 upstream connections); calls that come while an earlier
// one is stuck take another connection, so they overtake it. Owned by the client connection;
// worker-thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "router/thrift_upstream_connection.h"
#include "router/thrift_upstream_link.h"
#include "router/thrift_upstream_pool.h"

namespace canarymesh::router {

class ThriftClientUpstreams {
 public:
  ThriftClientUpstreams() = default;
  ThriftClientUpstreams(const ThriftClientUpstreams&) = delete;
  ThriftClientUpstreams& operator=(const ThriftClientUpstreams&) = delete;

  // A new read of the client's calls begins.
  void BeginRead() { ++read_; }

  // This client's connection towards `pool`, if it is still open, has room for a call, and was
  // used in this read or is making progress.
  ThriftUpstreamConnection* Find(const ThriftUpstreamPool& pool) {
    for (Entry& e : entries_) {
      if (e.pool != &pool) continue;
      ThriftUpstreamConnection* upstream = e.link.get();
      if (upstream == nullptr || !upstream->HasRoom()) return nullptr;
      if (e.read != read_ && !upstream->MakingProgress()) return nullptr;
      e.read = read_;
      return upstream;
    }
    return nullptr;
  }

  // `upstream` carries this client's next calls to `pool`. The calls queued on the connection
  // it replaces (full, or evicted when the client calls many versions) go out now.
  void Remember(const ThriftUpstreamPool& pool, ThriftUpstreamConnection* upstream) {
    Entry* slot = nullptr;
    for (Entry& e : entries_) {
      if (e.pool == &pool) {
        slot = &e;
        break;
      }
    }
    if (slot == nullptr) {
      for (Entry& e : entries_) {
        if (e.link.get() == nullptr) {
          slot = &e;
          break;
        }
      }
    }
    if (slot == nullptr) slot = &entries_[next_evicted_++ % kEntries];
    if (ThriftUpstreamConnection* old = slot->link.get(); old != nullptr && old != upstream) {
      old->Flush();
    }
    slot->pool = &pool;
    slot->read = read_;
    slot->link.Reset(upstream);
  }

  // The read is done: every connection this client uses writes what was queued, one write each
  // (a no-op for those with nothing queued).
  void FlushAll() {
    for (Entry& e : entries_) {
      if (ThriftUpstreamConnection* upstream = e.link.get()) upstream->Flush();
    }
  }

 private:
  struct Entry {
    // Compared, never dereferenced: a pool freed and another allocated at its address finds a
    // link its closed connections have already cleared.
    const ThriftUpstreamPool* pool = nullptr;
    ThriftUpstreamLink link;
    uint64_t read = 0;  // the read that last used it
  };
  static constexpr size_t kEntries = 4;  // versions (pools) a client calls at once, kept
  std::array<Entry, kEntries> entries_{};
  size_t next_evicted_ = 0;
  uint64_t read_ = 0;
};

}  // namespace canarymesh::router
