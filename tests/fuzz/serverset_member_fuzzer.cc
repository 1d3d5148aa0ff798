// Fuzzes ParseServerSetMember, which reads every member_<seq> znode another process wrote into
// ZooKeeper. Checks that it never throws, that an accepted member has the promised endpoints,
// and that SerializeServerSetMember writes what parses back to the same member.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "discovery/serverset_member.h"
#include "tests/fuzz/fuzz_check.h"

using canarymesh::Result;
using canarymesh::ServerSetEndpoint;
using canarymesh::ServerSetMember;

namespace {

void CheckEndpoint(const ServerSetEndpoint& endpoint) {
  FUZZ_CHECK(!endpoint.host.empty());
  FUZZ_CHECK(endpoint.port >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<ServerSetMember> parsed = canarymesh::ParseServerSetMember(input);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  const ServerSetMember& member = parsed.value();
  CheckEndpoint(member.service_endpoint);
  for (const auto& [name, endpoint] : member.additional_endpoints) {
    CheckEndpoint(endpoint);
    Result<ServerSetEndpoint> selected = canarymesh::SelectEndpoint(member, name);
    FUZZ_CHECK(selected.ok() && selected.value() == endpoint);
  }
  Result<ServerSetEndpoint> primary = canarymesh::SelectEndpoint(member, "");
  FUZZ_CHECK(primary.ok() && primary.value() == member.service_endpoint);

  const std::string written = canarymesh::SerializeServerSetMember(member);
  // Writing may add an empty additionalEndpoints, so a member near the parser's 64 KiB size
  // limit may not fit once written; only smaller ones must round-trip.
  if (written.size() <= 60 * 1024) {
    Result<ServerSetMember> again = canarymesh::ParseServerSetMember(written);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value() == member);
  }
  return 0;
}
