# Tests of the cluster backends (issue 7). The contract servers are a library of their own: the
# rollout tests run whole rollouts against FakeMarathon and FakeKubernetes as well.
add_library(cm_test_contract_servers STATIC
  contract_http_server.cc
  contract_tls.cc
  marathon_contract_server.cc
  marathon_contract_validation.cc
  kubernetes_contract_server.cc
  kubernetes_contract_validation.cc
)
target_link_libraries(cm_test_contract_servers PUBLIC cm_bridge_http)

canarymesh_test(bridge_http_client_test
  SOURCES http_client_test.cc http_client_url_test.cc http_client_auth_test.cc
  LIBS cm_bridge_http cm_test_contract_servers)
canarymesh_test(bridge_marathon_test
  SOURCES marathon_backend_test.cc marathon_app_definition_test.cc marathon_config_test.cc
  LIBS cm_bridge_backend_cluster cm_test_contract_servers)
canarymesh_test(bridge_kubernetes_test
  SOURCES kubernetes_backend_test.cc kubernetes_manifest_test.cc kubernetes_config_test.cc
  LIBS cm_bridge_backend_cluster cm_test_contract_servers)
