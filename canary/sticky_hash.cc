#include "canary/sticky_hash.h"

#include <bit>
#include <cstddef>

namespace canarymesh::canary {
namespace {

// MurmurHash3 x64 constants.
constexpr uint64_t kC1 = 0x87c37b91114253d5ull;
constexpr uint64_t kC2 = 0x4cf5ad432745937full;
// Fixed seed: any constant works; it must simply never change.
constexpr uint64_t kSeed = 0x2f6c5d1b8a4e9073ull;

uint64_t LoadLittleEndian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i > 0; --i) v = (v << 8) | p[i - 1];
  return v;
}

uint64_t MixBlock(uint64_t k) {
  k *= kC1;
  k = std::rotl(k, 31);
  k *= kC2;
  return k;
}

// Murmur3's finaliser: every input bit flips each output bit with probability ~1/2.
uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

}  // namespace

uint64_t StickyHash64(std::string_view key) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  const size_t size = key.size();
  uint64_t h = kSeed;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    h ^= MixBlock(LoadLittleEndian(bytes + i, 8));
    h = std::rotl(h, 27) * 5 + 0x52dce729;
  }
  if (i < size) h ^= MixBlock(LoadLittleEndian(bytes + i, size - i));
  // Folding the length in keeps "a" and "a\0" apart.
  return Fmix64(h ^ static_cast<uint64_t>(size));
}

}  // namespace canarymesh::canary
