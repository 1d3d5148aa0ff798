// RFC 9110 "token" characters: the alphabet for service and version names in override headers and
// route policies, so that a name can always travel in a header value unquoted.
// Thread-safe: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace canarymesh::canary {

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//         / DIGIT / ALPHA
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  return table;
}();

constexpr bool IsTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

constexpr bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// For error messages that may be sent back to a client: at most `max_chars` characters, with
// anything outside printable ASCII shown as \xNN so that hostile bytes are never echoed raw.
std::string QuoteForMessage(std::string_view s, size_t max_chars = 64);

}  // namespace canarymesh::canary
