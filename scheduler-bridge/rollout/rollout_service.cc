#include "scheduler-bridge/rollout/rollout_service.h"

namespace canarymesh::bridge {
namespace {

std::string WithVersion(std::string text, const std::string& version) {
  const std::string placeholder = "{version}";
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at)) {
    text.replace(at, placeholder.size(), version);
    at += version.size();
  }
  return text;
}

}  // namespace

InstanceGroupSpec GroupSpecFor(const RolloutServiceConfig& service, const std::string& version,
                               const std::string& artifact, const std::string& image,
                               uint32_t instances) {
  InstanceGroupSpec spec;
  spec.service = service.name;
  spec.version = version;
  // Filled in here so that every engine sees the same text, whether or not it knows {version}.
  spec.artifact = WithVersion(artifact.empty() ? service.artifact : artifact, version);
  spec.image = WithVersion(image.empty() ? service.image : image, version);
  spec.instances = instances;
  spec.cpus = service.cpus;
  spec.mem_mb = service.mem_mb;
  spec.constraints = service.constraints;
  spec.env = service.env;
  spec.labels = service.labels;
  spec.labels["app"] = service.name;
  spec.labels["version"] = version;
  spec.health = service.health;
  spec.serverset_path = service.serverset_path;
  spec.stop_grace_period_ms = service.stop_grace_period_ms;
  return spec;
}

}  // namespace canarymesh::bridge
