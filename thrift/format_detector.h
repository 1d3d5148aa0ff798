// Decides a connection's Thrift format from its first bytes: framed or unframed, binary strict,
// binary lax or compact, or THeader (0x0FFF magic after the length word). Returns kNeedMore
// until the prefix decides it; an input that fits none of them is an error. It never consumes:
// the caller keeps the bytes and parses them once the format is known.
// A pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "thrift/wire_format.h"

namespace canarymesh::thrift {

struct Detection {
  Progress progress = Progress::kNeedMore;
  WireFormat format;            // kDone. THeader: the first frame's protocol (each frame has one)
  size_t need = 0;              // kNeedMore: prefix length needed to go on (a lower bound)
  const char* error = nullptr;  // kError
};

// `prefix` is the start of the connection's byte stream; `max_name` bounds the method name a
// lax binary message may start with (lax has no magic, so its plausibility is all there is).
Detection DetectFormat(std::string_view prefix, size_t max_name = 4096);

}  // namespace canarymesh::thrift
