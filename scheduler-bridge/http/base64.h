// Base64 (RFC 4648, standard alphabet with padding) for HTTP basic credentials and kubeconfig's
// *-data fields. Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace canarymesh::bridge {

std::string Base64Encode(std::string_view data);

// Ignores whitespace (kubeconfig values are sometimes wrapped); rejects other non-alphabet bytes
// and bad padding.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace canarymesh::bridge
