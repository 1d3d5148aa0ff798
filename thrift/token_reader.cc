#include "thrift/token_reader.h"

#include <cstring>

#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

// Compact type codes (TCompactProtocol.tcc) mapped to the binary numbering; 0 = invalid.
uint8_t FromCompactType(uint8_t code) {
  static constexpr uint8_t kMap[14] = {0, 2, 2, 3, 6, 8, 10, 4, 11, 15, 14, 13, 12, 16};
  return code < 14 ? kMap[code] : 0;
}

// A varint token: `max` bytes at most. On kDone, *value holds it.
Token ReadVarintToken(std::string_view in, size_t max, uint64_t* value) {
  Varint v = ReadVarint(in, max);
  if (v.size == 0) return TokenNeed(in.size() + 1);
  if (v.size > max) return TokenError("varint too long");
  *value = v.value;
  return TokenDone(v.size);
}

Token ReadBinaryElementType(char c, FieldType* out) {
  auto t = static_cast<uint8_t>(c);
  if (!IsValueType(t)) return TokenError("invalid container element type");
  *out = static_cast<FieldType>(t);
  return TokenDone(1);
}

}  // namespace

Token ReadFieldHeader(std::string_view in, Protocol protocol, int16_t last_id, FieldHeader* out) {
  if (in.empty()) return TokenNeed(1);
  auto first = static_cast<uint8_t>(in[0]);
  *out = FieldHeader{};
  if (first == 0) return TokenDone(1);  // STOP in both protocols
  if (IsBinary(protocol)) {
    if (!IsValueType(first)) return TokenError("invalid field type");
    if (in.size() < 3) return TokenNeed(3);
    out->type = static_cast<FieldType>(first);
    out->id = static_cast<int16_t>(LoadBe16(in.data() + 1));
    return TokenDone(3);
  }
  uint8_t code = first & 0x0f;
  uint8_t type = FromCompactType(code);
  if (type == 0) return TokenError("invalid compact field type");
  out->type = static_cast<FieldType>(type);
  if (code == 1 || code == 2) {
    out->value_in_header = true;
    out->bool_value = code == 1;
  }
  uint8_t delta = first >> 4;
  if (delta != 0) {
    out->id = static_cast<int16_t>(last_id + delta);
    return TokenDone(1);
  }
  uint64_t zigzag = 0;
  Token t = ReadVarintToken(in.substr(1), kMaxVarint32, &zigzag);
  if (t.progress == Progress::kNeedMore) return TokenNeed(t.need + 1);
  if (t.progress == Progress::kError) return t;
  int64_t id = UnZigZag(zigzag);
  if (id < INT16_MIN || id > INT16_MAX) return TokenError("field id out of range");
  out->id = static_cast<int16_t>(id);
  return TokenDone(1 + t.size);
}

Token ReadListHeader(std::string_view in, Protocol protocol, ContainerHeader* out) {
  if (in.empty()) return TokenNeed(1);
  *out = ContainerHeader{};
  if (IsBinary(protocol)) {
    if (in.size() < 5) return TokenNeed(5);
    auto size = static_cast<int32_t>(LoadBe32(in.data() + 1));
    if (size < 0) return TokenError("negative container size");
    out->size = static_cast<uint32_t>(size);
    if (size == 0) return TokenDone(5);  // the element type of an empty list is not checked
    Token t = ReadBinaryElementType(in[0], &out->value);
    return t.progress == Progress::kDone ? TokenDone(5) : t;
  }
  auto first = static_cast<uint8_t>(in[0]);
  uint8_t type = FromCompactType(first & 0x0f);
  size_t used = 1;
  out->size = first >> 4;
  if (out->size == 15) {
    uint64_t size = 0;
    Token t = ReadVarintToken(in.substr(1), kMaxVarint32, &size);
    if (t.progress == Progress::kNeedMore) return TokenNeed(t.need + 1);
    if (t.progress == Progress::kError) return t;
    if (size > INT32_MAX) return TokenError("negative container size");
    out->size = static_cast<uint32_t>(size);
    used += t.size;
  }
  if (type == 0 && out->size > 0) return TokenError("invalid container element type");
  out->value = static_cast<FieldType>(type);
  return TokenDone(used);
}

Token ReadMapHeader(std::string_view in, Protocol protocol, ContainerHeader* out) {
  *out = ContainerHeader{};
  if (IsBinary(protocol)) {
    if (in.size() < 6) return TokenNeed(6);
    auto size = static_cast<int32_t>(LoadBe32(in.data() + 2));
    if (size < 0) return TokenError("negative container size");
    out->size = static_cast<uint32_t>(size);
    if (size == 0) return TokenDone(6);
    Token k = ReadBinaryElementType(in[0], &out->key);
    if (k.progress != Progress::kDone) return k;
    Token v = ReadBinaryElementType(in[1], &out->value);
    return v.progress == Progress::kDone ? TokenDone(6) : v;
  }
  uint64_t size = 0;
  Token t = ReadVarintToken(in, kMaxVarint32, &size);
  if (t.progress != Progress::kDone) return t;
  if (size > INT32_MAX) return TokenError("negative container size");
  out->size = static_cast<uint32_t>(size);
  if (size == 0) return TokenDone(t.size);  // an empty compact map has no type byte
  if (in.size() < t.size + 1) return TokenNeed(t.size + 1);
  auto types = static_cast<uint8_t>(in[t.size]);
  uint8_t key = FromCompactType(types >> 4), value = FromCompactType(types & 0x0f);
  if (key == 0 || value == 0) return TokenError("invalid map key or value type");
  out->key = static_cast<FieldType>(key);
  out->value = static_cast<FieldType>(value);
  return TokenDone(t.size + 1);
}

Token ReadLength(std::string_view in, Protocol protocol, uint32_t* length) {
  if (IsBinary(protocol)) {
    if (in.size() < 4) return TokenNeed(4);
    auto n = static_cast<int32_t>(LoadBe32(in.data()));
    if (n < 0) return TokenError("negative string length");
    *length = static_cast<uint32_t>(n);
    return TokenDone(4);
  }
  uint64_t n = 0;
  Token t = ReadVarintToken(in, kMaxVarint32, &n);
  if (t.progress != Progress::kDone) return t;
  if (n > INT32_MAX) return TokenError("negative string length");
  *length = static_cast<uint32_t>(n);
  return t;
}

Token ReadScalar(std::string_view in, Protocol protocol, FieldType type, int64_t* value) {
  size_t fixed = 0;
  switch (type) {
    case FieldType::kBool:
    case FieldType::kByte:
      fixed = 1;
      break;
    case FieldType::kDouble:
      fixed = 8;
      break;
    case FieldType::kUuid:
      fixed = 16;
      break;
    case FieldType::kI16:
      fixed = IsBinary(protocol) ? 2 : 0;
      break;
    case FieldType::kI32:
      fixed = IsBinary(protocol) ? 4 : 0;
      break;
    case FieldType::kI64:
      fixed = IsBinary(protocol) ? 8 : 0;
      break;
    default:
      return TokenError("not a scalar type");
  }
  if (fixed == 0) {  // compact zigzag varint
    uint64_t zigzag = 0;
    Token t = ReadVarintToken(in, type == FieldType::kI64 ? kMaxVarint64 : kMaxVarint32, &zigzag);
    if (t.progress == Progress::kDone) *value = UnZigZag(zigzag);
    return t;
  }
  if (in.size() < fixed) return TokenNeed(fixed);
  switch (fixed) {
    case 1:
      if (type == FieldType::kBool) {  // binary: non-zero is true; compact: 1 is true, 2 false
        *value = IsBinary(protocol) ? in[0] != 0 : in[0] == 1;
      } else {
        *value = static_cast<int8_t>(in[0]);
      }
      break;
    case 2:
      *value = static_cast<int16_t>(LoadBe16(in.data()));
      break;
    case 4:
      *value = static_cast<int32_t>(LoadBe32(in.data()));
      break;
    case 8:
      if (IsBinary(protocol)) {
        *value = static_cast<int64_t>(LoadBe64(in.data()));
      } else {  // compact doubles are little-endian
        uint64_t bits = 0;
        for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<unsigned char>(in[i]);
        *value = static_cast<int64_t>(bits);
      }
      break;
    default:
      *value = 0;
      break;  // uuid: skipped, not decoded
  }
  return TokenDone(fixed);
}

}  // namespace canarymesh::thrift
