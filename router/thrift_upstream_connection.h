// One connection from a worker to a Thrift upstream instance, shared by many calls at once: each
// call gets a fresh upstream seqid, and the reply with that seqid goes back to whoever made the
// call (a ThriftCaller) under its own seqid. Replies may come in any order. A call not answered
// within timeouts.request_ms gets a TApplicationException and its late reply is dropped; a reset
// or an unreadable reply fails every call outstanding on the connection. TTwitter upstreams are
// upgraded on connect (calls wait until the server agrees). Worker-thread only.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "router/byte_buffer.h"
#include "router/connection.h"
#include "router/socket_ops.h"
#include "router/thrift_caller.h"
#include "router/thrift_message_stream.h"
#include "router/thrift_upstream_link.h"
#include "router/worker.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftUpstreamPool;

class ThriftUpstreamConnection : public ConnectionCallbacks, public DeferredDeletable {
 public:
  ThriftUpstreamConnection(Worker& worker, ThriftUpstreamPool& pool, size_t max_frame_bytes);
  ~ThriftUpstreamConnection() override;
  ThriftUpstreamConnection(const ThriftUpstreamConnection&) = delete;
  ThriftUpstreamConnection& operator=(const ThriftUpstreamConnection&) = delete;

  // Starts connecting; 0 or an errno for an immediate failure.
  int Connect();
  // Another call fits: its seqid's slot is free.
  bool HasRoom() const { return socket_.open() && !slots_[next_seqid_ & kSlotMask].used; }
  size_t pending() const { return pending_count_; }
  // Calls that timed out but whose replies may still come: the server is busy with them, so
  // the connection is not handed out as idle until they are answered.
  size_t abandoned() const { return abandoned_count_; }
  bool closed() const { return !socket_.open(); }
  // New calls queued here would not wait behind a stuck one: nothing is outstanding, or a reply
  // came after the oldest outstanding call was sent (the server is working through them), and
  // no timed-out call still occupies the server.
  bool MakingProgress();
  const ThriftUpstreamPool& pool() const { return pool_; }

  // Forwards a call (`message` as the client's reader read it, described by `info`). `caller`
  // null: a oneway call, nothing comes back. The bytes go out when the loop next turns, batched
  // with others. On error nothing was queued.
  Status Send(std::string_view message, thrift::MessageInfo& info, const ThriftCallContext& context,
              ThriftCaller* caller, uint64_t call_id, int32_t* upstream_seqid);
  // Writes what Send queued now, if the socket is ready (a caller that batches its calls, see
  // ThriftCallContext::caller_flushes). A write error is reported from the write event, not from
  // here, so the caller is not called back in the middle of its batch.
  void Flush();
  // The caller of `seqid` went away: its reply, if it comes, is dropped.
  void Orphan(int32_t seqid, uint64_t call_id);
  // Closes the socket and events without telling the callers (the pool is being destroyed, or
  // the connection is failed or removed); every ThriftUpstreamLink holding it lets go.
  void CloseSocket();

  bool in_idle_list = false;                                            // owned by the pool
  std::list<std::unique_ptr<ThriftUpstreamConnection>>::iterator self;  // position in the pool

 private:
  struct Slot {
    bool used = false;
    bool abandoned = false;  // timed out; the reply is dropped when it comes
    int32_t seqid = 0;
    ThriftCaller* caller = nullptr;
    uint64_t call_id = 0;
    uint32_t stats_key = 0;
    uint64_t start_us = 0;  // client call arrived: latency
    uint64_t sent_us = 0;   // queued for the upstream: timeout
  };
  static constexpr size_t kSlots = 1024;  // calls in flight on one connection, at most
  static constexpr size_t kSlotMask = kSlots - 1;
  enum class Upgrade : uint8_t { kNone, kSent, kDone };
  // kCheck: connected; the timer fires by the next deadline (the oldest call's timeout, or the
  // end of the idle period) and may fire earlier: it is left armed when a connection turns busy
  // or idle rather than moved on every call, and re-armed when it fires too soon.
  enum class Timer : uint8_t { kNone, kConnect, kCheck };

  // ConnectionCallbacks
  void OnReadable() override;
  void OnWritable() override;
  void OnTimer() override;
  // `now_us`: when the bytes were read (one clock reading serves every reply of a read).
  void OnMessage(std::string_view message, thrift::MessageInfo& info, uint64_t now_us);
  void Finish(const Slot& slot, bool error, uint64_t now_us);
  void ExpireOldCalls(uint64_t now_us);
  // The oldest call still owed a reply (not abandoned), or null when none is.
  Slot* OldestOutstanding();
  uint64_t RequestTimeoutUs() const;
  uint64_t IdleTimeoutUs() const;
  // Arms the timer for exactly the next deadline.
  void ArmTimer(uint64_t now_us);
  // A deadline `due` (microseconds, a `common` timeout from now) appeared: arms the timer for it
  // unless the armed timer fires no later.
  void EnsureTimerBy(uint64_t due_us, const timeval* common);
  // The connection is unusable: every outstanding call fails with `why`, the pool drops it.
  void Fail(const std::string& why, bool instance_failure);

  Worker& worker_;
  ThriftUpstreamPool& pool_;
  const thrift::FrameSpec spec_;
  Connection socket_;
  bool connected_ = false;
  Timer timer_ = Timer::kNone;
  uint64_t timer_due_us_ = 0;   // kCheck: when it fires (SteadyMicros)
  uint64_t idle_since_us_ = 0;  // when the last outstanding call was answered
  uint64_t last_reply_us_ = 0;  // when the last reply to an outstanding call was read
  Upgrade upgrade_ = Upgrade::kNone;
  ThriftMessageStream in_;
  ByteBuffer out_;
  std::string held_;  // calls framed for TTwitter, waiting for the upgrade's answer
  std::vector<Slot> slots_;
  friend class ThriftUpstreamLink;
  ThriftUpstreamLink* links_ = nullptr;  // the holders, cleared by CloseSocket
  size_t pending_count_ = 0;             // used and not abandoned
  size_t abandoned_count_ = 0;
  int32_t next_seqid_ = 1;
  int32_t oldest_seqid_ = 1;  // no call older than this is outstanding
};

}  // namespace canarymesh::router
