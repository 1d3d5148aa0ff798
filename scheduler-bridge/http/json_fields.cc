#include "scheduler-bridge/http/json_fields.h"

#include <cmath>

namespace canarymesh::bridge {

std::optional<nlohmann::json> ParseJson(std::string_view text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

const nlohmann::json* FieldOf(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringField(const nlohmann::json& object, std::string_view key, std::string fallback) {
  const nlohmann::json* field = FieldOf(object, key);
  return field && field->is_string() ? field->get<std::string>() : fallback;
}

int64_t IntField(const nlohmann::json& object, std::string_view key, int64_t fallback) {
  const nlohmann::json* field = FieldOf(object, key);
  if (!field) return fallback;
  if (field->is_number_integer()) return field->get<int64_t>();
  if (field->is_number_unsigned()) {
    uint64_t value = field->get<uint64_t>();
    return value > static_cast<uint64_t>(INT64_MAX) ? fallback : static_cast<int64_t>(value);
  }
  if (field->is_number_float()) {
    double value = field->get<double>();
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9e18) {
      return static_cast<int64_t>(value);
    }
  }
  return fallback;
}

double NumberField(const nlohmann::json& object, std::string_view key, double fallback) {
  const nlohmann::json* field = FieldOf(object, key);
  return field && field->is_number() ? field->get<double>() : fallback;
}

bool BoolField(const nlohmann::json& object, std::string_view key, bool fallback) {
  const nlohmann::json* field = FieldOf(object, key);
  return field && field->is_boolean() ? field->get<bool>() : fallback;
}

const nlohmann::json& ArrayField(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json* field = FieldOf(object, key);
  return field && field->is_array() ? *field : kEmpty;
}

const nlohmann::json& ObjectField(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json* field = FieldOf(object, key);
  return field && field->is_object() ? *field : kEmpty;
}

}  // namespace canarymesh::bridge
