// The hash that places a sticky key (user id, client address) at a fixed point in [0, 1) of the
// traffic split. Its output is part of the product's behaviour: changing it moves sticky users
// between versions, so it is pinned by golden values in tests. Thread-safe: pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace canarymesh::canary {

// 64-bit hash, MurmurHash3-style (x64 block mix + fmix64 finaliser), written out here rather
// than std::hash because std::hash is implementation-defined and may change with the standard
// library, and FNV-style hashes mix the low bits poorly for short sequential ids ("user-1",
// "user-2"): fmix64 gives full avalanche, so neighbouring keys land far apart in [0, 1).
// Bytes are read explicitly little-endian, so the result is the same on every platform.
uint64_t StickyHash64(std::string_view key);

}  // namespace canarymesh::canary
