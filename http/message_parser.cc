#include "http/message_parser.h"

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstring>
#include <limits>
#include <optional>

namespace canarymesh::http {
namespace {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;

constexpr size_t kMaxHeaderCount = 256;

std::string_view View(boost::beast::string_view s) { return std::string_view(s.data(), s.size()); }

// MessageHead::method_code is Beast's verb numbering one place down (verb::unknown is 0), the
// kMethod* constants of message_head.h. Methods Beast does not know are -1 (forwarded, never
// retried).
static_assert(static_cast<int>(beast_http::verb::delete_) - 1 == kMethodDelete);
static_assert(static_cast<int>(beast_http::verb::get) - 1 == kMethodGet);
static_assert(static_cast<int>(beast_http::verb::head) - 1 == kMethodHead);
static_assert(static_cast<int>(beast_http::verb::post) - 1 == kMethodPost);
static_assert(static_cast<int>(beast_http::verb::put) - 1 == kMethodPut);
static_assert(static_cast<int>(beast_http::verb::connect) - 1 == kMethodConnect);
static_assert(static_cast<int>(beast_http::verb::options) - 1 == kMethodOptions);
static_assert(static_cast<int>(beast_http::verb::trace) - 1 == kMethodTrace);
int MethodCode(beast_http::verb verb) {
  return verb == beast_http::verb::unknown ? -1 : static_cast<int>(verb) - 1;
}

const char* Describe(const error_code& ec) {
  if (ec.category() != beast_http::make_error_code(beast_http::error::need_more).category()) {
    return "malformed message";
  }
  switch (static_cast<beast_http::error>(ec.value())) {
    case beast_http::error::header_limit:
      return "header section too large";
    case beast_http::error::bad_line_ending:
      return "bad line ending (CR without LF)";
    case beast_http::error::bad_method:
      return "bad method";
    case beast_http::error::bad_target:
      return "bad request-target";
    case beast_http::error::bad_version:
      return "bad HTTP version";
    case beast_http::error::bad_status:
      return "bad status code";
    case beast_http::error::bad_reason:
      return "bad reason phrase";
    case beast_http::error::bad_field:
      return "bad header field name";
    case beast_http::error::bad_value:
      return "bad header field value";
    case beast_http::error::bad_content_length:
      return "bad or conflicting Content-Length";
    case beast_http::error::bad_transfer_encoding:
      return "bad or conflicting Transfer-Encoding";
    case beast_http::error::bad_chunk:
      return "bad chunk size or framing";
    case beast_http::error::bad_chunk_extension:
      return "bad chunk extension";
    case beast_http::error::bad_obs_fold:
      return "obsolete line folding";
    default:
      return "malformed message";
  }
}

bool Contains(const char* begin, const char* end, std::string_view part) {
  auto b = reinterpret_cast<uintptr_t>(begin), e = reinterpret_cast<uintptr_t>(end);
  auto p = reinterpret_cast<uintptr_t>(part.data());
  return p >= b && p <= e && part.size() <= e - p;
}

}  // namespace

// Beast's basic_parser for one message, its hooks forwarded to the MessageParser. The
// "callback failed" error code only stops Beast: the MessageParser has already recorded why.
template <bool kIsRequest>
class BeastMessageReader final : public beast_http::basic_parser<kIsRequest> {
 public:
  explicit BeastMessageReader(MessageParser* owner) : owner_(owner) {}

 private:
  static void Stop(error_code& ec) { ec = beast_http::error::bad_value; }

  void on_request_impl(beast_http::verb verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code& ec) override {
    version_ = version;
    if (!owner_->OnRequestLine(MethodCode(verb), View(method), View(target))) Stop(ec);
  }
  void on_response_impl(int status, boost::beast::string_view reason, int version,
                        error_code& ec) override {
    version_ = version;
    if (!owner_->OnStatusLine(status, View(reason))) Stop(ec);
  }
  void on_field_impl(beast_http::field field, boost::beast::string_view name,
                     boost::beast::string_view value, error_code& ec) override {
    if (field == beast_http::field::transfer_encoding) transfer_encoding_ = true;
    if (field == beast_http::field::upgrade) upgrade_header_ = true;
    if (!owner_->OnField(View(name), View(value))) Stop(ec);
  }
  void on_header_impl(error_code& ec) override {
    MessageParser::HeadFacts facts;
    facts.version = version_;
    facts.keep_alive = this->keep_alive();
    facts.chunked = this->chunked();
    auto length = this->content_length();
    facts.has_content_length = length.has_value();
    facts.content_length = length.value_or(0);
    facts.connection_upgrade = this->upgrade();
    facts.upgrade_header = upgrade_header_;
    facts.transfer_encoding = transfer_encoding_;
    if (!owner_->OnHeadComplete(facts)) Stop(ec);
  }
  void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
  size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    owner_->OnBodyBytes(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, error_code&) override {
    owner_->OnBodyBytes(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override { owner_->OnFinish(); }

  MessageParser* owner_;
  int version_ = 11;
  bool transfer_encoding_ = false;
  bool upgrade_header_ = false;
};

// Holds the Beast parser of the current message. A Beast parser reads one message, so each
// message gets a fresh one, constructed in place (no allocation).
class MessageParser::Engine {
 public:
  virtual ~Engine() = default;
  virtual void Start(MessageParser* owner, size_t header_limit, bool skip_body) = 0;
  virtual size_t Put(const char* data, size_t len, error_code& ec) = 0;
  virtual void PutEof(error_code& ec) = 0;
  virtual bool HeadDone() const = 0;
};

template <bool kIsRequest>
class BeastEngine final : public MessageParser::Engine {
 public:
  void Start(MessageParser* owner, size_t header_limit, bool skip_body) override {
    reader_.emplace(owner);
    reader_->eager(true);
    reader_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(header_limit, std::numeric_limits<uint32_t>::max())));
    // No body limit: bodies are streamed through, never held. Not boost::none, which Boost
    // 1.74 compares as smaller than any Content-Length ("body limit exceeded").
    reader_->body_limit(std::numeric_limits<uint64_t>::max());
    if (skip_body) reader_->skip(true);
  }
  size_t Put(const char* data, size_t len, error_code& ec) override {
    return reader_->put(boost::asio::const_buffer(data, len), ec);
  }
  void PutEof(error_code& ec) override { reader_->put_eof(ec); }
  bool HeadDone() const override { return reader_ && reader_->is_header_done(); }

 private:
  std::optional<BeastMessageReader<kIsRequest>> reader_;
};

MessageParser::MessageParser(Kind kind, MessageCallbacks* callbacks, size_t max_header_bytes)
    : kind_(kind), callbacks_(callbacks), max_header_bytes_(std::max<size_t>(max_header_bytes, 1)) {
  if (kind == Kind::kRequest) {
    engine_ = std::make_unique<BeastEngine<true>>();
  } else {
    engine_ = std::make_unique<BeastEngine<false>>();
  }
  arena_.reserve(1024);
  spans_.reserve(32);
  headers_.reserve(32);
  Reset();
}

MessageParser::~MessageParser() = default;

void MessageParser::Reset() {
  carry_.clear();
  arena_.clear();
  spans_.clear();
  started_ = need_more_ = chunked_body_ = in_body_ = in_message_ = paused_ = false;
  expect_no_body_ = false;
  error_ = ParseError::kNone;
  error_description_ = "";
}

void MessageParser::Fail(ParseError error, const char* description) {
  if (error_ != ParseError::kNone) return;  // the first cause is the one to report
  error_ = error;
  error_description_ = description;
}

bool MessageParser::Append(std::string_view bytes) {
  if (arena_.size() + bytes.size() > max_header_bytes_) {
    Fail(ParseError::kHeadersTooLarge, "header section too large");
    return false;
  }
  arena_.append(bytes);
  return true;
}

size_t MessageParser::Put(const char* data, size_t len) {
  // Beast asserts that a final chunk it asked more bytes for comes back at least 5 bytes long
  // (basic_parser.ipp, parse_chunk_header). Nothing in a chunked body completes the message in
  // fewer bytes, so holding such a short look costs nothing.
  if (started_ && need_more_ && chunked_body_ && len < 5) return 0;
  need_more_ = false;
  size_t skipped = 0;
  if (!started_) {
    // RFC 9112 2.2: empty lines before a message (after a body, say) are ignored.
    while (skipped < len && (data[skipped] == '\r' || data[skipped] == '\n')) ++skipped;
    if (skipped == len) return len;
    engine_->Start(this, max_header_bytes_, kind_ == Kind::kResponse && expect_no_body_);
    started_ = true;
    in_message_ = true;
    in_body_ = chunked_body_ = false;
    arena_.clear();
    spans_.clear();
  }
  input_begin_ = data + skipped;
  input_end_ = data + len;
  error_code ec;
  size_t n = engine_->Put(data + skipped, len - skipped, ec);
  input_begin_ = input_end_ = nullptr;
  if (ec == beast_http::error::need_more) {
    need_more_ = true;
  } else if (ec) {
    Fail(ec == beast_http::error::header_limit ? ParseError::kHeadersTooLarge
                                               : ParseError::kMalformed,
         Describe(ec));
  }
  return skipped + n;
}

void MessageParser::FailTooLong() {
  if (started_ && engine_->HeadDone()) {
    Fail(ParseError::kMalformed, "chunk line or trailer section too long");
  } else {
    Fail(ParseError::kHeadersTooLarge, "header section too large");
  }
}

size_t MessageParser::Execute(const char* data, size_t len) {
  if (paused_ || error_ != ParseError::kNone || len == 0) return 0;
  size_t used = 0;  // bytes of `data` consumed
  while (!carry_.empty()) {
    // Beast wants the element that starts the carry whole: add what fits and look again.
    if (used == len) return len;
    const size_t take = std::min(len - used, max_header_bytes_ - carry_.size());
    carry_.append(data + used, take);
    used += take;
    carry_.erase(0, Put(carry_.data(), carry_.size()));
    if (error_ != ParseError::kNone) {
      carry_.clear();
      return used;
    }
    if (paused_) {
      // The message ended inside the carry: hand back the bytes of `data` that follow it.
      const size_t give_back = std::min(carry_.size(), take);
      carry_.resize(carry_.size() - give_back);
      return used - give_back;
    }
    if (carry_.size() >= max_header_bytes_) {
      FailTooLong();
      return used;
    }
    if (used < len && carry_.size() <= take) {
      // Beast stopped inside `data`, which has more to give: go on there without copying.
      used -= carry_.size();
      carry_.clear();
    }
  }
  while (used < len) {
    const size_t n = Put(data + used, len - used);
    used += n;
    if (error_ != ParseError::kNone || paused_) return used;
    if (need_more_) {
      // An incomplete head, chunk line or trailer section ends this read. Beast refuses heads
      // over the limit itself; the other two are held to the same bound.
      if (len - used >= max_header_bytes_) {
        FailTooLong();
        return used;
      }
      carry_.assign(data + used, len - used);
      return len;
    }
    if (n == 0) break;  // not expected from an eager parser; never spin
  }
  return used;
}

bool MessageParser::ExecuteEof() {
  if (!in_message_ || paused_ || error_ != ParseError::kNone) return !in_message_;
  if (!carry_.empty() || !engine_->HeadDone()) return false;  // cut inside a head or chunk line
  error_code ec;
  engine_->PutEof(ec);  // completes a read-until-close body; framed bodies stay incomplete
  return !in_message_;
}

void MessageParser::Resume() { paused_ = false; }

bool MessageParser::OnRequestLine(int method_code, std::string_view method,
                                  std::string_view target) {
  method_code_ = method_code;
  status_ = 0;
  if (method_code >= 0) {
    // Beast's literal for a known method: no copy, and it outlives the read buffer.
    method_ = View(beast_http::to_string(static_cast<beast_http::verb>(method_code + 1)));
    method_begin_ = method_end_ = 0;
  } else {
    method_ = {};
    method_begin_ = static_cast<uint32_t>(arena_.size());
    if (!Append(method)) return false;
    method_end_ = static_cast<uint32_t>(arena_.size());
  }
  first_line_begin_ = static_cast<uint32_t>(arena_.size());
  if (!Append(target)) return false;
  first_line_end_ = static_cast<uint32_t>(arena_.size());
  return true;
}

bool MessageParser::OnStatusLine(int status, std::string_view reason) {
  method_code_ = -1;
  method_ = {};
  status_ = status;
  first_line_begin_ = static_cast<uint32_t>(arena_.size());
  if (!Append(reason)) return false;
  first_line_end_ = static_cast<uint32_t>(arena_.size());
  return true;
}

bool MessageParser::OnField(std::string_view name, std::string_view value) {
  if (in_body_) return true;  // trailer fields: dropped (the proxy re-frames bodies)
  // Beast unfolds obs-fold into a scratch buffer, or, when the first line of the value is
  // empty, takes the value from the next line. RFC 9112 5.2 lets a server reject either; a
  // proxy must, or it and the next hop may read different headers.
  const char* after_colon = name.data() + name.size() + 1;
  if (!Contains(input_begin_, input_end_, value) ||
      std::memchr(after_colon, '\n', static_cast<size_t>(value.data() - after_colon)) != nullptr) {
    Fail(ParseError::kMalformed, "obsolete line folding");
    return false;
  }
  if (spans_.size() >= kMaxHeaderCount) {
    Fail(ParseError::kHeadersTooLarge, "too many header fields");
    return false;
  }
  Span span;
  span.name_begin = static_cast<uint32_t>(arena_.size());
  if (!Append(name)) return false;
  span.name_end = span.value_begin = static_cast<uint32_t>(arena_.size());
  if (!Append(value)) return false;
  span.value_end = static_cast<uint32_t>(arena_.size());
  spans_.push_back(span);
  return true;
}

bool MessageParser::OnHeadComplete(const HeadFacts& facts) {
  // Framing Beast accepts but a proxy must not (RFC 9112 6.1, 6.3): a Transfer-Encoding beside a
  // Content-Length, and a request whose Transfer-Encoding does not end in chunked, are the
  // request-smuggling shapes where this proxy and the next hop could split messages differently.
  if (facts.transfer_encoding && facts.has_content_length) {
    Fail(ParseError::kMalformed, "both Transfer-Encoding and Content-Length");
    return false;
  }
  if (kind_ == Kind::kRequest && facts.transfer_encoding && !facts.chunked) {
    Fail(ParseError::kMalformed, "request Transfer-Encoding does not end in chunked");
    return false;
  }
  const char* a = arena_.data();
  headers_.clear();
  for (const Span& s : spans_) {
    headers_.push_back(Header{std::string_view(a + s.name_begin, s.name_end - s.name_begin),
                              std::string_view(a + s.value_begin, s.value_end - s.value_begin)});
  }
  MessageHead& h = head_;
  std::string_view first_line(a + first_line_begin_, first_line_end_ - first_line_begin_);
  if (kind_ == Kind::kRequest) {
    h.method = method_code_ >= 0 ? method_
                                 : std::string_view(a + method_begin_, method_end_ - method_begin_);
    h.method_code = method_code_;
    h.target = first_line;
    h.status = 0;
    h.reason = {};
  } else {
    h.method = {};
    h.method_code = 0;
    h.target = {};
    h.status = status_;
    h.reason = first_line;
  }
  h.version_major = facts.version / 10;
  h.version_minor = facts.version % 10;
  h.headers = headers_.data();
  h.header_count = headers_.size();
  h.keep_alive = facts.keep_alive;
  h.chunked = facts.chunked;
  h.has_content_length = facts.has_content_length;
  h.content_length = facts.content_length;
  // As http-parser had it: CONNECT, or "Connection: upgrade" with an Upgrade field on a request
  // or on a 101 answer.
  bool upgrade_asked = facts.connection_upgrade && facts.upgrade_header;
  h.upgrade = kind_ == Kind::kRequest
                  ? (upgrade_asked || method_code_ == MethodCode(beast_http::verb::connect))
                  : (upgrade_asked && status_ == 101);
  in_body_ = true;
  chunked_body_ = facts.chunked;
  callbacks_->OnHead(h);
  return true;
}

void MessageParser::OnFinish() {
  in_message_ = false;
  in_body_ = false;
  started_ = false;  // the next message gets a fresh Beast parser
  // A 1xx is not the answer: the final response to a HEAD still has no body.
  if (kind_ == Kind::kRequest || status_ / 100 != 1) expect_no_body_ = false;
  paused_ = true;
  callbacks_->OnMessageComplete();
}

}  // namespace canarymesh::http
