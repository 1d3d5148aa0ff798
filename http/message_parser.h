// A streaming HTTP/1.1 message parser: bytes in through Execute(), events out through
// MessageCallbacks. It wraps Node's http-parser (Debian's libhttp-parser), which is a
// resumable state machine that never allocates; this class adds a reusable header arena so that
// header fields split across reads arrive as whole views, a header-size limit, and a pause after
// each complete message so that pipelined requests are handled one at a time.
// Not thread-safe: one parser per connection, used on that connection's worker thread.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <vector>

#include "http/message_head.h"

namespace canarymesh::http {

class MessageCallbacks {
 public:
  virtual ~MessageCallbacks() = default;
  // Start line and headers are complete. `head` is valid until the next message starts.
  virtual void OnHead(const MessageHead& head) = 0;
  // Decoded body bytes (chunk framing removed). Valid only during the call.
  virtual void OnBody(const char* data, size_t len) = 0;
  // The message is complete; the parser is now paused until Resume().
  virtual void OnMessageComplete() = 0;
};

enum class ParseError {
  kNone = 0,
  kHeadersTooLarge,  // answer 431
  kMalformed,        // answer 400 (or drop an upstream as 502)
};

class MessageParser {
 public:
  enum class Kind { kRequest, kResponse };

  MessageParser(Kind kind, MessageCallbacks* callbacks, size_t max_header_bytes);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Feeds bytes. Returns how many were consumed: all of them, or fewer when a message completed
  // (the parser pauses; call Resume() before feeding the rest) or on error (see error()).
  size_t Execute(const char* data, size_t len);
  // Tells the parser the peer closed; completes a read-until-close response body.
  // Returns false if the close cut a message short.
  bool ExecuteEof();

  void Resume();
  // Expect no body in the next response (answer to HEAD). Call before its head is parsed.
  void ExpectNoBody(bool value) { expect_no_body_ = value; }
  // True between the first byte of a message and its completion.
  bool InMessage() const { return in_message_; }
  bool paused() const { return paused_; }
  ParseError error() const { return error_; }
  const char* ErrorDescription() const;
  // Forget all state: a fresh parser for a new connection.
  void Reset();

 private:
  static int OnMessageBeginThunk(http_parser* p);
  static int OnUrlThunk(http_parser* p, const char* at, size_t len);
  static int OnStatusThunk(http_parser* p, const char* at, size_t len);
  static int OnHeaderFieldThunk(http_parser* p, const char* at, size_t len);
  static int OnHeaderValueThunk(http_parser* p, const char* at, size_t len);
  static int OnHeadersCompleteThunk(http_parser* p);
  static int OnBodyThunk(http_parser* p, const char* at, size_t len);
  static int OnMessageCompleteThunk(http_parser* p);

  bool Append(const char* at, size_t len);  // into the arena, enforcing the size limit

  // A header is kept as offsets into arena_ while it is being read, since the arena may grow.
  struct Span {
    uint32_t name_begin, name_end, value_begin, value_end;
  };

  http_parser parser_;
  Kind kind_;
  MessageCallbacks* callbacks_;
  size_t max_header_bytes_;
  std::string arena_;          // start line pieces and header bytes, reused across messages
  std::vector<Span> spans_;    // reused across messages
  std::vector<Header> headers_;
  uint32_t target_begin_ = 0, target_end_ = 0;
  bool reading_value_ = false;
  bool in_body_ = false;
  bool in_message_ = false;
  bool paused_ = false;
  bool expect_no_body_ = false;
  ParseError error_ = ParseError::kNone;
  MessageHead head_;
};

}  // namespace canarymesh::http
