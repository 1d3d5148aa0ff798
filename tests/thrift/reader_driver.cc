#include "tests/thrift/reader_driver.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <random>

namespace canarymesh::thrift::testing {

FeedOutcome FeedInChunks(MessageReader& reader, std::string_view input, const ChunkSizes& sizes,
                         const OnMessage& on_message) {
  FeedOutcome out;
  for (size_t at = 0; at < input.size();) {
    size_t n = std::min(sizes(), input.size() - at);
    auto chunk = std::make_unique<char[]>(n);
    std::memcpy(chunk.get(), input.data() + at, n);
    std::string_view piece(chunk.get(), n);
    while (!piece.empty()) {
      MessageReader::FeedResult r = reader.Feed(piece);
      if (r.progress == Progress::kError) {
        out.failed = true;
        out.status = reader.status();
        return out;
      }
      if (r.progress == Progress::kNeedMore) break;
      out.messages.push_back(reader.message());
      if (on_message) on_message(reader, reader.message());
      piece.remove_prefix(r.consumed);
    }
    at += n;
  }
  out.mid_message = reader.MidMessage();
  return out;
}

ChunkSizes Whole() {
  return [] { return std::numeric_limits<size_t>::max(); };
}

ChunkSizes BytesOf(size_t n) {
  return [n] { return n; };
}

ChunkSizes RandomSizes(unsigned seed, size_t max) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng, max] { return std::uniform_int_distribution<size_t>(1, max)(*rng); };
}

}  // namespace canarymesh::thrift::testing
