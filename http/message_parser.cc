#include "http/message_parser.h"

namespace canarymesh::http {
namespace {

constexpr size_t kMaxHeaderCount = 256;


MessageParser* Self(http_parser* p) { return static_cast<MessageParser*>(p->data); }

}  // namespace

MessageParser::MessageParser(Kind kind, MessageCallbacks* callbacks, size_t max_header_bytes)
    : kind_(kind), callbacks_(callbacks), max_header_bytes_(max_header_bytes) {
  arena_.reserve(1024);
  spans_.reserve(32);
  headers_.reserve(32);
  Reset();
}

void MessageParser::Reset() {
  http_parser_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE);
  parser_.data = this;
  arena_.clear();
  spans_.clear();
  in_body_ = in_message_ = paused_ = reading_value_ = false;
  expect_no_body_ = false;
  error_ = ParseError::kNone;
}

bool MessageParser::Append(const char* at, size_t len) {
  if (arena_.size() + len > max_header_bytes_) {
    error_ = ParseError::kHeadersTooLarge;
    return false;
  }
  arena_.append(at, len);
  return true;
}

size_t MessageParser::Execute(const char* data, size_t len) {
  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    s.on_message_begin = &MessageParser::OnMessageBeginThunk;
    s.on_url = &MessageParser::OnUrlThunk;
    s.on_status = &MessageParser::OnStatusThunk;
    s.on_header_field = &MessageParser::OnHeaderFieldThunk;
    s.on_header_value = &MessageParser::OnHeaderValueThunk;
    s.on_headers_complete = &MessageParser::OnHeadersCompleteThunk;
    s.on_body = &MessageParser::OnBodyThunk;
    s.on_message_complete = &MessageParser::OnMessageCompleteThunk;
    return s;
  }();
  if (paused_ || error_ != ParseError::kNone || len == 0) return 0;
  size_t n = http_parser_execute(&parser_, &settings, data, len);
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_OK || err == HPE_PAUSED) return n;
  if (error_ == ParseError::kNone) {
    error_ = err == HPE_HEADER_OVERFLOW ? ParseError::kHeadersTooLarge : ParseError::kMalformed;
  }
  return n;
}

bool MessageParser::ExecuteEof() {
  if (!in_message_ || paused_ || error_ != ParseError::kNone) return !in_message_;
  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    s.on_message_complete = &MessageParser::OnMessageCompleteThunk;
    return s;
  }();
  http_parser_execute(&parser_, &settings, nullptr, 0);
  return !in_message_;
}

void MessageParser::Resume() {
  if (!paused_) return;
  paused_ = false;
  http_parser_pause(&parser_, 0);
}

const char* MessageParser::ErrorDescription() const {
  if (error_ == ParseError::kHeadersTooLarge) return "header section too large";
  return http_errno_description(HTTP_PARSER_ERRNO(&parser_));
}

int MessageParser::OnMessageBeginThunk(http_parser* p) {
  MessageParser* self = Self(p);
  self->arena_.clear();
  self->spans_.clear();
  self->target_begin_ = self->target_end_ = 0;
  self->reading_value_ = false;
  self->in_body_ = false;
  self->in_message_ = true;
  return 0;
}

int MessageParser::OnUrlThunk(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (self->target_end_ == 0) self->target_begin_ = static_cast<uint32_t>(self->arena_.size());
  if (!self->Append(at, len)) return 1;
  self->target_end_ = static_cast<uint32_t>(self->arena_.size());
  return 0;
}

int MessageParser::OnStatusThunk(http_parser* p, const char* at, size_t len) {
  return OnUrlThunk(p, at, len);  // the reason phrase takes the target's place in a response
}

int MessageParser::OnHeaderFieldThunk(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (self->in_body_) return 0;  // trailer fields: dropped (the proxy re-frames bodies)
  if (self->spans_.empty() || self->reading_value_) {
    if (self->spans_.size() >= kMaxHeaderCount) {
      self->error_ = ParseError::kHeadersTooLarge;
      return 1;
    }
    uint32_t at_end = static_cast<uint32_t>(self->arena_.size());
    self->spans_.push_back(Span{at_end, at_end, at_end, at_end});
    self->reading_value_ = false;
  }
  if (!self->Append(at, len)) return 1;
  Span& span = self->spans_.back();
  span.name_end = span.value_begin = span.value_end = static_cast<uint32_t>(self->arena_.size());
  return 0;
}

int MessageParser::OnHeaderValueThunk(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (self->in_body_ || self->spans_.empty()) return 0;
  Span& span = self->spans_.back();
  if (!self->reading_value_) {
    span.value_begin = static_cast<uint32_t>(self->arena_.size());
    self->reading_value_ = true;
  }
  if (!self->Append(at, len)) return 1;
  self->spans_.back().value_end = static_cast<uint32_t>(self->arena_.size());
  return 0;
}

int MessageParser::OnHeadersCompleteThunk(http_parser* p) {
  MessageParser* self = Self(p);
  const std::string& a = self->arena_;
  self->headers_.clear();
  for (const Span& s : self->spans_) {
    self->headers_.push_back(Header{std::string_view(a.data() + s.name_begin, s.name_end - s.name_begin),
                                    std::string_view(a.data() + s.value_begin, s.value_end - s.value_begin)});
  }
  MessageHead& h = self->head_;
  std::string_view first_line(a.data() + self->target_begin_, self->target_end_ - self->target_begin_);
  if (self->kind_ == Kind::kRequest) {
    h.method = http_method_str(static_cast<http_method>(p->method));
    h.method_code = p->method;
    h.target = first_line;
    h.status = 0;
    h.reason = {};
  } else {
    h.method = {};
    h.target = {};
    h.status = static_cast<int>(p->status_code);
    h.reason = first_line;
  }
  h.version_major = p->http_major;
  h.version_minor = p->http_minor;
  h.headers = self->headers_.data();
  h.header_count = self->headers_.size();
  h.keep_alive = http_should_keep_alive(p) != 0;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENTLENGTH) != 0;
  h.content_length = h.has_content_length ? p->content_length : 0;
  h.upgrade = p->upgrade != 0;
  self->in_body_ = true;
  // RFC 9112 6.3: answers to HEAD and 1xx/204/304 responses end with their head, whatever
  // Content-Length says (a 304 may carry the length of the representation). http-parser alone
  // would wait for those bytes.
  int status = h.status;
  bool skip_body = self->kind_ == Kind::kResponse &&
                   (self->expect_no_body_ || status / 100 == 1 || status == 204 || status == 304);
  self->callbacks_->OnHead(h);
  return skip_body ? 1 : 0;
}

int MessageParser::OnBodyThunk(http_parser* p, const char* at, size_t len) {
  Self(p)->callbacks_->OnBody(at, len);
  return 0;
}

int MessageParser::OnMessageCompleteThunk(http_parser* p) {
  MessageParser* self = Self(p);
  self->in_message_ = false;
  self->in_body_ = false;
  // A 1xx is not the answer: the final response to a HEAD still has no body.
  if (self->kind_ == Kind::kRequest || p->status_code / 100 != 1) self->expect_no_body_ = false;
  self->paused_ = true;
  http_parser_pause(p, 1);
  self->callbacks_->OnMessageComplete();
  return 0;
}

}  // namespace canarymesh::http
