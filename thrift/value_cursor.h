// Reads Thrift values in order from a complete, bounded buffer — for the small structs the
// codec decodes whole (TTwitter headers, TApplicationException). Unlike the streaming reader it
// does not resume: running out of bytes is an error ("truncated"). Unknown fields are skipped with
// StructSkipper, so nesting stays off the call stack.
// Not thread-safe: one cursor per decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "thrift/struct_skipper.h"
#include "thrift/token_reader.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

class ValueCursor {
 public:
  ValueCursor(std::string_view in, Protocol protocol, size_t max_depth = 64);
  ValueCursor(const ValueCursor&) = delete;
  ValueCursor& operator=(const ValueCursor&) = delete;

  // Field headers of the struct being read; a nested struct saves and restores the previous
  // field id (compact deltas) with EnterStruct()/ExitStruct().
  bool ReadFieldHeader(FieldHeader* out);
  int16_t EnterStruct();
  void ExitStruct(int16_t saved);

  bool ReadString(std::string* out, size_t max_size);
  bool ReadInt(FieldType type, int64_t* out);          // byte, i16, i32, i64
  bool ReadBool(const FieldHeader& field, bool* out);  // a bool field (compact: in its header)
  bool ReadListHeader(ContainerHeader* out);
  bool Skip(FieldType type);
  bool SkipField(const FieldHeader& field);  // the value of a field just read

  size_t pos() const { return pos_; }
  const char* error() const { return error_; }

 private:
  bool Take(const Token& t);

  std::string_view in_;
  Protocol protocol_;
  size_t max_depth_;
  size_t pos_ = 0;
  int16_t last_id_ = 0;
  const char* error_ = nullptr;
};

}  // namespace canarymesh::thrift
