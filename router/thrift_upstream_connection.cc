#include "router/thrift_upstream_connection.h"

#include <errno.h>

#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "router/thrift_forward.h"
#include "router/thrift_upstream_pool.h"
#include "thrift/reply_encoder.h"
#include "thrift/ttwitter.h"

namespace canarymesh::router {
namespace {

int32_t NextSeqId(int32_t seqid) { return seqid == INT32_MAX ? 1 : seqid + 1; }

}  // namespace

uint64_t ThriftUpstreamConnection::RequestTimeoutUs() const {
  return uint64_t{worker_.config().timeouts.request_ms} * 1000;
}
uint64_t ThriftUpstreamConnection::IdleTimeoutUs() const {
  return uint64_t{worker_.config().timeouts.upstream_idle_ms} * 1000;
}

namespace {

thrift::ReaderOptions UpstreamReaderOptions(const thrift::FrameSpec& spec, size_t max_frame_bytes) {
  // The format is detected from the first reply rather than assumed: a server may answer a lax
  // binary call in strict binary.
  (void)spec;
  thrift::ReaderOptions options;
  options.max_frame_size = max_frame_bytes;
  return options;
}

}  // namespace

ThriftUpstreamConnection::ThriftUpstreamConnection(Worker& worker, ThriftUpstreamPool& pool,
                                                   size_t max_frame_bytes)
    : worker_(worker),
      pool_(pool),
      spec_(pool.spec()),
      socket_(worker.base(), *this),
      in_(UpstreamReaderOptions(pool.spec(), max_frame_bytes)),
      slots_(kSlots) {}

ThriftUpstreamConnection::~ThriftUpstreamConnection() { CloseSocket(); }

int ThriftUpstreamConnection::Connect() {
  RouterCounters::Bump(worker_.mutable_counters().upstream_connections_total);
  int error_number = socket_.Connect(pool_.instance()->address());
  if (error_number != 0) return error_number;
  timer_ = Timer::kConnect;
  socket_.ArmTimer(worker_.connect_timeout());
  if (spec_.ttwitter) {
    // Finagle's handshake first; calls wait in held_ until the server agrees.
    std::string upgrade = thrift::EncodeTTwitterUpgradeCall(spec_.format.transport, 0);
    out_.Append(upgrade);
    upgrade_ = Upgrade::kSent;
  }
  return 0;
}

void ThriftUpstreamConnection::CloseSocket() {
  socket_.Close();
  while (links_ != nullptr) links_->Reset();
}

void ThriftUpstreamLink::Reset(ThriftUpstreamConnection* upstream) {
  if (upstream == upstream_) return;
  if (upstream_ != nullptr) {  // unlink
    if (prev_ != nullptr) {
      prev_->next_ = next_;
    } else {
      upstream_->links_ = next_;
    }
    if (next_ != nullptr) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
  }
  upstream_ = upstream;
  if (upstream_ != nullptr && !upstream_->closed()) {  // link at the head
    next_ = upstream_->links_;
    if (next_ != nullptr) next_->prev_ = this;
    upstream_->links_ = this;
  } else {
    upstream_ = nullptr;
  }
}

Status ThriftUpstreamConnection::Send(std::string_view message, thrift::MessageInfo& info,
                                      const ThriftCallContext& context, ThriftCaller* caller,
                                      uint64_t call_id, int32_t* upstream_seqid) {
  if (!HasRoom()) return Status::Unavailable("upstream connection full");
  const int32_t seqid = next_seqid_;
  thrift::ReframeRequest request;
  request.target = spec_;
  request.seqid = seqid;
  request.carry_key = context.carry_key;
  request.carry_value = context.carry_value;
  std::string minimal_header;
  if (spec_.ttwitter && info.ttwitter_header_size == 0) {
    FastRandom& rng = worker_.rng();
    minimal_header = thrift::EncodeMinimalRequestHeader(static_cast<int64_t>(rng.Next() >> 1),
                                                        static_cast<int64_t>(rng.Next() >> 1));
    request.ttwitter_header = minimal_header;
  }
  if (upgrade_ == Upgrade::kSent) {
    const size_t held_before = held_.size();
    if (Status s = thrift::Reframe(message, info, request, &held_); !s.ok()) {
      held_.resize(held_before);
      return s;
    }
  } else if (Status s = AppendReframed(message, info, request, worker_.scratch(), out_); !s.ok()) {
    return s;
  }
  next_seqid_ = NextSeqId(seqid);
  *upstream_seqid = seqid;
  const uint64_t now_us = context.now_us != 0 ? context.now_us : SteadyMicros();
  if (caller == nullptr) {
    // Oneway: written is all that will ever be known of it.
    worker_.recorder().Record(context.stats_key, false, now_us - context.start_us,
                              static_cast<int64_t>(now_us / 1000));
  } else {
    Slot& slot = slots_[seqid & kSlotMask];
    slot = Slot{true, false, seqid, caller, call_id, context.stats_key, context.start_us, now_us};
    const bool was_idle = pending_count_++ == 0;
    if (was_idle) oldest_seqid_ = seqid;
    pool_.CallStarted();
    // This call is the oldest when the connection was idle: its deadline is a whole request
    // timeout away (the worker's shared timeout queue, no heap insertion).
    if (was_idle) EnsureTimerBy(now_us + RequestTimeoutUs(), worker_.request_timeout());
  }
  if (!context.caller_flushes) socket_.ScheduleFlush();
  return Status::Ok();
}

void ThriftUpstreamConnection::Flush() {
  // Connecting (write armed) or already due to flush: that write event sends these bytes too.
  if (!socket_.open() || !connected_ || socket_.write_due() || out_.empty()) return;
  if (socket_.Flush(out_) == Connection::FlushResult::kError) {
    socket_.ScheduleFlush();  // OnWritable meets the error again and fails the connection
  }
}

void ThriftUpstreamConnection::Orphan(int32_t seqid, uint64_t call_id) {
  Slot& slot = slots_[seqid & kSlotMask];
  if (slot.used && slot.seqid == seqid && slot.call_id == call_id) slot.caller = nullptr;
}

// ---- events ----

// Runs when the socket takes bytes again, and at the end of a loop turn in which calls were
// queued (Connection::ScheduleFlush): every call queued meanwhile goes in one write.
void ThriftUpstreamConnection::OnWritable() {
  if (!connected_) {
    int err = socket_.ConnectError();
    if (err == EINPROGRESS) {
      socket_.ArmWrite();
      return;
    }
    if (err != 0) {
      RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
      Fail(std::string("upstream connect error: ") + std::strerror(err), true);
      return;
    }
    connected_ = true;
    socket_.WantRead(true);
    idle_since_us_ = SteadyMicros();
    ArmTimer(idle_since_us_);
  }
  if (socket_.Flush(out_) == Connection::FlushResult::kError) {
    Fail(std::string("upstream write error: ") + std::strerror(errno), true);
  }
}

void ThriftUpstreamConnection::OnReadable() {
  ssize_t n = socket_.Read(in_.buffer());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    Fail(std::string("upstream reset: ") + std::strerror(errno), true);
    return;
  }
  if (n == 0) {
    if (pending_count_ == 0 && upgrade_ != Upgrade::kSent) {
      pool_.Remove(this);  // an idle connection the server closed
    } else {
      Fail("upstream closed the connection before replying", true);
    }
    return;
  }
  const uint64_t now_us = SteadyMicros();
  std::string_view message;
  while (socket_.open()) {
    thrift::Progress p = in_.Next(&message);
    if (p == thrift::Progress::kNeedMore) break;
    if (p == thrift::Progress::kError) {
      Fail("unreadable reply from upstream: " + in_.reader().status().message(), true);
      return;
    }
    OnMessage(message, in_.reader().mutable_message(), now_us);
    if (!socket_.open()) return;
    in_.Pop();
  }
}

void ThriftUpstreamConnection::OnMessage(std::string_view message, thrift::MessageInfo& info,
                                         uint64_t now_us) {
  if (upgrade_ == Upgrade::kSent) {
    if (!info.ttwitter_upgrade || info.seqid != 0) {
      Fail("upstream answered before the TTwitter upgrade", true);
      return;
    }
    if (info.type != thrift::MessageType::kReply) {
      Fail("upstream does not speak TTwitter (it refused the upgrade)", true);
      return;
    }
    upgrade_ = Upgrade::kDone;
    in_.reader().ExpectTTwitterHeaders(thrift::TTwitterHeaders::kResponse);
    out_.Append(held_);
    held_.clear();
    held_.shrink_to_fit();
    socket_.ScheduleFlush();
    return;
  }
  if (info.type != thrift::MessageType::kReply && info.type != thrift::MessageType::kException) {
    Fail("upstream sent a " + std::string(thrift::MessageTypeName(info.type)) +
             " message, not a reply",
         true);
    return;
  }
  Slot& stored = slots_[info.seqid & kSlotMask];
  if (!stored.used || stored.seqid != info.seqid) {
    LOG_DEBUG << "thrift: dropping reply with unknown seqid " << info.seqid << " from "
              << pool_.instance()->label();
    return;
  }
  if (stored.abandoned) {
    // The call timed out and was answered already: the server is free again.
    stored = Slot{};
    --abandoned_count_;
    pool_.Update(this);
    return;
  }
  Slot slot = stored;
  stored.used = false;
  last_reply_us_ = now_us;
  pool_.instance()->RecordSuccess();
  Finish(slot, info.reply == thrift::ReplyStatus::kApplicationException, now_us);
  if (slot.caller) slot.caller->OnThriftReply(slot.call_id, message, info);
  pool_.Update(this);
}

void ThriftUpstreamConnection::Finish(const Slot& slot, bool error, uint64_t now_us) {
  --pending_count_;
  pool_.CallFinished();
  worker_.recorder().Record(slot.stats_key, error, now_us - slot.start_us,
                            static_cast<int64_t>(now_us / 1000));
  if (pending_count_ == 0) {
    idle_since_us_ = now_us;
    EnsureTimerBy(now_us + IdleTimeoutUs(), worker_.upstream_idle_timeout());
  }
}

ThriftUpstreamConnection::Slot* ThriftUpstreamConnection::OldestOutstanding() {
  if (pending_count_ == 0) return nullptr;
  while (true) {  // oldest_seqid_ only ever moves forward, past answered and abandoned calls
    Slot& s = slots_[oldest_seqid_ & kSlotMask];
    if (s.used && !s.abandoned && s.seqid == oldest_seqid_) return &s;
    oldest_seqid_ = NextSeqId(oldest_seqid_);
  }
}

bool ThriftUpstreamConnection::MakingProgress() {
  if (abandoned_count_ > 0) return false;
  const Slot* oldest = OldestOutstanding();
  return oldest == nullptr || oldest->sent_us <= last_reply_us_;
}

// ---- timers ----

void ThriftUpstreamConnection::ArmTimer(uint64_t now_us) {
  if (!socket_.open() || !connected_) return;  // closed, or the connect timer runs
  const Slot* oldest = OldestOutstanding();
  const uint64_t due_us =
      oldest ? oldest->sent_us + RequestTimeoutUs() : idle_since_us_ + IdleTimeoutUs();
  uint64_t wait_us = due_us > now_us ? due_us - now_us : 0;
  timeval tv{static_cast<time_t>(wait_us / 1000000), static_cast<suseconds_t>(wait_us % 1000000)};
  timer_ = Timer::kCheck;
  timer_due_us_ = now_us + wait_us;
  socket_.ArmTimer(&tv);
}

void ThriftUpstreamConnection::EnsureTimerBy(uint64_t due_us, const timeval* common) {
  if (!socket_.open() || !connected_) return;
  if (timer_ == Timer::kCheck && timer_due_us_ <= due_us) return;
  timer_ = Timer::kCheck;
  timer_due_us_ = due_us;
  socket_.ArmTimer(common);
}

void ThriftUpstreamConnection::OnTimer() {
  Timer which = timer_;
  timer_ = Timer::kNone;
  switch (which) {
    case Timer::kConnect:
      if (!connected_) {
        RouterCounters::Bump(worker_.mutable_counters().upstream_connect_failures_total);
        Fail("upstream connect timeout: " + pool_.instance()->label(), true);
      }
      return;
    case Timer::kCheck: {
      const uint64_t now_us = SteadyMicros();
      if (pending_count_ > 0) {
        ExpireOldCalls(now_us);
      } else if (now_us >= idle_since_us_ + IdleTimeoutUs()) {
        pool_.Remove(this);
      } else {
        ArmTimer(now_us);  // fired for a deadline that has moved on
      }
      return;
    }
    case Timer::kNone:
      return;
  }
}

void ThriftUpstreamConnection::ExpireOldCalls(uint64_t now_us) {
  const uint64_t limit_us = RequestTimeoutUs();
  bool expired = false;
  while (Slot* s = OldestOutstanding()) {
    if (s->sent_us + limit_us > now_us) break;
    Slot slot = *s;
    s->abandoned = true;  // the next OldestOutstanding() moves past it
    s->caller = nullptr;
    ++abandoned_count_;
    expired = true;
    Finish(slot, true, now_us);
    if (slot.caller) {
      thrift::ApplicationException why{
          thrift::AppExceptionType::kInternalError,
          "canarymesh: upstream timeout: no reply from " + pool_.instance()->label() + " within " +
              std::to_string(worker_.config().timeouts.request_ms) + " ms"};
      slot.caller->OnThriftCallFailed(slot.call_id, why);
    }
  }
  if (expired && pool_.instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
    RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
  }
  ArmTimer(now_us);
  pool_.Update(this);
}

void ThriftUpstreamConnection::Fail(const std::string& why, bool instance_failure) {
  if (!socket_.open()) return;
  CloseSocket();
  if (instance_failure &&
      pool_.instance()->RecordFailure(SteadyMillis(), worker_.config().outlier)) {
    RouterCounters::Bump(worker_.mutable_counters().outlier_ejections_total);
    LOG_WARN << "ejected thrift upstream " << pool_.instance()->label() << " after failures";
  }
  if (pending_count_ > 0) {
    LOG_WARN << "thrift upstream " << pool_.instance()->label() << ": " << why << " ("
             << pending_count_ << " call(s) failed)";
  }
  thrift::ApplicationException error{thrift::AppExceptionType::kInternalError,
                                     "canarymesh: " + why};
  const uint64_t now_us = SteadyMicros();
  for (Slot& s : slots_) {
    if (!s.used) continue;
    Slot slot = s;
    s = Slot{};
    if (slot.abandoned) continue;
    Finish(slot, true, now_us);
    if (slot.caller) slot.caller->OnThriftCallFailed(slot.call_id, error);
  }
  pool_.Remove(this);
}

}  // namespace canarymesh::router
