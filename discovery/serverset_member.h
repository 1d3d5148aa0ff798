// Finagle ServerSet member records: the JSON form of Twitter's `ServiceInstance` Thrift struct that
// each instance writes into its `member_<seq>` znode. Parsing never throws: bad input is an error
// Status. Thread-compatible: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace canarymesh {

// Finagle's `Status` enum; only kAlive is routable.
enum class MemberStatus { kDead, kStarting, kAlive, kStopping, kStopped, kWarning };

const char* MemberStatusName(MemberStatus status);
// Accepts the upper-case names Finagle writes ("ALIVE"); anything else is an error.
Result<MemberStatus> ParseMemberStatus(std::string_view name);

struct ServerSetEndpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const ServerSetEndpoint&) const = default;
};

struct ServerSetMember {
  ServerSetEndpoint service_endpoint;
  std::map<std::string, ServerSetEndpoint> additional_endpoints;  // e.g. "http" -> host:port
  MemberStatus status = MemberStatus::kAlive;
  std::optional<int32_t> shard;
  std::map<std::string, std::string> metadata;  // string values only; "version" is the one we read
  bool operator==(const ServerSetMember&) const = default;
};

// Required: serviceEndpoint {host, port 1..65535}, status. Optional: additionalEndpoints (each a
// valid endpoint), shard (int32), metadata (object; non-string values are ignored).
Result<ServerSetMember> ParseServerSetMember(std::string_view json_text);

// Always writes additionalEndpoints (possibly {}), writes shard/metadata only when set.
std::string SerializeServerSetMember(const ServerSetMember& member);

// `endpoint_name` empty selects serviceEndpoint, otherwise the named additional endpoint.
Result<ServerSetEndpoint> SelectEndpoint(const ServerSetMember& member,
                                         const std::string& endpoint_name);

}  // namespace canarymesh
