// Fuzzes canary::ParseOverrideHeader, whose input is any request's x-canary-version header. Checks
// its contract: entries are distinct token pairs that point into the input, errors are safe to
// send back as a 400 body, and writing a parsed list out again parses to the same list.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "canary/http_token.h"
#include "canary/override_header.h"
#include "tests/fuzz/fuzz_check.h"

using canarymesh::Result;
using canarymesh::Status;
using canarymesh::canary::IsToken;
using canarymesh::canary::OverrideList;
using canarymesh::canary::ParseOverrideHeader;
using canarymesh::canary::VersionOverride;

namespace {

bool Within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<OverrideList> parsed = ParseOverrideHeader(input);
  if (!parsed.ok()) {
    const std::string& message = parsed.status().message();
    FUZZ_CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
    FUZZ_CHECK(!message.empty());
    // Hostile bytes are escaped and long items truncated.
    FUZZ_CHECK(message.size() <= 1024);
    for (const char c : message) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    return 0;
  }
  const OverrideList& list = parsed.value();
  FUZZ_CHECK(list.size() <= OverrideList::kMaxEntries);
  FUZZ_CHECK(list.empty() == (list.size() == 0));
  std::string rewritten;
  for (const VersionOverride* entry = list.begin(); entry != list.end(); ++entry) {
    FUZZ_CHECK(Within(entry->service, input));
    FUZZ_CHECK(Within(entry->version, input));
    FUZZ_CHECK(IsToken(entry->service));
    FUZZ_CHECK(IsToken(entry->version));
    for (const VersionOverride* earlier = list.begin(); earlier != entry; ++earlier) {
      FUZZ_CHECK(earlier->service != entry->service);
    }
    const auto version = list.VersionFor(entry->service);
    FUZZ_CHECK(version.has_value() && *version == entry->version);
    rewritten.append(entry->service).append("=").append(entry->version).append(",");
  }

  Result<OverrideList> again = ParseOverrideHeader(rewritten);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().size() == list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    FUZZ_CHECK(again.value().begin()[i].service == list.begin()[i].service);
    FUZZ_CHECK(again.value().begin()[i].version == list.begin()[i].version);
  }
  return 0;
}
