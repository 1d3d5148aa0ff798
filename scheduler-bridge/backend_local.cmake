# cm_bridge_backend_local: the local-process ClusterBackend (local_backend.h) and its parts.
# Instances are announced by companion `canarymesh announce` processes, so this library needs no
# ZooKeeper client itself; it uses discovery/ only for the HTTP/TCP health check.
add_library(cm_bridge_backend_local
  local_backend.cc
  local_backend_config.cc
  local_command_template.cc
  local_launch.cc
  local_placement.cc
  local_port_allocator.cc
  local_state.cc
  local_supervisor.cc
  process_probe.cc
  process_spawn.cc
)
target_link_libraries(cm_bridge_backend_local
  PUBLIC cm_bridge_backend_api cm_core Threads::Threads
  PRIVATE cm_discovery yaml-cpp nlohmann_json::nlohmann_json)
