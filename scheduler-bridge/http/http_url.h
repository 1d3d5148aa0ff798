// HttpUrl: the scheme, host, port and base path of an engine's API address
// ("https://10.0.0.1:6443", "http://marathon.mesos:8080/marathon"), parsed once and checked; plus
// percent-encoding for query values. Thread-compatible: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace canarymesh::bridge {

struct HttpUrl {
  std::string scheme;     // "http" or "https"
  std::string host;       // name or address, IPv6 without brackets
  uint16_t port = 0;      // explicit or the scheme's default
  std::string base_path;  // "" or "/marathon": prefixed to every request target, no trailing '/'

  bool tls() const { return scheme == "https"; }
  bool host_is_ip_literal() const;
  // What the Host header carries: host[:port], brackets around IPv6, default ports left out.
  std::string HostHeader() const;
  // scheme://host[:port]/base_path, for error messages.
  std::string ToString() const;
};

// Accepts http:// and https:// URLs without user info, query or fragment.
Result<HttpUrl> ParseHttpUrl(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters, so that label selectors such
// as "app=user,version=v2" survive as one query value.
std::string PercentEncode(std::string_view text);

}  // namespace canarymesh::bridge
