// The start line and headers of one HTTP/1.x message, as views into the parser's header arena.
// Views stay valid until the parser starts the next message. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace canarymesh::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

// Request method codes the router tells apart (HEAD has no response body; which methods are
// idempotent and may be retried). The numbering is Boost.Beast's http::verb minus one, which is
// also Node http-parser's enum http_method (the codec's first parser), so logs stay comparable.
inline constexpr int kMethodDelete = 0;
inline constexpr int kMethodGet = 1;
inline constexpr int kMethodHead = 2;
inline constexpr int kMethodPost = 3;
inline constexpr int kMethodPut = 4;
inline constexpr int kMethodConnect = 5;
inline constexpr int kMethodOptions = 6;
inline constexpr int kMethodTrace = 7;

struct MessageHead {
  // Requests.
  std::string_view method;  // "GET"
  int method_code = 0;      // kMethod* below; -1 for a method the parser does not know
  std::string_view target;  // request-target as sent ("/path?q")
  // Responses.
  int status = 0;
  std::string_view reason;

  int version_major = 1;
  int version_minor = 1;
  const Header* headers = nullptr;
  size_t header_count = 0;

  bool keep_alive = true;  // what the peer asked for (RFC 9112 9.3 defaults applied)
  bool chunked = false;    // Transfer-Encoding: chunked
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool upgrade = false;  // Upgrade/CONNECT; the proxy refuses these for now

  // Case-insensitive lookup of the first header with this name (names are ASCII).
  std::string_view Find(std::string_view name) const;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace canarymesh::http
