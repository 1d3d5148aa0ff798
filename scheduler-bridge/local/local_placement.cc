#include "scheduler-bridge/local/local_placement.h"

#include <unistd.h>

#include <climits>
#include <optional>
#include <regex>

namespace canarymesh::bridge {
namespace {

std::string Describe(const PlacementConstraint& c) {
  return c.field + ":" + c.op + (c.value.empty() ? "" : ":" + c.value);
}

// Marathon's LIKE/UNLIKE take a regular expression that must match the whole value.
std::optional<bool> FullMatch(const std::string& pattern, const std::string& value) {
  try {
    return std::regex_match(value, std::regex(pattern, std::regex::extended));
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

bool ParseCount(const std::string& text, long* out) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *out = std::stol(text);
  return true;
}

// One machine, one value of `field` (the hostname, or nothing for any other attribute).
std::optional<std::string> Check(const PlacementConstraint& c, uint32_t instances,
                                 const std::optional<std::string>& value) {
  const std::string what = Describe(c) + ": ";
  const std::string where = value.has_value()
                                ? "this machine (" + *value + ")"
                                : "this machine, which has no attribute '" + c.field + "'";
  if (c.op == "UNIQUE") {
    if (instances > 1) {
      return what + std::to_string(instances) + " instances need as many distinct " + c.field +
             " values; the local backend runs them all on " + where;
    }
    return std::nullopt;
  }
  if (c.op == "CLUSTER") {
    if (c.value.empty()) return std::nullopt;  // "all on one value": one machine is one value
    if (value != c.value)
      return what + "instances must run where " + c.field + " is '" + c.value + "', not on " +
             where;
    return std::nullopt;
  }
  if (c.op == "IS") {
    if (value != c.value) return what + c.field + " must be '" + c.value + "', not on " + where;
    return std::nullopt;
  }
  if (c.op == "LIKE" || c.op == "UNLIKE") {
    if (c.value.empty()) return what + "needs a regular expression as its value";
    std::optional<bool> matches =
        value.has_value() ? FullMatch(c.value, *value) : std::optional<bool>(false);
    if (!matches.has_value()) return what + "'" + c.value + "' is not a valid regular expression";
    if (c.op == "LIKE" && !*matches) return what + "does not match " + where;
    if (c.op == "UNLIKE" && *matches) return what + "matches " + where;
    return std::nullopt;
  }
  if (c.op == "GROUP_BY") {
    long groups = 0;
    if (!c.value.empty() && !ParseCount(c.value, &groups)) return what + "value must be a count";
    if (instances > 1 && (c.value.empty() || groups > 1)) {
      return what + "instances must spread over " + (c.value.empty() ? "several" : c.value) +
             " values of " + c.field + "; the local backend has only " + where;
    }
    return std::nullopt;
  }
  if (c.op == "MAX_PER") {
    long max_per = 0;
    if (!ParseCount(c.value, &max_per)) return what + "value must be a count";
    if (static_cast<long>(instances) > max_per) {
      return what + std::to_string(instances) + " instances exceed " + c.value + " per " + c.field +
             ", and the local backend runs them all on " + where;
    }
    return std::nullopt;
  }
  return what + "unknown operator '" + c.op +
         "' (known: UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS)";
}

}  // namespace

std::vector<std::string> LocalPlacementProblems(const InstanceGroupSpec& spec,
                                                const std::string& hostname) {
  std::vector<std::string> problems;
  for (const PlacementConstraint& c : spec.constraints) {
    if (c.field.empty()) {
      problems.push_back(Describe(c) + ": constraint without a field");
      continue;
    }
    std::optional<std::string> value;
    if (c.field == "hostname") value = hostname;
    if (auto problem = Check(c, spec.instances, value)) problems.push_back(*problem);
  }
  return problems;
}

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace canarymesh::bridge
