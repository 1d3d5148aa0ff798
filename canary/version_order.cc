#include "canary/version_order.h"

#include <algorithm>

namespace canarymesh::canary {
namespace {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t DigitRunEnd(std::string_view s, size_t start) {
  size_t end = start;
  while (end < s.size() && IsDigit(s[end])) ++end;
  return end;
}

// Compares two digit strings as numbers of any length: no overflow, no parsing.
int CompareDigitRuns(std::string_view a, std::string_view b) {
  const size_t a_zeros = std::min(a.find_first_not_of('0'), a.size());
  const size_t b_zeros = std::min(b.find_first_not_of('0'), b.size());
  const std::string_view a_digits = a.substr(a_zeros);
  const std::string_view b_digits = b.substr(b_zeros);
  if (a_digits.size() != b_digits.size()) return a_digits.size() < b_digits.size() ? -1 : 1;
  const int by_value = a_digits.compare(b_digits);
  if (by_value != 0) return by_value < 0 ? -1 : 1;
  // Same number ("07" vs "7"): the longer spelling sorts later, so that distinct names never
  // compare equal.
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return 0;
}

}  // namespace

int CompareVersionsNaturally(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsDigit(a[i]) && IsDigit(b[j])) {
      const size_t a_end = DigitRunEnd(a, i);
      const size_t b_end = DigitRunEnd(b, j);
      const int cmp = CompareDigitRuns(a.substr(i, a_end - i), b.substr(j, b_end - j));
      if (cmp != 0) return cmp;
      i = a_end;
      j = b_end;
      continue;
    }
    if (a[i] != b[j]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    }
    ++i;
    ++j;
  }
  const size_t a_left = a.size() - i;
  const size_t b_left = b.size() - j;
  if (a_left != b_left) return a_left < b_left ? -1 : 1;
  return 0;
}

void SortNewestFirst(std::vector<std::string>& versions) {
  std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
    return CompareVersionsNaturally(a, b) > 0;
  });
}

}  // namespace canarymesh::canary
