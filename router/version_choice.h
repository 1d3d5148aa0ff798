// Picks the version of a service for one HTTP request: the override header (several field lines
// are one comma-separated list, RFC 9110 5.3), then the service's sticky key (a header or the
// client address), then the weighted split of its compiled VersionSelector. Allocates only on the
// rare paths (a multi-line override header, an error message). Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/message_head.h"
#include "router/route_table.h"

namespace canarymesh::router {

struct VersionChoice {
  const VersionGroup* group = nullptr;  // the chosen version; null means answer `status`
  int status = 0;                       // 400 (malformed override) or 503 (nothing live)
  std::string message;                  // plain-text reason for that answer
};

struct VersionChoiceInput {
  std::string_view override_header;  // header name; empty = overrides ignored on this listener
  std::string_view client_ip;        // for sticky_client_ip policies
  uint64_t random_bits = 0;          // fresh bits from the worker's PRNG
  std::string* scratch = nullptr;    // reused buffer for joining override lines
};

VersionChoice ChooseVersion(const ServiceRoute& service, const http::MessageHead& head,
                            const VersionChoiceInput& input);

}  // namespace canarymesh::router
