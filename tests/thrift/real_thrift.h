// Test support: writes and reads Thrift messages with the real Apache Thrift C++ library (0.17,
// code generated from test.thrift and ttwitter.thrift), so the codec is checked against the
// bytes real clients and servers exchange, in every transport and protocol. Not thread-safe.
#pragma once

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TProtocol.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "Echo.h"
#include "test_types.h"
#include "thrift/wire_format.h"
#include "ttwitter_types.h"

namespace canarymesh::thrift::testing {

using apache::thrift::protocol::TProtocol;
using Writer = std::function<void(TProtocol&)>;
using Reader = std::function<void(TProtocol&)>;
using HeaderMap = std::map<std::string, std::string>;

// Every format the real library writes (it has no lax binary inside THeader).
std::vector<WireFormat> AllFormats();
std::string FormatName(const WireFormat& format);

// One message, written by `write` in `format` and flushed; a THeader frame carries `headers`.
std::string Encode(const WireFormat& format, const Writer& write, const HeaderMap& headers = {});

// Messages of the Echo service (head, body, end).
Writer EchoCall(int32_t seqid, const std::string& s);
Writer EchoReply(int32_t seqid, const std::string& s);
Writer EchoOops(int32_t seqid, const std::string& why);  // declared exception, field 1
Writer EchoGone(int32_t seqid);                          // declared exception, field 2
Writer NothingReply(int32_t seqid);                      // void success: an empty result
Writer PingOneway(int32_t seqid, int32_t x);
Writer MirrorCall(int32_t seqid);           // a Blob nesting every type
Writer TreeCall(int32_t seqid, int depth);  // Nodes nested `depth` deep
Writer AppException(const std::string& name, int32_t seqid,
                    apache::thrift::TApplicationException::TApplicationExceptionType type,
                    const std::string& message);
// TTwitter: the struct that precedes a message after the upgrade, then the message.
Writer WithStruct(const std::function<void(TProtocol&)>& header, const Writer& message);
Writer UpgradeCall();  // as finagle's client sends it: ConnectionOptions {} with seqid 0

cmtest::Blob RichBlob();
cmtest::ttwitter::RequestHeader FullRequestHeader();
cmtest::ttwitter::ResponseHeader SomeResponseHeader();

struct ReadBack {
  std::string name;
  apache::thrift::protocol::TMessageType type = apache::thrift::protocol::T_CALL;
  int32_t seqid = 0;
  HeaderMap headers;        // THeader info headers
  int32_t frame_seqid = 0;  // THeader: the frame's own seqid
  size_t unread = 0;        // bytes left in the input after the message
};
// Reads one message from `bytes`: `prefix` (a TTwitter header, if any), the head, then `body`.
// Throws what the library throws on bad input.
ReadBack Decode(const WireFormat& format, const std::string& bytes, const Reader& body,
                const Reader& prefix = nullptr);

}  // namespace canarymesh::thrift::testing
