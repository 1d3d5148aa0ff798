// Reads single Thrift protocol tokens (a field header, a container header, a length prefix, a
// scalar) from the start of a byte window, for the binary and compact protocols. A token is
// either whole in the window (kDone, with its size), incomplete (kNeedMore, with how many
// contiguous bytes it needs from its start, a lower bound), or invalid (kError). Nothing is
// consumed: callers advance by `size` themselves, so a parse can stop between any two tokens
// and resume later. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "thrift/wire_format.h"

namespace canarymesh::thrift {

struct Token {
  Progress progress = Progress::kDone;
  size_t size = 0;              // kDone: bytes the token takes
  size_t need = 0;              // kNeedMore: contiguous bytes needed from the token start
  const char* error = nullptr;  // kError: a static description
};
inline Token TokenDone(size_t size) { return Token{Progress::kDone, size, 0, nullptr}; }
inline Token TokenNeed(size_t need) { return Token{Progress::kNeedMore, 0, need, nullptr}; }
inline Token TokenError(const char* why) { return Token{Progress::kError, 0, 0, why}; }

struct FieldHeader {
  FieldType type = FieldType::kStop;  // kStop: the end of the struct
  int16_t id = 0;
  bool value_in_header = false;  // compact bool fields: the value is the header itself
  bool bool_value = false;
};
// `last_id` is the previous field id of the same struct (compact encodes ids as deltas).
Token ReadFieldHeader(std::string_view in, Protocol protocol, int16_t last_id, FieldHeader* out);

struct ContainerHeader {
  FieldType key = FieldType::kStop;    // maps only
  FieldType value = FieldType::kStop;  // list/set element or map value
  uint32_t size = 0;                   // elements (pairs for maps)
};
Token ReadListHeader(std::string_view in, Protocol protocol, ContainerHeader* out);  // and sets
Token ReadMapHeader(std::string_view in, Protocol protocol, ContainerHeader* out);

// The length prefix of a string or binary value.
Token ReadLength(std::string_view in, Protocol protocol, uint32_t* length);

// A bool, byte, i16, i32, i64, double (its bits) or uuid (not decoded) value.
Token ReadScalar(std::string_view in, Protocol protocol, FieldType type, int64_t* value);

}  // namespace canarymesh::thrift
