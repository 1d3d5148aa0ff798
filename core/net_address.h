// Parsing and formatting of "host:port" socket addresses (IPv4, IPv6 in brackets, or names
// resolved once at load time). Not for the data path: resolution may block.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace canarymesh {

struct NetAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string host;  // as written by the user
  uint16_t port = 0;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string ToString() const;  // "host:port"
};

// Splits "host:port" / "[v6]:port"; resolves host with getaddrinfo (numeric first).
Result<NetAddress> ParseNetAddress(const std::string& text);

// Formats the numeric IP of a peer address ("10.0.0.1" or "::1"), for X-Forwarded-For and logs.
std::string PeerIp(const sockaddr* addr);

}  // namespace canarymesh
