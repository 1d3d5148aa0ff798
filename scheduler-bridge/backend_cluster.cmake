# Cluster backends (issue 7): an HTTP client for the engines' REST APIs, and the Marathon and
# Kubernetes implementations of ClusterBackend.
find_package(OpenSSL REQUIRED)
find_package(Boost 1.74 REQUIRED)  # Beast and Asio are header-only

add_library(cm_bridge_http
  base64.cc
  http_auth.cc
  http_client.cc
  http_url.cc
  json_fields.cc
)
target_link_libraries(cm_bridge_http PUBLIC cm_core Boost::headers OpenSSL::SSL OpenSSL::Crypto
  nlohmann_json::nlohmann_json Threads::Threads)

add_library(cm_bridge_backend_cluster
  cluster_config_yaml.cc
  marathon_app_definition.cc
  marathon_app_status.cc
  marathon_backend.cc
  marathon_config.cc
  kubernetes_config.cc
  kubernetes_kubeconfig.cc
  kubernetes_deployment_manifest.cc
  kubernetes_deployment_status.cc
  kubernetes_backend.cc
)
target_link_libraries(cm_bridge_backend_cluster PUBLIC cm_bridge_backend_api cm_bridge_http yaml-cpp)
