#include "router/thrift_version_choice.h"

#include <optional>

#include "canary/override_header.h"
#include "http/message_head.h"

namespace canarymesh::router {
namespace {

constexpr std::string_view kCanaryPrefix = "/canary/";

// A THeader info header or TTwitter broadcast context named `name` (case-insensitive, as HTTP).
std::string_view CallHeader(const thrift::MessageInfo& call, std::string_view name) {
  if (name.empty()) return {};
  if (call.theader) {
    for (const auto& kv : call.theader->headers) {
      if (http::EqualsIgnoreCase(kv.first, name)) return kv.second;
    }
  }
  if (call.request_header) {
    for (const auto& c : call.request_header->contexts) {
      if (http::EqualsIgnoreCase(c.key, name)) return c.value;
    }
  }
  return {};
}

std::string_view LastSegment(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Finagle's own addressing: dest `/canary/<service>/<version>`, or a delegation (a dtab entry)
// `/canary/<service> => .../<version>`.
std::optional<std::string_view> TTwitterVersion(const thrift::RequestHeader& header,
                                                std::string_view service) {
  if (header.dest) {
    std::string_view dest = *header.dest;
    if (dest.starts_with(kCanaryPrefix)) {
      dest.remove_prefix(kCanaryPrefix.size());
      if (dest.starts_with(service) && dest.size() > service.size() + 1 &&
          dest[service.size()] == '/') {
        std::string_view version = LastSegment(dest.substr(service.size() + 1));
        if (!version.empty()) return version;
      }
    }
  }
  for (const auto& d : header.delegations) {
    std::string_view src = d.src;
    if (src.starts_with(kCanaryPrefix) && src.substr(kCanaryPrefix.size()) == service) {
      std::string_view version = LastSegment(d.dst);
      if (!version.empty()) return version;
    }
  }
  return std::nullopt;
}

}  // namespace

ThriftVersionChoice ChooseThriftVersion(const ServiceRoute& service,
                                        const thrift::MessageInfo& call,
                                        const ThriftChoiceInput& input) {
  ThriftVersionChoice choice;
  std::optional<std::string_view> wanted;
  if (!input.override_header.empty()) {
    std::string_view value = input.http_override;
    if (value.empty()) value = CallHeader(call, input.override_header);
    if (!value.empty()) {
      auto overrides = canary::ParseOverrideHeader(value);
      if (!overrides.ok()) {
        choice.bad_override = true;
        choice.message =
            "bad " + std::string(input.override_header) + ": " + overrides.status().message();
        return choice;
      }
      wanted = overrides->VersionFor(service.name);
      choice.carry.assign(value);
    } else if (call.request_header) {
      wanted = TTwitterVersion(*call.request_header, service.name);
      if (wanted) choice.carry = service.name + "=" + std::string(*wanted);
    }
  }
  if (!wanted && input.thrift != nullptr && !input.thrift->method_versions.empty()) {
    auto pin = input.thrift->method_versions.find(call.name);
    if (pin != input.thrift->method_versions.end()) wanted = pin->second;
  }
  std::optional<std::string_view> sticky_key;
  const canary::StickyKeySource& sticky = service.selector.sticky();
  if (sticky.kind == canary::StickyKeySource::Kind::kHeader) {
    std::string_view value =
        input.http_sticky.empty() ? CallHeader(call, sticky.header) : input.http_sticky;
    if (!value.empty()) sticky_key = value;
  } else if (sticky.kind == canary::StickyKeySource::Kind::kClientIp) {
    sticky_key = input.client_ip;
  }
  auto pick = service.selector.Pick(wanted, sticky_key, input.random_bits);
  if (pick.ok() && pick->index < service.group_of_pick.size())
    choice.group = service.group_of_pick[pick->index];
  if (choice.group == nullptr) {
    choice.message =
        (pick.ok() ? "no live instance of service '" + service.name + "'"
                   : pick.status().message()) +
        (service.awaiting_discovery ? " (ZooKeeper discovery has not synced yet)" : "");
  }
  return choice;
}

bool CallCarriesOverride(const ServiceRoute& service, const thrift::MessageInfo& call,
                         std::string_view override_header) {
  if (override_header.empty()) return false;
  std::string_view value = CallHeader(call, override_header);
  if (!value.empty()) return canary::ParseOverrideHeader(value).ok();
  return call.request_header && TTwitterVersion(*call.request_header, service.name).has_value();
}

}  // namespace canarymesh::router
