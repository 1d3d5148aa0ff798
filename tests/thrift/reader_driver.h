// Test support: feeds a MessageReader the way a connection would — in chunks of chosen sizes,
// each in its own exact-size heap buffer so that ASan catches a view kept past Feed(), resuming
// after every message — and records what it reported. Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "thrift/message_reader.h"

namespace canarymesh::thrift::testing {

struct FeedOutcome {
  std::vector<MessageInfo> messages;
  bool failed = false;
  Status status;
  bool mid_message = false;  // at the end of the input
};

using ChunkSizes = std::function<size_t()>;
// Called after each message, before the reader is fed again (e.g. to switch TTwitter on).
using OnMessage = std::function<void(MessageReader&, const MessageInfo&)>;

FeedOutcome FeedInChunks(MessageReader& reader, std::string_view input, const ChunkSizes& sizes,
                         const OnMessage& on_message = nullptr);

ChunkSizes Whole();
ChunkSizes BytesOf(size_t n);
ChunkSizes RandomSizes(unsigned seed, size_t max);  // 1..max, deterministic per seed

}  // namespace canarymesh::thrift::testing
