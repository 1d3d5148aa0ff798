// Fuzzes canary::RoutePolicy::FromJson, which reads policy documents from ZooKeeper and from
// PUT /admin/routes. Checks that it never throws, that an accepted policy satisfies what
// RoutePolicy promises, that errors never echo raw control or non-ASCII bytes, and that
// FromJson(ToJson()) gives back the same routing.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "canary/http_token.h"
#include "canary/route_policy.h"
#include "tests/fuzz/fuzz_check.h"

using canarymesh::Result;
using canarymesh::canary::IsToken;
using canarymesh::canary::PolicySource;
using canarymesh::canary::RoutePolicy;
using canarymesh::canary::StickyKeySource;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<RoutePolicy> parsed = RoutePolicy::FromJson(input, PolicySource::kAdmin, 42);
  if (!parsed.ok()) {
    const std::string& message = parsed.status().message();
    FUZZ_CHECK(!message.empty());
    for (const char c : message) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    return 0;
  }
  const RoutePolicy& policy = parsed.value();
  FUZZ_CHECK(policy.source() == PolicySource::kAdmin);
  FUZZ_CHECK(policy.updated_unix_ms() == 42);
  bool any_positive = false;
  for (const auto& [version, weight] : policy.weights()) {
    FUZZ_CHECK(IsToken(version));
    FUZZ_CHECK(policy.WeightOf(version) == weight);
    any_positive = any_positive || weight > 0;
  }
  FUZZ_CHECK(policy.weights().empty() || any_positive);
  const auto& order = policy.version_order();
  for (size_t i = 0; i < order.size(); ++i) {
    FUZZ_CHECK(policy.weights().count(order[i]) == 1);
    FUZZ_CHECK(std::count(order.begin(), order.end(), order[i]) == 1);
  }
  const StickyKeySource& sticky = policy.sticky();
  if (sticky.kind == StickyKeySource::Kind::kHeader) {
    FUZZ_CHECK(IsToken(sticky.header));
    for (const char c : sticky.header) {
      FUZZ_CHECK(std::tolower(static_cast<unsigned char>(c)) == static_cast<unsigned char>(c));
    }
  } else {
    FUZZ_CHECK(sticky.header.empty());
  }

  const std::string written = policy.ToJson().dump();
  Result<RoutePolicy> again = RoutePolicy::FromJson(written, PolicySource::kZooKeeper, 7);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().SameRouting(policy));
  (void)policy.ToJsonWithProvenance().dump();
  return 0;
}
