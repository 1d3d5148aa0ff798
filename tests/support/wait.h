// Waiting in tests for something another thread or process does: poll a condition until it
// holds or a timeout passes. The timeout bounds a failing test; it is not a benchmark.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>

namespace canarymesh::testing {

// Polls `condition` every `poll` until it holds or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(30),
               std::chrono::milliseconds poll = std::chrono::milliseconds(5));

}  // namespace canarymesh::testing
