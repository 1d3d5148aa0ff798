// One client connection on a Thrift listener: reads whole calls with the resumable Thrift reader
// (format detected per connection: framed/buffered, binary strict/lax, compact, THeader, TTwitter
// after its upgrade), routes each to a version and instance of the listener's service, sends it
// on a shared upstream connection and writes the replies back in the client's framing and in the
// order the calls came (clients may pipeline; replies that overtake wait). Calls go through
// ThriftCallPath; the client keeps one upstream connection per version (ThriftClientUpstreams):
// calls read together go out in one write, as through a TCP proxy, and later calls join them
// while the server is working through them, but take another connection when an earlier one is
// stuck. Failures are answered with a TApplicationException; unreadable input closes this
// connection only, counted by reason. Worker-thread only.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "core/config.h"
#include "router/byte_buffer.h"
#include "router/connection.h"
#include "router/reused_ring.h"
#include "router/socket_ops.h"
#include "router/thrift_call_path.h"
#include "router/thrift_caller.h"
#include "router/thrift_client_upstreams.h"
#include "router/thrift_counters.h"
#include "router/thrift_message_stream.h"
#include "router/worker.h"
#include "thrift/reframe.h"

namespace canarymesh::router {

class ThriftConnections;
class ThriftUpstreamConnection;
class ThriftUpstreamPool;

class ThriftDownstreamConnection : public ThriftCaller,
                                   public ConnectionCallbacks,
                                   public DeferredDeletable {
 public:
  ThriftDownstreamConnection(Worker& worker, ThriftConnections& connections,
                             const ListenerConfig& listener, int fd, const sockaddr* peer);
  ~ThriftDownstreamConnection() override;
  ThriftDownstreamConnection(const ThriftDownstreamConnection&) = delete;
  ThriftDownstreamConnection& operator=(const ThriftDownstreamConnection&) = delete;

  void Start();
  // The worker drains: no new calls; close once the outstanding ones are answered.
  void Drain();
  void Close();
  std::list<std::unique_ptr<ThriftDownstreamConnection>>::iterator self;  // position in the owner

  // ThriftCaller
  void OnThriftReply(uint64_t call_id, std::string_view message,
                     thrift::MessageInfo& info) override;
  void OnThriftCallFailed(uint64_t call_id, const thrift::ApplicationException& why) override;

 private:
  // A call waiting for its reply, or a reply waiting for the calls before it to be answered.
  struct Outstanding {
    uint64_t call_id = 0;
    // kAwaitingReply (sent; `upstream` owes the reply) -> kAnswered (the reply, a
    // TApplicationException or the proxy's own answer is ready) -> delivered in call order
    // (DeliverAnswered pops it). Calls the proxy answers itself start kAnswered.
    enum class Phase : uint8_t { kAwaitingReply, kAnswered };
    Phase phase = Phase::kAwaitingReply;
    bool answered() const { return phase == Phase::kAnswered; }
    std::string reply;
    ThriftUpstreamConnection* upstream = nullptr;  // while the upstream owes the reply
    int32_t upstream_seqid = 0;
    int32_t client_seqid = 0;
    thrift::FrameSpec client;  // how this call came, so how it is answered
    uint16_t theader_flags = 0;
    std::string method;  // for a TApplicationException reply; its buffer is reused with the slot
  };
  // Replies kept out of order larger than this give their buffer back once delivered.
  static constexpr size_t kKeptReplyCapacity = 64 * 1024;
  static constexpr size_t kMaxOutstanding = 256;  // calls in flight per client before reading stops

  // ConnectionCallbacks
  void OnReadable() override;
  void OnWritable() override;
  void OnTimer() override;
  void ProcessInput();
  void OnCall(std::string_view message, thrift::MessageInfo& info);
  // Answers the call just read with a TApplicationException (in order with the others).
  void AnswerLocally(const thrift::MessageInfo& call, thrift::AppExceptionType type,
                     const std::string& why);
  // A fresh entry at the back of outstanding_, reusing a slot's buffers.
  Outstanding& AddOutstanding();
  // A call forwarded (or about to be) gets a TApplicationException instead of its reply.
  void AnswerWithException(Outstanding& o, const thrift::ApplicationException& why);
  Outstanding* Find(uint64_t call_id);
  void DeliverAnswered();
  void ScheduleFlush();
  void UpdateInterest();
  void ProtocolError(ThriftProtocolError reason, const std::string& detail);

  Worker& worker_;
  ThriftConnections& connections_;
  const ListenerConfig& listener_;
  const size_t listener_index_;
  const ServiceConfig* const service_config_;  // the listener's service; null if not configured
  ThriftUpstreamSpecCache upstream_spec_;      // the last call's upstream framing
  Connection socket_;
  std::string peer_;  // "ip:port" for logs
  char peer_ip_[64];  // for sticky_client_ip
  bool peer_eof_ = false;
  bool draining_ = false;
  bool processing_ = false;
  enum class Timer : uint8_t { kNone, kIdle, kPartial } timer_ = Timer::kNone;  // what is armed
  bool idle_ = false;           // no call outstanding, no message begun
  uint64_t idle_since_us_ = 0;  // SteadyMicros when it last became idle
  ThriftMessageStream in_;
  ByteBuffer out_;
  ReusedRing<Outstanding> outstanding_;
  ThriftClientUpstreams upstreams_;  // where this client's calls go, per pool
  uint64_t batch_read_us_ = 0;       // SteadyMicros when the current batch was taken
  uint64_t next_call_id_ = 1;
  bool saw_message_ = false;
};

}  // namespace canarymesh::router
