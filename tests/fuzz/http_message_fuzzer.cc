// Fuzzes http::MessageParser as a connection would drive it: requests when
// CANARYMESH_FUZZ_RESPONSES is 0, responses when 1. The input is fed in two reads split at a point
// derived from the data (the second sometimes a byte at a time), each read in its own exact-size
// heap buffer so that ASan catches a view kept past Execute(); after each complete message the
// parser pauses and is resumed for the pipelined rest. Checks the parser's contract, not only
// that it does not crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "http/message_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace canarymesh::http {
namespace {

constexpr bool kResponses = CANARYMESH_FUZZ_RESPONSES != 0;
constexpr size_t kHeaderLimits[] = {64, 1024, 8 * 1024, 64 * 1024};
constexpr size_t kMaxHeaderCount = 256;  // the parser's own limit (message_parser.cc)
constexpr size_t kTrickleBytes = 4096;

// Reads every byte, so that ASan reports a view into freed or foreign memory.
void Touch(std::string_view bytes) {
  if (bytes.empty()) return;
  auto copy = std::make_unique<char[]>(bytes.size());
  std::memcpy(copy.get(), bytes.data(), bytes.size());
}

void TouchHead(const MessageHead& head) {
  Touch(head.method);
  Touch(head.target);
  Touch(head.reason);
  for (size_t i = 0; i < head.header_count; ++i) {
    Touch(head.headers[i].name);
    Touch(head.headers[i].value);
  }
}

class Recorder : public MessageCallbacks {
 public:
  void OnHead(const MessageHead& head) override {
    FUZZ_CHECK(heads_ == completes_);  // one head per message
    ++heads_;
    head_ = head;
    body_bytes_ = 0;
    FUZZ_CHECK(head.header_count <= kMaxHeaderCount);
    FUZZ_CHECK(head.header_count == 0 || head.headers != nullptr);
    if (!kResponses) FUZZ_CHECK(!head.method.empty());
    TouchHead(head);
  }
  void OnBody(const char* data, size_t len) override {
    FUZZ_CHECK(heads_ == completes_ + 1);  // inside a message, after its head
    Touch(std::string_view(data, len));
    body_bytes_ += len;
  }
  void OnMessageComplete() override {
    FUZZ_CHECK(heads_ == completes_ + 1);
    ++completes_;
    // The head's views stay valid until the next message starts.
    TouchHead(head_);
    if (head_.has_content_length && !head_.chunked && !head_.upgrade) {
      // A request body is exactly Content-Length bytes; a response's may be skipped (HEAD,
      // 204, 304) but never longer.
      if (kResponses) {
        FUZZ_CHECK(body_bytes_ <= head_.content_length);
      } else {
        FUZZ_CHECK(body_bytes_ == head_.content_length);
      }
    }
  }
  uint64_t completes() const { return completes_; }
  // The parser was Reset(): forget the message it was in.
  void Restart() { heads_ = completes_ = body_bytes_ = 0; }

 private:
  uint64_t heads_ = 0;
  uint64_t completes_ = 0;
  uint64_t body_bytes_ = 0;
  MessageHead head_;
};

uint64_t Fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// How the connection treats the parser, chosen from the data.
struct Driving {
  uint64_t no_body_bits = 0;         // responses: bit i set = message i answers a HEAD
  uint64_t stop_after = UINT64_MAX;  // hang up while paused after this many messages
};

// One read from the socket. Returns false once the parser has failed or the connection stops.
bool Feed(MessageParser& parser, Recorder& recorder, const uint8_t* data, size_t size,
          const Driving& driving) {
  // An exact-size copy that dies when this read is done, like a connection's read buffer.
  auto buffer = std::make_unique<char[]>(std::max<size_t>(size, 1));
  std::memcpy(buffer.get(), data, size);
  size_t offset = 0;
  while (offset < size) {
    if (kResponses && !parser.InMessage()) {
      // As if some requests were HEAD: set before the response's head is parsed.
      parser.ExpectNoBody(((driving.no_body_bits >> (recorder.completes() % 64)) & 1) != 0);
    }
    const uint64_t completes_before = recorder.completes();
    const size_t remaining = size - offset;
    const size_t n = parser.Execute(buffer.get() + offset, remaining);
    FUZZ_CHECK(n <= remaining);
    if (parser.error() != ParseError::kNone) {
      FUZZ_CHECK(parser.ErrorDescription() != nullptr);
      FUZZ_CHECK(parser.Execute(buffer.get() + offset, remaining) == 0);  // stays failed
      return false;
    }
    if (parser.paused()) {
      // Paused only by a message that just completed, after consuming its last byte.
      FUZZ_CHECK(recorder.completes() == completes_before + 1);
      FUZZ_CHECK(n > 0);
      FUZZ_CHECK(!parser.InMessage());
      FUZZ_CHECK(parser.Execute(buffer.get() + offset + n, remaining - n) == 0);
      if (recorder.completes() == driving.stop_after) return false;  // left paused
      parser.Resume();
      FUZZ_CHECK(!parser.paused());
    } else {
      FUZZ_CHECK(n == remaining);  // all of it, unless paused or failed
      FUZZ_CHECK(recorder.completes() == completes_before);
    }
    offset += n;
  }
  return true;
}

// After Reset() the parser must work like a new one, whatever state the input left it in.
void CheckResetRecovers(MessageParser& parser, Recorder& recorder) {
  static constexpr std::string_view kRequest = "GET /after-reset HTTP/1.1\r\nHost: a\r\n\r\n";
  static constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const std::string_view message = kResponses ? kResponse : kRequest;
  parser.Reset();
  recorder.Restart();
  FUZZ_CHECK(!parser.paused() && !parser.InMessage() && parser.error() == ParseError::kNone);
  const bool ok = Feed(parser, recorder, reinterpret_cast<const uint8_t*>(message.data()),
                       message.size(), Driving{});
  FUZZ_CHECK(ok);
  FUZZ_CHECK(recorder.completes() == 1);
}

}  // namespace
}  // namespace canarymesh::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canarymesh::http;
  const uint64_t h = Fnv1a(data, size);
  const size_t split = static_cast<size_t>(h % (size + 1));
  const bool trickle = ((h >> 40) & 1) != 0;  // the second read a byte at a time
  const size_t max_header_bytes = kHeaderLimits[(h >> 41) & 3];
  Driving driving;
  if (kResponses) driving.no_body_bits = (h >> 43) * 0x9e3779b97f4a7c15ull;
  if (((h >> 50) & 3) == 0) driving.stop_after = 1 + ((h >> 52) & 3);

  Recorder recorder;
  MessageParser parser(kResponses ? MessageParser::Kind::kResponse : MessageParser::Kind::kRequest,
                       &recorder, max_header_bytes);
  bool ok = Feed(parser, recorder, data, split, driving);
  size_t offset = split;
  if (trickle) {
    // Bounded so that large inputs still run fast; the head is what splits matter for.
    for (const size_t end = std::min(size, split + kTrickleBytes); ok && offset < end; ++offset) {
      ok = Feed(parser, recorder, data + offset, 1, driving);
    }
  }
  if (ok) ok = Feed(parser, recorder, data + offset, size - offset, driving);
  if (ok) {
    const bool complete = parser.ExecuteEof();
    FUZZ_CHECK(complete == !parser.InMessage());
  }
  CheckResetRecovers(parser, recorder);
  return 0;
}
