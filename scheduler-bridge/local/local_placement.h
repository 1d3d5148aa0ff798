// Which Marathon-style placement constraints one machine cannot honour, for the local backend's
// Unsatisfiable(): every instance runs on this host, which has a hostname and no other
// attributes. One human-readable line per constraint that fails. Thread-safe: a pure function.
#pragma once

#include <string>
#include <vector>

#include "scheduler-bridge/backend.h"

namespace canarymesh::bridge {

// `hostname` is this machine's name (gethostname), a parameter so tests can fix it.
std::vector<std::string> LocalPlacementProblems(const InstanceGroupSpec& spec,
                                                const std::string& hostname);

// gethostname(), or "localhost" if that fails.
std::string LocalHostname();

}  // namespace canarymesh::bridge
