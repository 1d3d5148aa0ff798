// The upstream connection per pool that the calls of one client read batch went to. Calls a
// client sent together go out together on one connection per version (one write at the batch's
// end, one read back), as through a TCP proxy: the server sees no more calls at once on a
// connection than the client itself pipelined. Owned by a Thrift client connection and reset at
// each read; worker-thread only.
#pragma once

#include <array>
#include <cstddef>

#include "router/thrift_upstream_connection.h"
#include "router/thrift_upstream_pool.h"

namespace canarymesh::router {

class ThriftCallBatch {
 public:
  // The connection this batch uses towards `pool`, if it still has room for a call.
  ThriftUpstreamConnection* Find(const ThriftUpstreamPool& pool) const {
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].pool == &pool) return entries_[i].upstream->HasRoom() ? entries_[i].upstream : nullptr;
    }
    return nullptr;
  }

  // `upstream` carries the batch's next calls to `pool`; the calls queued on the connection it
  // replaces (full, or evicted when the batch goes to many versions) go out now.
  void Remember(const ThriftUpstreamPool& pool, ThriftUpstreamConnection* upstream) {
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].pool == &pool) {
        entries_[i].upstream->Flush();
        entries_[i].upstream = upstream;
        return;
      }
    }
    if (count_ < kEntries) {
      entries_[count_++] = Entry{&pool, upstream};
      return;
    }
    Entry& evicted = entries_[kEntries - 1];
    evicted.upstream->Flush();
    evicted = Entry{&pool, upstream};
  }

  // The batch is complete: every connection it used writes its calls, in one write each.
  void FlushAll() {
    for (size_t i = 0; i < count_; ++i) entries_[i].upstream->Flush();
    count_ = 0;
  }

 private:
  struct Entry {
    const ThriftUpstreamPool* pool = nullptr;
    ThriftUpstreamConnection* upstream = nullptr;
  };
  static constexpr size_t kEntries = 4;
  std::array<Entry, kEntries> entries_{};
  size_t count_ = 0;
};

}  // namespace canarymesh::router
