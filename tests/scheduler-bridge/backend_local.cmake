# Tests for the local backend (scheduler-bridge/backend_local.cmake).

# Pure parts and real processes, no ZooKeeper.
canarymesh_test(bridge_local_unit_test
  SOURCES local_config_test.cc local_command_template_test.cc local_placement_test.cc
          local_state_test.cc local_process_test.cc
  LIBS cm_bridge_backend_local yaml-cpp)

# Real processes and a real ZooKeeper: canarymesh-sample as the instance, the real
# `canarymesh announce` as its companion, and local_backend_holder as a bridge to SIGKILL.
add_executable(local_backend_holder local_backend_holder.cc)
target_link_libraries(local_backend_holder PRIVATE cm_bridge_backend_local yaml-cpp)
canarymesh_test(bridge_local_backend_test
  SOURCES local_backend_test.cc local_backend_takeover_test.cc local_backend_test_support.cc
  LIBS cm_bridge_backend_local cm_zk_test_server cm_discovery)
add_dependencies(bridge_local_backend_test canarymesh canarymesh-sample local_backend_holder)
target_compile_definitions(bridge_local_backend_test PRIVATE
  CANARYMESH_BINARY="$<TARGET_FILE:canarymesh>"
  SAMPLE_BINARY="$<TARGET_FILE:canarymesh-sample>"
  HOLDER_BINARY="$<TARGET_FILE:local_backend_holder>")
