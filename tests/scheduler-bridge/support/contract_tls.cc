#include "tests/scheduler-bridge/support/contract_tls.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace canarymesh::bridge::testing {

namespace {

Status Run(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  if (rc != 0) return Status::Internal("command failed (" + std::to_string(rc) + "): " + command);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TestCertificates>> TestCertificates::Generate() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cm-tls-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    return Status::IoError("cannot create a temporary directory");
  std::unique_ptr<TestCertificates> certs(new TestCertificates(pattern));
  const std::string& d = certs->dir_;
  const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  {
    std::ofstream ext(d + "/server.ext");
    ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        << "basicConstraints=CA:FALSE\n"
        << "keyUsage=digitalSignature\n"
        << "extendedKeyUsage=serverAuth\n";
  }
  for (const char* ca : {"ca", "other-ca"}) {
    std::string name(ca);
    Status s = Run(
        "openssl req -x509 " + ec_key + " -keyout " + d + "/" + name + ".key -out " + d + "/" +
        name + ".crt -days 2 -subj /CN=canarymesh-test-" + name +
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    if (!s.ok()) return s;
  }
  {
    std::ofstream ext(d + "/elsewhere.ext");
    ext << "subjectAltName=DNS:elsewhere.example\n";
  }
  for (const char* leaf : {"server", "elsewhere"}) {
    std::string name(leaf);
    Status s = Run("openssl req " + ec_key + " -keyout " + d + "/" + name + ".key -out " + d + "/" +
                   name + ".csr -subj /CN=" + name);
    if (!s.ok()) return s;
    s = Run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.crt -CAkey " + d +
            "/ca.key -CAcreateserial -days 2 -out " + d + "/" + name + ".crt -extfile " + d + "/" +
            name + ".ext");
    if (!s.ok()) return s;
  }
  return certs;
}

TestCertificates::~TestCertificates() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestCertificates::ReadCaPem() const {
  std::ifstream in(ca_file());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace canarymesh::bridge::testing
