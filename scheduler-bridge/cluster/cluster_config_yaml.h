// Reading the cluster backends' YAML settings into checked config structs: each helper leaves the
// output alone when the key is absent and returns an InvalidArgument naming the field
// ("marathon.auth.token_file: expected a string") when it is malformed. yaml-cpp's exceptions stay
// inside these helpers. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include <yaml-cpp/yaml.h>

#include "core/status.h"
#include "scheduler-bridge/http/http_client.h"

namespace canarymesh::bridge {

std::string JoinField(const std::string& parent, const std::string& key);

// `node` must be a map (or absent/null) whose keys are all in `allowed`.
Status CheckYamlKeys(const YAML::Node& node, const std::string& field, std::initializer_list<const char*> allowed);

Status ReadYamlString(const YAML::Node& map, const char* key, const std::string& field, std::string* out);
Status ReadYamlUint(const YAML::Node& map, const char* key, const std::string& field, uint32_t* out);
Status ReadYamlDouble(const YAML::Node& map, const char* key, const std::string& field, double* out);
Status ReadYamlBool(const YAML::Node& map, const char* key, const std::string& field, bool* out);

// connect_timeout_ms, request_timeout_ms and ca_file, shared by both engines' sections.
Status ReadHttpClientOptions(const YAML::Node& map, const std::string& field, HttpClientOptions* out);

}  // namespace canarymesh::bridge
