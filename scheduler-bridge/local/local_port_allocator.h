// Picks instance ports for the local backend from the configured range: a port is handed out
// when no instance of ours holds it (running or waiting to restart) and a test bind on it
// succeeds, so ports other programs listen on are skipped. Thread-safe: pure functions (the
// caller serializes allocations against its own record of ports in use).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "core/status.h"

namespace canarymesh::bridge {

// Whether a listener could bind `port` on all addresses right now (SO_REUSEADDR, as servers set).
bool PortLooksFree(uint16_t port);

// The lowest port in [min, max] that is not in `taken` and looks free. Unavailable when none is,
// with the range and how many ports our own instances hold in it.
Result<uint16_t> PickFreePort(uint16_t min, uint16_t max, const std::set<uint16_t>& taken);

}  // namespace canarymesh::bridge
