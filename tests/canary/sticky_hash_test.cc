#include "canary/sticky_hash.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <set>
#include <string>

namespace canarymesh::canary {
namespace {

// Sticky users move between versions if the hash ever changes, so its output is pinned. These
// values were produced by this implementation; a failure here means a behaviour change.
TEST(StickyHashTest, GoldenValuesNeverChange) {
  EXPECT_EQ(StickyHash64(""), 0x9fe14f16be02bde3ull);
  EXPECT_EQ(StickyHash64("a"), 0x53b25cfbfecf2b29ull);
  EXPECT_EQ(StickyHash64("user-12345"), 0x86450c1b1c32edd7ull);
  EXPECT_EQ(StickyHash64("10.0.0.3"), 0xa50808e4148921f1ull);
}

TEST(StickyHashTest, SmallChangesGiveDifferentHashes) {
  EXPECT_NE(StickyHash64("a"), StickyHash64(std::string("a\0", 2)));
  EXPECT_NE(StickyHash64("user-1"), StickyHash64("user-2"));
  EXPECT_NE(StickyHash64("abcdefgh"), StickyHash64("abcdefgi"));
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(StickyHash64("user-" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 10000u);
}

// Sequential ids must spread evenly over [0, 1): chi-square over 64 equal cells. The inputs are
// fixed, so the statistic is a fixed number; the bound (df = 63, far beyond p = 1e-6 at ~120)
// only needs to catch a hash that clusters.
TEST(StickyHashTest, SequentialIdsSpreadEvenly) {
  constexpr int kKeys = 64000;
  constexpr int kCells = 64;
  std::array<int, kCells> cells{};
  for (int i = 0; i < kKeys; ++i) ++cells[StickyHash64("user-" + std::to_string(i)) >> 58];
  const double expected = double(kKeys) / kCells;
  double chi_square = 0;
  for (int observed : cells) chi_square += (observed - expected) * (observed - expected) / expected;
  EXPECT_LT(chi_square, 130.0);
}

// Flipping one input bit should flip about half of the output bits.
TEST(StickyHashTest, Avalanche) {
  std::string key = "user-000042";
  const uint64_t base = StickyHash64(key);
  double total_flipped = 0;
  int trials = 0;
  for (size_t byte = 0; byte < key.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = key;
      changed[byte] = static_cast<char>(changed[byte] ^ (1 << bit));
      total_flipped += std::popcount(base ^ StickyHash64(changed));
      ++trials;
    }
  }
  const double mean = total_flipped / trials;
  EXPECT_GT(mean, 28.0);
  EXPECT_LT(mean, 36.0);
}

}  // namespace
}  // namespace canarymesh::canary
