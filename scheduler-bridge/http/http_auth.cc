#include "scheduler-bridge/http/http_auth.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "scheduler-bridge/http/base64.h"

namespace canarymesh::bridge {

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  return "Basic " + Base64Encode(user + ":" + password);
}

std::string BearerAuthorization(const std::string& token) { return "Bearer " + token; }

std::string DcosTokenAuthorization(const std::string& token) { return "token=" + token; }

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read token file " + path + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  std::string token = content.str();
  size_t begin = token.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos)
    return Status::InvalidArgument("token file " + path + " is empty");
  size_t end = token.find_last_not_of(" \t\r\n");
  token = token.substr(begin, end - begin + 1);
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("token file " + path + " holds more than one line");
  }
  return token;
}

}  // namespace canarymesh::bridge
