#include "scheduler-bridge/local/local_port_allocator.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace canarymesh::bridge {

bool PortLooksFree(uint16_t port) {
  // The IPv4 wildcard collides with a listener on any IPv4 address, loopback included.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(port);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return free;
}

Result<uint16_t> PickFreePort(uint16_t min, uint16_t max, const std::set<uint16_t>& taken) {
  size_t ours = 0;
  for (uint32_t port = min; port <= max; ++port) {
    if (taken.count(static_cast<uint16_t>(port)) != 0) {
      ++ours;
      continue;
    }
    if (PortLooksFree(static_cast<uint16_t>(port))) return static_cast<uint16_t>(port);
  }
  return Status::Unavailable("port range " + std::to_string(min) + "-" + std::to_string(max) +
                             " exhausted: " + std::to_string(ours) + " of its " +
                             std::to_string(max - min + 1) +
                             " ports are held by local instances, the rest are in use by other "
                             "programs; widen backend.local.port_range");
}

}  // namespace canarymesh::bridge
