#include "scheduler-bridge/local/local_command_template.h"

#include <cctype>
#include <cstring>

namespace canarymesh::bridge {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

Result<std::vector<std::string>> SplitCommandTemplate(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = text.find('\'', i + 1);
      if (end == std::string::npos) {
        return Status::InvalidArgument("command: unterminated ' starting at offset " +
                                       std::to_string(i));
      }
      word.append(text, i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        // Inside double quotes a backslash escapes only what a shell would let it escape.
        if (text[j] == '\\' && j + 1 < text.size() && std::strchr("\"\\$`", text[j + 1]) != nullptr)
          ++j;
        word.push_back(text[j]);
      }
      if (j >= text.size()) {
        return Status::InvalidArgument("command: unterminated \" starting at offset " +
                                       std::to_string(i));
      }
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return Status::InvalidArgument("command: trailing backslash");
      word.push_back(text[++i]);
    } else if (std::strchr("|&;<>()`$*?", c) != nullptr) {
      return Status::InvalidArgument(
          std::string("command: unquoted '") + c +
          "' is shell syntax, and the command runs without a shell; quote "
          "it, or run the command as sh -c '...'");
    } else {
      word.push_back(c);
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return Status::InvalidArgument("command: empty");
  return words;
}

Result<std::vector<std::string>> ExpandPlaceholders(
    const std::vector<std::string>& words, const std::map<std::string, std::string>& values) {
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const std::string& word : words) {
    std::string expanded;
    for (size_t i = 0; i < word.size(); ++i) {
      if (word[i] == '{') {
        size_t end = i + 1;
        while (end < word.size() && IsNameChar(word[end])) ++end;
        if (end < word.size() && word[end] == '}' && end > i + 1) {
          std::string name = word.substr(i + 1, end - i - 1);
          auto it = values.find(name);
          if (it == values.end()) {
            std::string known;
            for (const auto& kv : values) known += (known.empty() ? "{" : ", {") + kv.first + "}";
            return Status::InvalidArgument("command: unknown placeholder {" + name +
                                           "} (known: " + known + ")");
          }
          expanded += it->second;
          i = end;
          continue;
        }
      }
      expanded.push_back(word[i]);
    }
    out.push_back(std::move(expanded));
  }
  return out;
}

}  // namespace canarymesh::bridge
