#include "discovery/serverset_member.h"

#include <array>
#include <limits>
#include <nlohmann/json.hpp>

namespace canarymesh {
namespace {

using nlohmann::json;

// Members are a few hundred bytes; anything this large is not a ServerSet record.
constexpr size_t kMaxMemberBytes = 64 * 1024;

constexpr std::array<std::pair<MemberStatus, const char*>, 6> kStatusNames = {{
    {MemberStatus::kDead, "DEAD"},
    {MemberStatus::kStarting, "STARTING"},
    {MemberStatus::kAlive, "ALIVE"},
    {MemberStatus::kStopping, "STOPPING"},
    {MemberStatus::kStopped, "STOPPED"},
    {MemberStatus::kWarning, "WARNING"},
}};

Result<ServerSetEndpoint> ParseEndpoint(const json& node, const std::string& field) {
  if (!node.is_object()) return Status::InvalidArgument(field + ": expected an object");
  auto host = node.find("host");
  if (host == node.end() || !host->is_string() || host->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument(field + ".host: expected a non-empty string");
  }
  auto port = node.find("port");
  if (port == node.end() || !port->is_number_integer()) {
    return Status::InvalidArgument(field + ".port: expected an integer");
  }
  int64_t value = port->get<int64_t>();
  if (value < 1 || value > 65535) {
    return Status::InvalidArgument(field + ".port: " + std::to_string(value) +
                                   " is outside 1..65535");
  }
  return ServerSetEndpoint{host->get<std::string>(), static_cast<uint16_t>(value)};
}

Result<ServerSetMember> ParseObject(const json& root) {
  if (!root.is_object()) return Status::InvalidArgument("expected a JSON object");
  ServerSetMember member;

  auto service = root.find("serviceEndpoint");
  if (service == root.end()) return Status::InvalidArgument("serviceEndpoint: missing");
  auto endpoint = ParseEndpoint(*service, "serviceEndpoint");
  if (!endpoint.ok()) return endpoint.status();
  member.service_endpoint = endpoint.value();

  auto status = root.find("status");
  if (status == root.end() || !status->is_string()) {
    return Status::InvalidArgument(
        "status: expected one of DEAD, STARTING, ALIVE, STOPPING, "
        "STOPPED, WARNING");
  }
  auto parsed_status = ParseMemberStatus(status->get_ref<const std::string&>());
  if (!parsed_status.ok()) return parsed_status.status();
  member.status = parsed_status.value();

  // Some announcers omit additionalEndpoints altogether; Finagle reads that as "none".
  auto additional = root.find("additionalEndpoints");
  if (additional != root.end() && !additional->is_null()) {
    if (!additional->is_object()) {
      return Status::InvalidArgument("additionalEndpoints: expected an object");
    }
    for (const auto& [name, node] : additional->items()) {
      auto named = ParseEndpoint(node, "additionalEndpoints." + name);
      if (!named.ok()) return named.status();
      member.additional_endpoints[name] = named.value();
    }
  }

  auto shard = root.find("shard");
  if (shard != root.end() && !shard->is_null()) {
    if (!shard->is_number_integer()) return Status::InvalidArgument("shard: expected an integer");
    int64_t value = shard->get<int64_t>();
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      return Status::InvalidArgument("shard: out of int32 range");
    }
    member.shard = static_cast<int32_t>(value);
  }

  auto metadata = root.find("metadata");
  if (metadata != root.end() && !metadata->is_null()) {
    if (!metadata->is_object()) return Status::InvalidArgument("metadata: expected an object");
    for (const auto& [key, value] : metadata->items()) {
      if (value.is_string()) member.metadata[key] = value.get<std::string>();
    }
  }
  return member;
}

json EndpointJson(const ServerSetEndpoint& endpoint) {
  return json{{"host", endpoint.host}, {"port", endpoint.port}};
}

}  // namespace

const char* MemberStatusName(MemberStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "DEAD";
}

Result<MemberStatus> ParseMemberStatus(std::string_view name) {
  for (const auto& [value, text] : kStatusNames) {
    if (name == text) return value;
  }
  return Status::InvalidArgument(
      "status: '" + std::string(name) +
      "' is not one of DEAD, STARTING, ALIVE, STOPPING, STOPPED, WARNING");
}

Result<ServerSetMember> ParseServerSetMember(std::string_view json_text) {
  if (json_text.size() > kMaxMemberBytes) {
    return Status::InvalidArgument("member data is " + std::to_string(json_text.size()) +
                                   " bytes, more than a ServerSet record can be");
  }
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument("not valid JSON");
  try {
    return ParseObject(root);
  } catch (const json::exception& e) {  // type checks above should make this unreachable
    return Status::InvalidArgument(std::string("malformed member: ") + e.what());
  }
}

std::string SerializeServerSetMember(const ServerSetMember& member) {
  json additional = json::object();
  for (const auto& [name, endpoint] : member.additional_endpoints) {
    additional[name] = EndpointJson(endpoint);
  }
  json root = {
      {"serviceEndpoint", EndpointJson(member.service_endpoint)},
      {"additionalEndpoints", additional},
      {"status", MemberStatusName(member.status)},
  };
  if (member.shard) root["shard"] = *member.shard;
  if (!member.metadata.empty()) root["metadata"] = member.metadata;
  // Replace invalid UTF-8 instead of throwing: the output must always be a string.
  return root.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<ServerSetEndpoint> SelectEndpoint(const ServerSetMember& member,
                                         const std::string& endpoint_name) {
  if (endpoint_name.empty()) return member.service_endpoint;
  auto it = member.additional_endpoints.find(endpoint_name);
  if (it == member.additional_endpoints.end()) {
    return Status::NotFound("no additional endpoint named '" + endpoint_name + "'");
  }
  return it->second;
}

}  // namespace canarymesh
