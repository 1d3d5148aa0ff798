// The shape of a module's stats list: each counter or gauge of a per-worker block is declared
// once, in one X-macro list in the module's stats header, and from that list come both the
// block's fields (the hot path bumps a field, never looks up a name) and the descriptors that
// app/ exports to Prometheus (name, help, type). The model is Envoy's ALL_*_STATS lists.
// Header-only; thread-safe (constants).
#pragma once

#include <atomic>
#include <cstdint>

namespace canarymesh::router {

enum class StatType : uint8_t { kCounter, kGauge };

template <typename Block>
struct StatDescriptor {
  const char* name;  // the Prometheus family name
  const char* help;
  StatType type;
  std::atomic<uint64_t> Block::*field;
};

// A per-worker counter is written by its worker only: a relaxed load and store is enough (and
// cheaper than a locked add); other threads only sum.
inline void BumpStat(std::atomic<uint64_t>& c, uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline void DropStat(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

}  // namespace canarymesh::router

// Helpers for the lists' X-macros.
#define CANARYMESH_STAT_FIELD(field, name, help) std::atomic<uint64_t> field{0};
