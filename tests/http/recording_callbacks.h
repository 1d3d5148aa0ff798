// Test support for http::MessageParser: copies every event into plain values (the parser's
// views die with the next message) and feeds input the way a connection does, resuming after
// each pause. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message_parser.h"

namespace canarymesh::http {

struct RecordedMessage {
  std::string method;
  std::string target;
  int status = 0;
  std::string reason;
  int version_major = 0;
  int version_minor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool upgrade = false;
  std::string body;
  bool complete = false;

  bool operator==(const RecordedMessage&) const = default;
};

class RecordingCallbacks : public MessageCallbacks {
 public:
  void OnHead(const MessageHead& head) override {
    RecordedMessage m;
    m.method = std::string(head.method);
    m.target = std::string(head.target);
    m.status = head.status;
    m.reason = std::string(head.reason);
    m.version_major = head.version_major;
    m.version_minor = head.version_minor;
    for (size_t i = 0; i < head.header_count; ++i) {
      m.headers.emplace_back(std::string(head.headers[i].name), std::string(head.headers[i].value));
    }
    m.keep_alive = head.keep_alive;
    m.chunked = head.chunked;
    m.has_content_length = head.has_content_length;
    m.content_length = head.content_length;
    m.upgrade = head.upgrade;
    messages.push_back(std::move(m));
  }
  void OnBody(const char* data, size_t len) override {
    if (messages.empty()) {
      body_without_head = true;
      return;
    }
    messages.back().body.append(data, len);
  }
  void OnMessageComplete() override {
    if (messages.empty()) {
      body_without_head = true;
      return;
    }
    messages.back().complete = true;
  }

  std::vector<RecordedMessage> messages;
  bool body_without_head = false;
};

// Feeds `data` in pieces ending at each of `cuts` (ascending offsets), then the rest, resuming
// the parser whenever it pauses, as DownstreamConnection does. Stops at the first error.
// Returns the number of bytes consumed.
inline size_t FeedInPieces(MessageParser& parser, std::string_view data,
                           const std::vector<size_t>& cuts) {
  size_t consumed_total = 0;
  size_t piece_begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(data.size());
  std::string pending;  // bytes handed over but not consumed (the parser paused mid-piece)
  for (size_t end : ends) {
    pending.append(data.substr(piece_begin, end - piece_begin));
    piece_begin = end;
    while (!pending.empty()) {
      if (parser.paused()) parser.Resume();
      size_t n = parser.Execute(pending.data(), pending.size());
      consumed_total += n;
      pending.erase(0, n);
      if (parser.error() != ParseError::kNone) return consumed_total;
      if (n == 0 && !parser.paused()) break;
    }
  }
  return consumed_total;
}

inline size_t FeedAll(MessageParser& parser, std::string_view data) {
  return FeedInPieces(parser, data, {});
}

}  // namespace canarymesh::http
