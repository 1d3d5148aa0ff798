// THeader framing (apache/thrift doc/specs/HeaderFormat.md, read as the C++ THeaderTransport
// reads and writes it): the fixed part and header section of a frame, parsed from a window and
// re-encoded. Transforms (zlib, snappy, ...) are reported as errors, never guessed at.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "thrift/token_reader.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

// INFO_KEYVALUE headers in wire order.
using InfoHeaders = std::vector<std::pair<std::string, std::string>>;

// length(4) magic(2) flags(2) seqid(4) header-words(2); the header section follows.
inline constexpr size_t kTHeaderFixedSize = 14;
inline constexpr size_t kTHeaderSeqIdOffset = 8;
inline constexpr size_t kTHeaderWordsOffset = 12;
// The C++ library rejects header sections of 16384 words or more.
inline constexpr size_t kTHeaderMaxWords = 16383;

struct THeaderFrame {
  uint32_t length = 0;  // the frame length word: bytes after it
  uint16_t flags = 0;
  int32_t seqid = 0;
  size_t section_size = 0;                 // header words * 4
  Protocol protocol = Protocol::kCompact;  // kBinaryStrict stands for binary; kCompact
  InfoHeaders headers;
  bool unknown_info = false;  // an info block of unknown id stopped the reading, as in C++
};

// Parses the fixed part and the whole header section from `in`, which starts at the length
// word; on kDone the token's size is kTHeaderFixedSize + section_size.
Token ReadTHeaderFrame(std::string_view in, THeaderFrame* out);

// The header section for `protocol` and `headers`: protocol id, no transforms, one
// INFO_KEYVALUE block (if any headers), zero padding to a multiple of 4.
Result<std::string> EncodeTHeaderSection(Protocol protocol, const InfoHeaders& headers);

// Appends a whole THeader frame: fixed part, `section` (from EncodeTHeaderSection), `payload`.
Status AppendTHeaderFrame(std::string& out, uint16_t flags, int32_t seqid, std::string_view section,
                          std::string_view payload);

}  // namespace canarymesh::thrift
