// The HTTP client settings both cluster engines' sections share (connect_timeout_ms,
// request_timeout_ms, ca_file), read with core/yaml_fields.h like every other field.
// Thread-compatible: reads into the caller's struct.
#pragma once

#include "core/yaml_fields.h"
#include "scheduler-bridge/http/http_client.h"

namespace canarymesh::bridge {

// Absent keys leave `out` alone; errors go to the field's YamlDocument. False on an error.
bool ReadHttpClientOptions(const YamlField& section, HttpClientOptions* out);

}  // namespace canarymesh::bridge
