// The request-body checks FakeKubernetes applies to a Deployment, after the API server's apps/v1
// validation (as of Kubernetes 1.2x): required fields, types, name and label syntax, selector
// matching the template, container/probe/resource shapes, affinity and spread constraints.
// Problems are reported as a Status "Invalid" would list its causes. Thread-safe: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace canarymesh::bridge::testing {

struct KubernetesCause {
  std::string field;    // "spec.template.spec.containers[0].image"
  std::string reason;   // "FieldValueRequired", "FieldValueInvalid", ...
  std::string message;  // "Required value", "Invalid value: ..."
};

std::vector<KubernetesCause> ValidateDeployment(const nlohmann::json& deployment);

// The 422 Status object for these causes.
nlohmann::json InvalidStatus(const std::string& kind, const std::string& group,
                             const std::string& name, const std::vector<KubernetesCause>& causes);

// A Status object for other failures: 401, 403, 404, 409, 415 ...
nlohmann::json FailureStatus(int code, const std::string& reason, const std::string& message);

bool IsDns1123Label(const std::string& text);
bool IsDns1123Subdomain(const std::string& text);
bool IsLabelValue(const std::string& text);

}  // namespace canarymesh::bridge::testing
