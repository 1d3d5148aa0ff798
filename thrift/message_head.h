// The head of a Thrift message — name, type, seqid — in the binary (strict and lax) and compact
// protocols: parsing it from the start of a window (a Token: whole, need more, or invalid) and
// encoding it. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "thrift/token_reader.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

struct MessageHead {
  std::string_view name;  // points into the parsed window
  MessageType type = MessageType::kCall;
  int32_t seqid = 0;
  size_t seqid_offset = 0;  // where the seqid sits, from the start of the head
  size_t seqid_size = 0;    // 4, or 1..5 for compact's varint
};

// Parses the head at the start of `in`. A name longer than `max_name` is an error.
Token ReadMessageHead(std::string_view in, Protocol protocol, size_t max_name, MessageHead* out);

void AppendMessageHead(std::string& out, Protocol protocol, std::string_view name, MessageType type,
                       int32_t seqid);

}  // namespace canarymesh::thrift
