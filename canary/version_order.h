// Natural ordering of version names ("v2" < "v9" < "v10", "1.9.3" < "1.10.0"), used to put the
// newest version first when walking weights for sticky routing.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace canarymesh::canary {

// <0, 0, >0 like strcmp. Runs of digits compare as numbers (leading zeros ignored, ties broken
// by the longer run so the order stays total), everything else byte by byte.
int CompareVersionsNaturally(std::string_view a, std::string_view b);

// Sorts newest first: descending natural order.
void SortNewestFirst(std::vector<std::string>& versions);

}  // namespace canarymesh::canary
