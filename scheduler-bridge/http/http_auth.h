// Authorization header values for the engines' APIs: HTTP basic (Marathon behind a proxy), bearer
// tokens (Kubernetes service accounts) and DC/OS's "token=" scheme, plus reading a token file.
// Tokens are re-read on every call because they rotate (Kubernetes projected tokens expire within
// hours and the kubelet rewrites the file). Thread-safe: pure functions.
#pragma once

#include <string>

#include "core/status.h"

namespace canarymesh::bridge {

std::string BasicAuthorization(const std::string& user, const std::string& password);
std::string BearerAuthorization(const std::string& token);
std::string DcosTokenAuthorization(const std::string& token);

// The file's contents with surrounding whitespace trimmed; an error naming the file when it
// cannot be read or is empty.
Result<std::string> ReadTokenFile(const std::string& path);

}  // namespace canarymesh::bridge
