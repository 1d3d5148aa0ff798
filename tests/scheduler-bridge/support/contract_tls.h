// TestCertificates: a throw-away certificate authority and a server certificate it signed (for
// "localhost" and 127.0.0.1), plus an unrelated second CA and a certificate for another name,
// generated with the openssl CLI in a temporary directory so that tests exercise real TLS
// verification, and its failure. Thread-compatible; the directory is removed by the destructor.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace canarymesh::bridge::testing {

class TestCertificates {
 public:
  static Result<std::unique_ptr<TestCertificates>> Generate();
  ~TestCertificates();

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string server_cert_file() const { return dir_ + "/server.crt"; }
  std::string server_key_file() const { return dir_ + "/server.key"; }
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }  // trusts nothing here
  // Signed by ca.crt but for "elsewhere.example" only: a host-name mismatch for 127.0.0.1.
  std::string elsewhere_cert_file() const { return dir_ + "/elsewhere.crt"; }
  std::string elsewhere_key_file() const { return dir_ + "/elsewhere.key"; }
  std::string ReadCaPem() const;

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace canarymesh::bridge::testing
