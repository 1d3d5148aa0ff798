#include "router/version_choice.h"

#include <optional>

#include "canary/override_header.h"

namespace canarymesh::router {
namespace {

// The override header's value; several field lines are joined with ',' into `scratch`.
std::string_view OverrideValue(const http::MessageHead& head, std::string_view name,
                               std::string* scratch) {
  size_t lines = 0;
  for (size_t i = 0; i < head.header_count && lines < 2; ++i) {
    lines += http::EqualsIgnoreCase(head.headers[i].name, name);
  }
  if (lines < 2) return head.Find(name);
  scratch->clear();
  for (size_t i = 0; i < head.header_count; ++i) {
    if (!http::EqualsIgnoreCase(head.headers[i].name, name)) continue;
    if (!scratch->empty()) scratch->push_back(',');
    scratch->append(head.headers[i].value);
  }
  return *scratch;
}

}  // namespace

VersionChoice ChooseVersion(const ServiceRoute& service, const http::MessageHead& head,
                            const VersionChoiceInput& input) {
  VersionChoice choice;
  std::optional<std::string_view> override_version;
  if (!input.override_header.empty()) {
    std::string_view value = OverrideValue(head, input.override_header, input.scratch);
    if (!value.empty()) {
      auto overrides = canary::ParseOverrideHeader(value);
      if (!overrides.ok()) {
        choice.status = 400;
        choice.message = "bad " + std::string(input.override_header) +
                         " header: " + overrides.status().message();
        return choice;
      }
      override_version = overrides->VersionFor(service.name);
    }
  }
  std::optional<std::string_view> sticky_key;
  const canary::StickyKeySource& sticky = service.selector.sticky();
  if (sticky.kind == canary::StickyKeySource::Kind::kHeader) {
    std::string_view value = head.Find(sticky.header);
    if (!value.empty()) sticky_key = value;
  } else if (sticky.kind == canary::StickyKeySource::Kind::kClientIp) {
    sticky_key = input.client_ip;
  }
  auto pick = service.selector.Pick(override_version, sticky_key, input.random_bits);
  if (pick.ok() && pick->index < service.group_of_pick.size()) {
    choice.group = service.group_of_pick[pick->index];
  }
  if (choice.group == nullptr) {
    choice.status = 503;
    choice.message =
        (pick.ok() ? "no live instance of service '" + service.name + "'"
                   : pick.status().message()) +
        (service.awaiting_discovery ? " (ZooKeeper discovery has not synced yet)" : "");
  }
  return choice;
}

}  // namespace canarymesh::router
