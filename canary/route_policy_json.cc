// RoutePolicy::FromJson: the strict reader for policy documents from ZooKeeper and the admin API.
// Never throws: nlohmann is asked not to, and every value is type-checked before it is read.
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "canary/http_token.h"
#include "canary/route_policy.h"

namespace canarymesh::canary {
namespace {

using Json = nlohmann::json;

std::string Describe(const Json& value) {
  // Containers are named, not dumped: dump() recurses once per nesting level, so a value of a few
  // hundred KB of '[' would overflow the stack (found by tests/fuzz/route_policy_fuzzer).
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  // dump() throws on invalid UTF-8 unless told to replace it; the parser already rejects such
  // input, so this is belt and braces for values built in code.
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return QuoteForMessage(text, 40);
}

Status FieldError(const std::string& field, std::string_view problem) {
  std::string msg = field;
  msg += ": ";
  msg += problem;
  return Status::InvalidArgument(msg);
}

Result<uint32_t> ReadWeight(const std::string& field, const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t weight = value.get<uint64_t>();
    if (weight > std::numeric_limits<uint32_t>::max()) {
      return FieldError(field, "must be at most 4294967295, got " + Describe(value));
    }
    return static_cast<uint32_t>(weight);
  }
  if (value.is_number_integer()) {
    return FieldError(field, "must not be negative, got " + Describe(value));
  }
  if (value.is_number_float()) {
    return FieldError(field, "must be an integer, got " + Describe(value));
  }
  return FieldError(field, "must be a non-negative integer, got " + Describe(value));
}

Result<VersionWeights> ReadWeights(const Json& value) {
  if (!value.is_object()) {
    return FieldError("weights", "must be an object of version -> integer weight");
  }
  VersionWeights weights;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string field = "weights." + it.key();
    if (!IsToken(it.key())) {
      return FieldError("weights", "version name " + QuoteForMessage(it.key()) +
                                       " must be a non-empty token (letters, digits, -._~ etc.)");
    }
    Result<uint32_t> weight = ReadWeight(field, it.value());
    if (!weight.ok()) return weight.status();
    weights.emplace(it.key(), *weight);
  }
  return weights;
}

Result<StickyKeySource> ReadSticky(const Json& value) {
  if (!value.is_object()) {
    return FieldError("sticky",
                      R"(must be an object: {"header":"x-user-id"} or {"client_ip":true})");
  }
  StickyKeySource sticky;
  bool has_header = false;
  bool client_ip = false;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string field = "sticky." + it.key();
    if (it.key() == "header") {
      if (!it.value().is_string()) return FieldError(field, "must be a string (a header name)");
      sticky.header = it.value().get<std::string>();
      has_header = true;
    } else if (it.key() == "client_ip") {
      if (!it.value().is_boolean()) return FieldError(field, "must be true or false");
      client_ip = it.value().get<bool>();
    } else {
      return FieldError("sticky." + QuoteForMessage(it.key()),
                        "unknown field (expected \"header\" or \"client_ip\")");
    }
  }
  if (has_header && client_ip) {
    return FieldError("sticky", "give either header or client_ip, not both");
  }
  if (has_header) {
    sticky.kind = StickyKeySource::Kind::kHeader;
  } else if (client_ip) {
    sticky.kind = StickyKeySource::Kind::kClientIp;
  }
  return sticky;
}

Result<std::vector<std::string>> ReadOrder(const Json& value) {
  if (!value.is_array()) return FieldError("order", "must be an array of version names");
  std::vector<std::string> order;
  order.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return FieldError("order[" + std::to_string(i) + "]", "must be a string (a version name)");
    }
    order.push_back(value[i].get<std::string>());
  }
  return order;
}

}  // namespace

Result<RoutePolicy> RoutePolicy::FromJson(std::string_view json_text, PolicySource source,
                                          int64_t updated_unix_ms) {
  // nlohmann silently keeps the last of repeated keys; {"v1":5,"v1":95} is almost surely a
  // mistake, so the parse callback notes the first key repeated within one object.
  std::vector<std::set<std::string>> keys_per_open_object;
  std::optional<std::string> repeated_key;
  auto note_repeats = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys_per_open_object.emplace_back();
    } else if (event == Json::parse_event_t::object_end && !keys_per_open_object.empty()) {
      keys_per_open_object.pop_back();
    } else if (event == Json::parse_event_t::key && !keys_per_open_object.empty() &&
               parsed.is_string() && !repeated_key.has_value()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys_per_open_object.back().insert(key).second) repeated_key = key;
    }
    return true;
  };
  const Json document = Json::parse(json_text.begin(), json_text.end(), note_repeats,
                                    /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return Status::InvalidArgument("route policy: not valid JSON");
  }
  if (repeated_key.has_value()) {
    return FieldError(QuoteForMessage(*repeated_key), "field appears twice in one object");
  }
  return FromJsonValue(document, source, updated_unix_ms);
}

Result<RoutePolicy> RoutePolicy::FromJsonValue(const Json& document, PolicySource source,
                                               int64_t updated_unix_ms) {
  if (!document.is_object()) {
    return Status::InvalidArgument("route policy: must be a JSON object");
  }
  VersionWeights weights;
  StickyKeySource sticky;
  std::vector<std::string> order;
  for (auto it = document.begin(); it != document.end(); ++it) {
    const std::string& key = it.key();
    if (key == "weights") {
      Result<VersionWeights> read = ReadWeights(it.value());
      if (!read.ok()) return read.status();
      weights = std::move(*read);
    } else if (key == "sticky") {
      Result<StickyKeySource> read = ReadSticky(it.value());
      if (!read.ok()) return read.status();
      sticky = std::move(*read);
    } else if (key == "order") {
      Result<std::vector<std::string>> read = ReadOrder(it.value());
      if (!read.ok()) return read.status();
      order = std::move(*read);
    } else {
      return FieldError(QuoteForMessage(key),
                        "unknown field (expected \"weights\", \"sticky\" or \"order\")");
    }
  }
  return Create(std::move(weights), std::move(sticky), std::move(order), source, updated_unix_ms);
}

}  // namespace canarymesh::canary
