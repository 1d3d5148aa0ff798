// Parses the per-request test override header (`x-canary-version: user=v2,question=v7`) into a
// fixed-capacity list of (service, version) views into the caller's buffer, without allocating.
// Thread-compatible: an OverrideList is a plain value; ParseOverrideHeader is a pure function.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace canarymesh::canary {

struct VersionOverride {
  std::string_view service;
  std::string_view version;
};

// The views point into the header value that was parsed: keep that buffer alive and unchanged
// for as long as the list is used.
class OverrideList {
 public:
  static constexpr size_t kMaxEntries = 32;

  // The version the request asks for `service`, if it names one.
  std::optional<std::string_view> VersionFor(std::string_view service) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const VersionOverride* begin() const { return entries_.data(); }
  const VersionOverride* end() const { return entries_.data() + size_; }

 private:
  friend Result<OverrideList> ParseOverrideHeader(std::string_view header_value);
  std::array<VersionOverride, kMaxEntries> entries_{};
  size_t size_ = 0;
};

// Grammar: items separated by ',', each `service=version`, both RFC 9110 tokens; spaces and tabs
// around items and around '=' are ignored, as are empty items (so "a=v1,,b=v2," is fine). A
// service repeated with the same version counts once; repeated with another version is an error.
// On error the Status is InvalidArgument and its message is safe to return as a 400 body (hostile
// bytes are escaped and long items truncated). Success allocates nothing; errors do.
Result<OverrideList> ParseOverrideHeader(std::string_view header_value);

}  // namespace canarymesh::canary
