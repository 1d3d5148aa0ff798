#include "canary/override_header.h"

#include <string>

#include "canary/http_token.h"

namespace canarymesh::canary {
namespace {

constexpr bool IsOptionalWhitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && IsOptionalWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOptionalWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

Status ItemError(size_t item_number, std::string_view item, std::string_view problem) {
  std::string msg = "invalid canary override: item " + std::to_string(item_number) + " " +
                    QuoteForMessage(item) + ": ";
  msg.append(problem);
  return Status::InvalidArgument(msg);
}

}  // namespace

std::optional<std::string_view> OverrideList::VersionFor(std::string_view service) const {
  for (const VersionOverride& entry : *this) {
    if (entry.service == service) return entry.version;
  }
  return std::nullopt;
}

Result<OverrideList> ParseOverrideHeader(std::string_view header_value) {
  OverrideList list;
  size_t item_number = 0;
  std::string_view rest = header_value;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view raw_item = rest.substr(0, comma);
    ++item_number;
    const std::string_view item = TrimWhitespace(raw_item);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos) return ItemError(item_number, item, "missing '='");
      const std::string_view service = TrimWhitespace(item.substr(0, eq));
      const std::string_view version = TrimWhitespace(item.substr(eq + 1));
      if (service.empty()) return ItemError(item_number, item, "empty service name");
      if (version.empty()) return ItemError(item_number, item, "empty version");
      if (!IsToken(service)) {
        return ItemError(item_number, item, "service name has a character that is not allowed");
      }
      if (!IsToken(version)) {
        // Also catches a second '=' in the item.
        return ItemError(item_number, item, "version has a character that is not allowed");
      }
      const std::optional<std::string_view> earlier = list.VersionFor(service);
      if (earlier.has_value()) {
        if (*earlier != version) {
          return ItemError(item_number, item,
                           "service already given version " + QuoteForMessage(*earlier));
        }
      } else {
        if (list.size_ == OverrideList::kMaxEntries) {
          return Status::InvalidArgument("invalid canary override: more than " +
                                         std::to_string(OverrideList::kMaxEntries) + " services");
        }
        list.entries_[list.size_++] = VersionOverride{service, version};
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return list;
}

}  // namespace canarymesh::canary
