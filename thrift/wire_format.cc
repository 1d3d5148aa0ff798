#include "thrift/wire_format.h"

namespace canarymesh::thrift {

bool IsBinary(Protocol protocol) { return protocol != Protocol::kCompact; }

bool IsValueType(uint8_t t) {
  switch (static_cast<FieldType>(t)) {
    case FieldType::kBool:
    case FieldType::kByte:
    case FieldType::kDouble:
    case FieldType::kI16:
    case FieldType::kI32:
    case FieldType::kI64:
    case FieldType::kString:
    case FieldType::kStruct:
    case FieldType::kMap:
    case FieldType::kSet:
    case FieldType::kList:
    case FieldType::kUuid:
      return true;
    case FieldType::kStop:
      return false;
  }
  return false;
}

std::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kUnframed:
      return "unframed";
    case Transport::kFramed:
      return "framed";
    case Transport::kHeader:
      return "theader";
  }
  return "?";
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kBinaryStrict:
      return "binary";
    case Protocol::kBinaryLax:
      return "binary-lax";
    case Protocol::kCompact:
      return "compact";
  }
  return "?";
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kCall:
      return "call";
    case MessageType::kReply:
      return "reply";
    case MessageType::kException:
      return "exception";
    case MessageType::kOneway:
      return "oneway";
  }
  return "?";
}

}  // namespace canarymesh::thrift
