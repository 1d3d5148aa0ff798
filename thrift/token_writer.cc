#include "thrift/token_writer.h"

#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

uint8_t CompactType(FieldType type) {
  switch (type) {
    case FieldType::kBool:
      return 1;
    case FieldType::kByte:
      return 3;
    case FieldType::kI16:
      return 4;
    case FieldType::kI32:
      return 5;
    case FieldType::kI64:
      return 6;
    case FieldType::kDouble:
      return 7;
    case FieldType::kString:
      return 8;
    case FieldType::kList:
      return 9;
    case FieldType::kSet:
      return 10;
    case FieldType::kMap:
      return 11;
    case FieldType::kStruct:
      return 12;
    case FieldType::kUuid:
      return 13;
    case FieldType::kStop:
      return 0;
  }
  return 0;
}

void AppendCompactFieldHeader(std::string& out, uint8_t compact_type, int16_t id,
                              int16_t* last_id) {
  int delta = id - *last_id;
  if (delta > 0 && delta <= 15) {
    out.push_back(static_cast<char>((delta << 4) | compact_type));
  } else {
    out.push_back(static_cast<char>(compact_type));
    AppendVarint(out, ZigZag(id));
  }
  *last_id = id;
}

}  // namespace

void AppendFieldHeader(std::string& out, Protocol protocol, FieldType type, int16_t id,
                       int16_t* last_id) {
  if (!IsBinary(protocol)) return AppendCompactFieldHeader(out, CompactType(type), id, last_id);
  out.push_back(static_cast<char>(type));
  AppendBe16(out, static_cast<uint16_t>(id));
  *last_id = id;
}

void AppendFieldStop(std::string& out) { out.push_back('\0'); }

void AppendString(std::string& out, Protocol protocol, std::string_view value) {
  if (IsBinary(protocol)) {
    AppendBe32(out, static_cast<uint32_t>(value.size()));
  } else {
    AppendVarint(out, value.size());
  }
  out.append(value);
}

void AppendInt(std::string& out, Protocol protocol, FieldType type, int64_t value) {
  if (!IsBinary(protocol)) return AppendVarint(out, ZigZag(value));
  switch (type) {
    case FieldType::kI16:
      AppendBe16(out, static_cast<uint16_t>(value));
      break;
    case FieldType::kI32:
      AppendBe32(out, static_cast<uint32_t>(value));
      break;
    default:
      AppendBe64(out, static_cast<uint64_t>(value));
      break;
  }
}

void AppendBoolField(std::string& out, Protocol protocol, int16_t id, bool value,
                     int16_t* last_id) {
  if (!IsBinary(protocol)) return AppendCompactFieldHeader(out, value ? 1 : 2, id, last_id);
  AppendFieldHeader(out, protocol, FieldType::kBool, id, last_id);
  out.push_back(value ? '\1' : '\0');
}

void AppendListHeader(std::string& out, Protocol protocol, FieldType element, uint32_t size) {
  if (IsBinary(protocol)) {
    out.push_back(static_cast<char>(element));
    AppendBe32(out, size);
    return;
  }
  uint8_t type = CompactType(element);
  if (size < 15) {
    out.push_back(static_cast<char>((size << 4) | type));
  } else {
    out.push_back(static_cast<char>(0xf0 | type));
    AppendVarint(out, size);
  }
}

}  // namespace canarymesh::thrift
