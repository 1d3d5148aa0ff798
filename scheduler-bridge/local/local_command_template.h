// Turns the local backend's command template ("canarymesh-sample --listen 127.0.0.1:{port}
// --version {version}") into an argv without a shell: the template is split into words first
// (whitespace separates; '...' and "..." quote; backslash escapes), and only then are {port},
// {version}, {instance} and {service} replaced inside each word, so a value can never add words
// or shell syntax. Unquoted shell operators (| & ; < > etc.) are rejected: wrap the command in
// `sh -c '...'` to get a shell. Thread-safe: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace canarymesh::bridge {

// Words of the template with quotes removed, placeholders still in place.
Result<std::vector<std::string>> SplitCommandTemplate(const std::string& command_template);

// Replaces every {name} with values.at(name); an unknown {name} is an error naming it. Braces not
// around a plain name (e.g. JSON "{}" or "{a b}") are kept as written.
Result<std::vector<std::string>> ExpandPlaceholders(
    const std::vector<std::string>& words, const std::map<std::string, std::string>& values);

}  // namespace canarymesh::bridge
