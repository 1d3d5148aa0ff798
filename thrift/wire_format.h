// The vocabulary of Thrift on the wire: transports, protocols, message and field types, and the
// Progress of a resumable parse. Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace canarymesh::thrift {

// How messages are delimited on a connection.
enum class Transport : uint8_t {
  kUnframed,  // "buffered": messages back to back; a message ends where its struct ends
  kFramed,    // i32 big-endian length, then the message
  kHeader,    // THeader: i32 length, 0x0FFF magic, header section, then the message
};

// How a message is encoded. Inside THeader this is the frame's own protocol.
enum class Protocol : uint8_t {
  kBinaryStrict,  // i32 0x8001000t, name, seqid
  kBinaryLax,     // name, byte type, seqid (old clients)
  kCompact,       // 0x82, type<<5 | 1, varint seqid, name
};

struct WireFormat {
  Transport transport = Transport::kFramed;
  Protocol protocol = Protocol::kBinaryStrict;
  bool operator==(const WireFormat&) const = default;
};

enum class MessageType : uint8_t { kCall = 1, kReply = 2, kException = 3, kOneway = 4 };

// Field types, numbered as the binary protocol numbers them; compact's own codes map onto these.
enum class FieldType : uint8_t {
  kStop = 0,
  kBool = 2,
  kByte = 3,
  kDouble = 4,
  kI16 = 6,
  kI32 = 8,
  kI64 = 10,
  kString = 11,  // also binary
  kStruct = 12,
  kMap = 13,
  kSet = 14,
  kList = 15,
  kUuid = 16,
};

// The outcome of feeding bytes to a resumable parser.
enum class Progress : uint8_t {
  kNeedMore,  // nothing is wrong yet; more bytes are needed to go on
  kDone,      // the thing being parsed is complete
  kError,     // the input is not valid Thrift (or breaks a limit); the connection is unusable
};

bool IsBinary(Protocol protocol);
bool IsValueType(uint8_t binary_type);  // a type a field, element, key or value can have
std::string_view TransportName(Transport transport);
std::string_view ProtocolName(Protocol protocol);
std::string_view MessageTypeName(MessageType type);

}  // namespace canarymesh::thrift
