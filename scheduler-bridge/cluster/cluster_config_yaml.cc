#include "scheduler-bridge/cluster/cluster_config_yaml.h"

#include <cmath>

namespace canarymesh::bridge {

namespace {

Status Malformed(const std::string& field, const char* key, const char* expected) {
  return Status::InvalidArgument(JoinField(field, key) + ": expected " + expected);
}

// The scalar text at map[key]; false with `error` set when present but not a scalar.
bool ScalarAt(const YAML::Node& map, const char* key, const std::string& field, const char* expected,
              std::string* text, bool* present, Status* error) {
  *present = false;
  try {
    YAML::Node value = map[key];
    if (!value.IsDefined() || value.IsNull()) return true;
    *present = true;
    if (!value.IsScalar()) {
      *error = Malformed(field, key, expected);
      return false;
    }
    *text = value.Scalar();
    return true;
  } catch (const YAML::Exception&) {
    *error = Malformed(field, key, expected);
    return false;
  }
}

}  // namespace

std::string JoinField(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

Status CheckYamlKeys(const YAML::Node& node, const std::string& field, std::initializer_list<const char*> allowed) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return Status::InvalidArgument(field + ": expected a map");
  for (const auto& entry : node) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) {
      std::string list;
      for (const char* name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return Status::InvalidArgument(JoinField(field, key) + ": unknown key (expected one of " + list + ")");
    }
  }
  return Status::Ok();
}

Status ReadYamlString(const YAML::Node& map, const char* key, const std::string& field, std::string* out) {
  std::string text;
  bool present = false;
  Status error;
  if (!ScalarAt(map, key, field, "a string", &text, &present, &error)) return error;
  if (present) *out = text;
  return Status::Ok();
}

Status ReadYamlUint(const YAML::Node& map, const char* key, const std::string& field, uint32_t* out) {
  std::string text;
  bool present = false;
  Status error;
  if (!ScalarAt(map, key, field, "a non-negative integer", &text, &present, &error)) return error;
  if (!present) return Status::Ok();
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Malformed(field, key, "a non-negative integer");
  }
  uint64_t value = std::stoull(text);
  if (value > UINT32_MAX) return Malformed(field, key, "an integer below 2^32");
  *out = static_cast<uint32_t>(value);
  return Status::Ok();
}

Status ReadYamlDouble(const YAML::Node& map, const char* key, const std::string& field, double* out) {
  std::string text;
  bool present = false;
  Status error;
  if (!ScalarAt(map, key, field, "a number", &text, &present, &error)) return error;
  if (!present) return Status::Ok();
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(value)) return Malformed(field, key, "a number");
    *out = value;
  } catch (const std::exception&) {
    return Malformed(field, key, "a number");
  }
  return Status::Ok();
}

Status ReadYamlBool(const YAML::Node& map, const char* key, const std::string& field, bool* out) {
  std::string text;
  bool present = false;
  Status error;
  if (!ScalarAt(map, key, field, "true or false", &text, &present, &error)) return error;
  if (!present) return Status::Ok();
  if (text == "true") {
    *out = true;
  } else if (text == "false") {
    *out = false;
  } else {
    return Malformed(field, key, "true or false");
  }
  return Status::Ok();
}

Status ReadHttpClientOptions(const YAML::Node& map, const std::string& field, HttpClientOptions* out) {
  Status s = ReadYamlUint(map, "connect_timeout_ms", field, &out->connect_timeout_ms);
  if (s.ok()) s = ReadYamlUint(map, "request_timeout_ms", field, &out->request_timeout_ms);
  if (s.ok()) s = ReadYamlString(map, "ca_file", field, &out->ca_file);
  if (!s.ok()) return s;
  if (out->connect_timeout_ms == 0 || out->request_timeout_ms == 0) {
    return Status::InvalidArgument(field + ": timeouts must be positive");
  }
  return Status::Ok();
}

}  // namespace canarymesh::bridge
