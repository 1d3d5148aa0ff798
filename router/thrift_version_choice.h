// Picks the version of a service for one Thrift call. The override comes, in this order, from
// the HTTP header of a Thrift-over-HTTP request, a THeader info header, a TTwitter broadcast
// context (all named like the HTTP override header and in its format, `user=v2,question=v7`),
// then from the TTwitter RequestHeader's `dest` (`/canary/<service>/<version>`) or a delegation
// whose src is `/canary/<service>` (its dst's last segment is the version). Then the service's
// method pin (thrift.method_versions), then the sticky key (a THeader header / TTwitter context
// of the sticky header's name, or the client address), then the weighted split.
// Allocates only for the value carried on and for error messages. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "router/route_table.h"
#include "thrift/message_info.h"

namespace canarymesh::router {

struct ThriftChoiceInput {
  std::string_view override_header;  // the override's name; empty = overrides ignored
  std::string_view http_override;    // Thrift over HTTP: the HTTP header's value, if any
  std::string_view http_sticky;      // Thrift over HTTP: the sticky header's value, if any
  std::string_view client_ip;
  uint64_t random_bits = 0;
  const ThriftServiceConfig* thrift = nullptr;  // method pins
};

struct ThriftVersionChoice {
  const VersionGroup* group = nullptr;  // null: answer with a TApplicationException
  std::string message;                  // why there is no group
  bool bad_override = false;            // the override was malformed (HTTP would say 400)
  // The override to carry on to the next hop (THeader info header / TTwitter context), in the
  // override header's format; empty when the call had none.
  std::string carry;
};

ThriftVersionChoice ChooseThriftVersion(const ServiceRoute& service,
                                        const thrift::MessageInfo& call,
                                        const ThriftChoiceInput& input);

// Whether the call itself (THeader info header, TTwitter context, dest or delegation) names a
// version of `service` in a well-formed override `override_header`: what a listener that strips
// untrusted overrides must blank before the call reaches the next hop. No version is chosen.
bool CallCarriesOverride(const ServiceRoute& service, const thrift::MessageInfo& call,
                         std::string_view override_header);

}  // namespace canarymesh::router
