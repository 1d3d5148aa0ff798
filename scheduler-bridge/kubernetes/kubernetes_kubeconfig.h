// Reading the parts of a kubeconfig file (clientcmd v1) the bridge uses: the current (or named)
// context's cluster server and CA, its user's bearer token, and its namespace. Client
// certificates, exec plugins and auth providers are not supported: such a kubeconfig gets an
// error that says so (use a service-account token instead). Thread-safe: a pure function.
#pragma once

#include <string>

#include "core/status.h"

namespace canarymesh::bridge {

struct KubeconfigCredentials {
  std::string server;          // https://host:port
  std::string ca_file;         // certificate-authority, made absolute against the file's directory
  std::string ca_pem;          // certificate-authority-data, decoded
  std::string token;           // user.token
  std::string token_file;      // user.tokenFile, made absolute
  std::string namespace_name;  // context.namespace, "" when unset
};

// `context` empty: the file's current-context.
Result<KubeconfigCredentials> LoadKubeconfig(const std::string& path,
                                             const std::string& context = "");

}  // namespace canarymesh::bridge
