#include "http/head_writer.h"

#include <array>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <ostream>  // before Beast: boost/io/ostream_put.hpp (1.74) uses it undeclared

namespace canarymesh::http {
namespace {

// Header names listed in a Connection header are hop-by-hop too (RFC 9110 7.6.1).
struct ConnectionTokens {
  std::array<std::string_view, 16> names;
  size_t count = 0;

  explicit ConnectionTokens(const MessageHead& head) {
    for (size_t i = 0; i < head.header_count; ++i) {
      if (!EqualsIgnoreCase(head.headers[i].name, "connection")) continue;
      std::string_view v = head.headers[i].value;
      while (!v.empty() && count < names.size()) {
        size_t comma = v.find(',');
        std::string_view token = v.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
          token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
          token.remove_suffix(1);
        if (!token.empty()) names[count++] = token;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
  }
  bool Contains(std::string_view name) const {
    for (size_t i = 0; i < count; ++i) {
      if (EqualsIgnoreCase(names[i], name)) return true;
    }
    return false;
  }
};

void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ", 2);
  out->append(value);
  out->append("\r\n", 2);
}

}  // namespace

bool IsHopByHop(std::string_view name) {
  switch (name.size()) {
    case 2:
      return EqualsIgnoreCase(name, "te");
    case 7:
      return EqualsIgnoreCase(name, "upgrade") || EqualsIgnoreCase(name, "trailer");
    case 10:
      return EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive");
    case 16:
      return EqualsIgnoreCase(name, "proxy-connection");
    case 17:
      return EqualsIgnoreCase(name, "transfer-encoding");
    default:
      return false;
  }
}

void WriteRequestHead(const MessageHead& in, const RequestRewrite& rewrite, std::string* out) {
  ConnectionTokens listed(in);
  out->append(in.method);
  out->push_back(' ');
  out->append(in.target);
  out->append(" HTTP/1.1\r\n", 11);
  std::string_view prior_xff;
  bool saw_host = false;
  for (size_t i = 0; i < in.header_count; ++i) {
    const Header& h = in.headers[i];
    if (IsHopByHop(h.name) || (listed.count && listed.Contains(h.name))) continue;
    if (!rewrite.drop_header.empty() && EqualsIgnoreCase(h.name, rewrite.drop_header)) continue;
    if (EqualsIgnoreCase(h.name, "x-forwarded-for")) {
      // Several X-Forwarded-For lines are merged into one list (RFC 9110 5.3); keep the last
      // one's text and fold earlier ones in front of it.
      if (!prior_xff.empty()) {
        out->append("X-Forwarded-For: ");
        out->append(prior_xff);
        out->append("\r\n");
      }
      prior_xff = h.value;
      continue;
    }
    if (!saw_host && EqualsIgnoreCase(h.name, "host")) saw_host = true;
    AppendHeader(out, h.name, h.value);
  }
  out->append("X-Forwarded-For: ");
  if (!prior_xff.empty()) {
    out->append(prior_xff);
    out->append(", ");
  }
  out->append(rewrite.client_ip);
  out->append("\r\n");
  if (in.chunked) out->append("Transfer-Encoding: chunked\r\n");
  out->append("\r\n", 2);
}

BodyFraming ChooseResponseFraming(const MessageHead& response, bool request_was_head,
                                  bool client_http11) {
  int s = response.status;
  if (request_was_head || (s >= 100 && s < 200) || s == 204 || s == 304) return BodyFraming::kNone;
  if (response.has_content_length && !response.chunked) return BodyFraming::kContentLength;
  return client_http11 ? BodyFraming::kChunked : BodyFraming::kUntilClose;
}

void WriteResponseHead(const MessageHead& in, BodyFraming framing, bool close, bool client_http11,
                       std::string* out) {
  ConnectionTokens listed(in);
  out->append(client_http11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  char code[8];
  auto [end, ec] = std::to_chars(code, code + sizeof(code), in.status);
  (void)ec;
  out->append(code, static_cast<size_t>(end - code));
  out->push_back(' ');
  if (in.reason.empty()) {
    boost::beast::string_view reason =
        boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(in.status));
    out->append(reason.data(), reason.size());
  } else {
    out->append(in.reason);
  }
  out->append("\r\n", 2);
  for (size_t i = 0; i < in.header_count; ++i) {
    const Header& h = in.headers[i];
    if (IsHopByHop(h.name) || (listed.count && listed.Contains(h.name))) continue;
    if (framing != BodyFraming::kContentLength && framing != BodyFraming::kNone &&
        EqualsIgnoreCase(h.name, "content-length")) {
      continue;
    }
    AppendHeader(out, h.name, h.value);
  }
  if (framing == BodyFraming::kChunked) out->append("Transfer-Encoding: chunked\r\n");
  if (close || framing == BodyFraming::kUntilClose) {
    out->append("Connection: close\r\n");
  } else if (!client_http11) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n", 2);
}

void WriteLocalResponse(int status, std::string_view reason, std::string_view body, bool close,
                        std::string* out) {
  char num[24];
  out->append("HTTP/1.1 ");
  auto [e1, ec1] = std::to_chars(num, num + sizeof(num), status);
  (void)ec1;
  out->append(num, static_cast<size_t>(e1 - num));
  out->push_back(' ');
  out->append(reason);
  out->append(
      "\r\nContent-Type: text/plain; charset=utf-8\r\nServer: canarymesh\r\nContent-Length: ");
  auto [e2, ec2] = std::to_chars(num, num + sizeof(num), body.size());
  (void)ec2;
  out->append(num, static_cast<size_t>(e2 - num));
  out->append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  out->append(body);
}

size_t FormatChunkHeader(size_t len, char* buf) {
  auto [end, ec] = std::to_chars(buf, buf + 17, len, 16);
  (void)ec;
  end[0] = '\r';
  end[1] = '\n';
  return static_cast<size_t>(end - buf) + 2;
}

}  // namespace canarymesh::http
