#include "scheduler-bridge/cluster/cluster_config_yaml.h"

#include <cstdint>

namespace canarymesh::bridge {

bool ReadHttpClientOptions(const YamlField& section, HttpClientOptions* out) {
  // A zero timeout would mean "fail at once", never what an operator meant.
  return section["connect_timeout_ms"].Read(&out->connect_timeout_ms, 1, UINT32_MAX) &&
         section["request_timeout_ms"].Read(&out->request_timeout_ms, 1, UINT32_MAX) &&
         section["ca_file"].Read(&out->ca_file);
}

}  // namespace canarymesh::bridge
