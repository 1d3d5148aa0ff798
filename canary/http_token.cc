#include "canary/http_token.h"

#include <algorithm>

namespace canarymesh::canary {

std::string QuoteForMessage(std::string_view s, size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(s.size(), max_chars) + 8);
  out.push_back('"');
  size_t shown = 0;
  for (char c : s) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
    ++shown;
  }
  out.push_back('"');
  return out;
}

}  // namespace canarymesh::canary
