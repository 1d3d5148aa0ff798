// The request-body checks FakeMarathon applies to an app definition, after Marathon 1.x's
// AppDefinition schema (types/app.raml, healthCheck.raml, constraint.raml): required fields,
// types, ranges and enums. Each problem is reported the way Marathon's 422 "details" are:
// a JSON pointer and error strings. Thread-safe: a pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace canarymesh::bridge::testing {

struct MarathonViolation {
  std::string path;  // "/cpus", "/healthChecks/0/protocol"
  std::string error;
};

std::vector<MarathonViolation> ValidateMarathonApp(const nlohmann::json& app);

// Marathon's 422 body for these violations.
nlohmann::json MarathonInvalidBody(const std::vector<MarathonViolation>& violations);

// Whether `id` is an absolute Marathon path whose every segment is valid.
bool IsMarathonPath(const std::string& id);

}  // namespace canarymesh::bridge::testing
