// Appends Thrift protocol tokens to a string, in the binary (strict) or compact protocol: the
// encoding side of token_reader.h, for the few structs the codec writes itself
// (TApplicationException replies, TTwitter headers). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "thrift/wire_format.h"

namespace canarymesh::thrift {

// `last_id` is the previous field id in the same struct (compact deltas); it is updated.
void AppendFieldHeader(std::string& out, Protocol protocol, FieldType type, int16_t id,
                       int16_t* last_id);
void AppendFieldStop(std::string& out);
void AppendString(std::string& out, Protocol protocol, std::string_view value);
void AppendInt(std::string& out, Protocol protocol, FieldType type, int64_t value);  // i16/i32/i64
// A bool field, header included (compact folds the value into the header).
void AppendBoolField(std::string& out, Protocol protocol, int16_t id, bool value, int16_t* last_id);
void AppendListHeader(std::string& out, Protocol protocol, FieldType element, uint32_t size);

}  // namespace canarymesh::thrift
