// Reading fields of the engines' JSON answers without exceptions: a missing field, or one of the
// wrong type, reads as the given default, so a surprising answer degrades into a clear error
// further up instead of a crash. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace canarymesh::bridge {

// The parsed document, or nullopt when the text is not JSON.
std::optional<nlohmann::json> ParseJson(std::string_view text);

// The member `key` of `object`, or nullptr when `object` is not an object or has no such member.
const nlohmann::json* FieldOf(const nlohmann::json& object, std::string_view key);

std::string StringField(const nlohmann::json& object, std::string_view key,
                        std::string fallback = "");
int64_t IntField(const nlohmann::json& object, std::string_view key, int64_t fallback = 0);
double NumberField(const nlohmann::json& object, std::string_view key, double fallback = 0);
bool BoolField(const nlohmann::json& object, std::string_view key, bool fallback = false);

// The member as an array or object, or an empty one of that kind.
const nlohmann::json& ArrayField(const nlohmann::json& object, std::string_view key);
const nlohmann::json& ObjectField(const nlohmann::json& object, std::string_view key);

}  // namespace canarymesh::bridge
