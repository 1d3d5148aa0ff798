// One direction of a Thrift connection as whole messages: the socket's bytes land in buffer(),
// the resumable thrift::MessageReader finds where each message ends, and Next() hands out a view
// of exactly that message's bytes until Pop(). Bytes are fed to the reader once; the buffer keeps
// them until the message is popped, so nothing is copied on the way. Not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "router/byte_buffer.h"
#include "thrift/message_reader.h"

namespace canarymesh::router {

class ThriftMessageStream {
 public:
  explicit ThriftMessageStream(thrift::ReaderOptions options) : reader_(options) {}
  ThriftMessageStream(const ThriftMessageStream&) = delete;
  ThriftMessageStream& operator=(const ThriftMessageStream&) = delete;

  ByteBuffer& buffer() { return buffer_; }
  thrift::MessageReader& reader() { return reader_; }

  // kDone: *message is the next complete message (reader().message() describes it), valid until
  // Pop() or the next read into buffer(). kNeedMore: wait for bytes. kError: reader().status().
  thrift::Progress Next(std::string_view* message) {
    if (fed_ < buffer_.size()) {
      auto fed = reader_.Feed(std::string_view(buffer_.data() + fed_, buffer_.size() - fed_));
      fed_ += fed.consumed;
      if (fed.progress != thrift::Progress::kDone) return fed.progress;
    } else {
      return thrift::Progress::kNeedMore;
    }
    const thrift::MessageInfo& info = reader_.message();
    *message = std::string_view(buffer_.data() + (info.begin - base_), info.size);
    popped_end_ = info.begin + info.size - base_;
    return thrift::Progress::kDone;
  }

  // Drops the message Next() returned from the buffer.
  void Pop() {
    buffer_.Consume(popped_end_);
    base_ += popped_end_;
    fed_ -= popped_end_;
    popped_end_ = 0;
  }

  // Bytes of an unfinished message are buffered: EOF now truncates it.
  bool MidMessage() const { return reader_.MidMessage(); }

 private:
  thrift::MessageReader reader_;
  ByteBuffer buffer_;
  uint64_t base_ = 0;      // stream offset of buffer_.data()
  size_t fed_ = 0;         // buffered bytes the reader has taken
  size_t popped_end_ = 0;  // end of the message Next() returned, from buffer_.data()
};

}  // namespace canarymesh::router
