// YamlFields: the one reader every config loader uses to turn YAML into checked values. Each error
// names the field's path and its place in the text ("bridge.yaml: services[2].steps[1]: must be
// between 1 and 99 (at bridge.yaml:14:20)"). Thread-compatible: one YamlDocument per load.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"

namespace canarymesh {

// How a document spells its scalars. Each loader keeps the spelling its users already write.
enum class YamlSyntax {
  // As yaml-cpp converts them: integers also as 0x1f (hex) and 017 (octal), booleans also as
  // yes/no/on/off/y/n; `key: ~` is present and wrong wherever a value is expected.
  kYamlCpp,
  // Integers in decimal digits only, booleans exactly true/false, numbers finite; `key: ~` (and a
  // section that is absent or null) counts as absent.
  kStrict,
};

// The text loaded once; YAML syntax errors become "source: YAML error: <what> (at source:2:1)".
Result<YAML::Node> LoadYamlText(const std::string& text, const std::string& source);

// " (at source:line:column)", 1-based, for errors a loader words itself; "" for a node that is
// absent or was built in code rather than read.
std::string YamlPosition(const YAML::Mark& mark, const std::string& source = "");
std::string YamlPosition(const YAML::Node& node, const std::string& source = "");

class YamlField;

// One document being read: where it came from and the first error found in it. Later reads
// and failures leave that first error alone, so a loader reads on and checks ok() where a value
// it is about to use matters (or at the end), like a stream's error state.
class YamlDocument {
 public:
  // `source` (a file name, may be empty) prefixes every message and its position; `root_path`
  // names `root` in messages ("backend.local"); empty for a whole file.
  explicit YamlDocument(YAML::Node root, std::string source = "",
                        YamlSyntax syntax = YamlSyntax::kYamlCpp, std::string root_path = "");
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  YamlField Root();
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  friend class YamlField;
  void Fail(const std::string& path, const YAML::Mark& mark, std::string_view message);

  YAML::Node root_;
  std::string source_;
  YamlSyntax syntax_;
  std::string root_path_;
  Status status_;
};

// A place in a YamlDocument: a node (possibly absent) and its field path. Reads leave `*out`
// alone when the field is absent; they return false (and record the error in the document) when
// it is present but wrong. A cheap value; valid while its YamlDocument lives.
class YamlField {
 public:
  YamlField(const YamlField&) = default;
  YamlField& operator=(const YamlField&) = delete;  // as YAML::Node's, it would write the tree

  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  // In the file (for kStrict: and not null).
  bool present() const;

  YamlField operator[](std::string_view key) const;  // "path.key"; absent unless a mapping has it
  YamlField Item(size_t index) const;                // "path[index]"

  // Fails "required" (or `message`) when absent; the error points at the enclosing mapping.
  bool Require(std::string_view message = "required") const;
  // A mapping (kStrict: or absent) whose keys are all in `allowed`; else "expected a mapping", or
  // "unknown field (known: ...)" at the key.
  bool CheckKeys(std::initializer_list<std::string_view> allowed) const;

  bool Read(std::string* out) const;
  bool Read(bool* out) const;
  bool Read(double* out) const;
  // Integers with a range: "must be between min and max" outside it.
  template <typename T>
  bool Read(T* out, long long min = Lowest<T>(), long long max = Highest<T>()) const {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "an integer type");
    long long value = 0;
    if (!ReadInteger(min, max, &value)) return false;
    if (present()) *out = static_cast<T>(value);
    return true;
  }

  // The items of a sequence; none when absent, or (failing "expected <what>") when not a list.
  std::vector<YamlField> Items(std::string_view what = "a list") const;
  // The entries of a mapping as (key, "path.key"); none when absent, or (failing "expected
  // <what>") when not a mapping.
  std::vector<std::pair<std::string, YamlField>> Entries(std::string_view what = "a mapping") const;

  // Records "path: message (at position)" unless the document already failed; returns false.
  bool Fail(std::string_view message) const;
  // An error from a checker that names fields relative to this one ("steps[1]: must increase")
  // is recorded at that field, with that field's position (or the nearest one present).
  bool Fail(const Status& relative) const;
  // The field `relative_path` ("steps[1]", "auth.user") below this one.
  YamlField At(std::string_view relative_path) const;

 private:
  friend class YamlDocument;
  YamlField(YamlDocument* document, YAML::Node node, std::string path, YAML::Mark mark);
  YamlField Child(YAML::Node node, std::string path) const;
  bool ReadInteger(long long min, long long max, long long* out) const;
  // The scalar text of a present field; false (failing "expected <what>") when not a scalar.
  bool ScalarText(std::string_view what, const std::string** text) const;

  template <typename T>
  static constexpr long long Lowest() {
    return static_cast<long long>(std::numeric_limits<T>::lowest());
  }
  template <typename T>
  static constexpr long long Highest() {
    constexpr auto max = std::numeric_limits<T>::max();
    constexpr auto cap = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
    return static_cast<unsigned long long>(max) > cap ? static_cast<long long>(cap)
                                                      : static_cast<long long>(max);
  }

  YamlDocument* document_;
  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;  // the node's position, else the nearest enclosing one (null when unknown)
};

}  // namespace canarymesh
