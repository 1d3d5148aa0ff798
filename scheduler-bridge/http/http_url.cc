#include "scheduler-bridge/http/http_url.h"

#include <arpa/inet.h>

#include <cctype>

namespace canarymesh::bridge {

namespace {

bool IsIpv6(const std::string& host) { return host.find(':') != std::string::npos; }

bool ValidHostChars(std::string_view host) {
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
      return false;
  }
  return true;
}

}  // namespace

bool HttpUrl::host_is_ip_literal() const {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string HttpUrl::HostHeader() const {
  std::string out = IsIpv6(host) ? "[" + host + "]" : host;
  bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) out += ":" + std::to_string(port);
  return out;
}

std::string HttpUrl::ToString() const {
  std::string out = scheme + "://" + (IsIpv6(host) ? "[" + host + "]" : host);
  out += ":" + std::to_string(port);
  return out + base_path;
}

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid URL \"" + std::string(text) + "\": " + why);
  };
  HttpUrl url;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return bad("expected http://host[:port] or https://...");
  url.scheme = std::string(text.substr(0, scheme_end));
  for (char& c : url.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (url.scheme != "http" && url.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = text.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad("query and fragment are not allowed");
  size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return bad("credentials in the URL are not allowed; use the auth settings");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6] host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port_text = after.substr(1);
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET6, url.host.c_str(), buf) != 1) return bad("bad IPv6 address");
  } else {
    size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (!ValidHostChars(url.host)) return bad("bad host name");
  }
  if (url.host.empty()) return bad("missing host");
  if (port_text.empty()) {
    url.port = url.scheme == "https" ? 443 : 80;
  } else {
    uint32_t port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) return bad("bad port");
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return bad("port must be 1-65535");
    url.port = static_cast<uint16_t>(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace canarymesh::bridge
