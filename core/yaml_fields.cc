#include "core/yaml_fields.h"

#include <algorithm>
#include <cmath>

namespace canarymesh {
namespace {

YAML::Mark MarkOf(const YAML::Node& node, const YAML::Mark& fallback) {
  if (!node.IsDefined()) return fallback;  // Mark() throws on a missing key's node
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark;
}

std::string Join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Decimal digits with an optional '-'; false on anything else. Past the range of long long the
// value is clamped, which the caller's range check then refuses.
bool ParseDecimal(const std::string& text, long long* out) {
  size_t i = text.size() > 1 && text[0] == '-' ? 1 : 0;
  if (i == text.size()) return false;
  unsigned long long value = 0;
  constexpr unsigned long long kCap = 1ull << 63;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = std::min(kCap, value * 10 + static_cast<unsigned>(text[i] - '0'));
  }
  if (text[0] == '-') {
    *out = value >= kCap ? std::numeric_limits<long long>::min() : -static_cast<long long>(value);
  } else {
    *out = value >= kCap ? std::numeric_limits<long long>::max() : static_cast<long long>(value);
  }
  return true;
}

}  // namespace

std::string YamlPosition(const YAML::Mark& mark, const std::string& source) {
  if (mark.is_null()) return "";
  return " (at " + (source.empty() ? "" : source + ":") + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1) + ")";
}

std::string YamlPosition(const YAML::Node& node, const std::string& source) {
  return YamlPosition(MarkOf(node, YAML::Mark::null_mark()), source);
}

Result<YAML::Node> LoadYamlText(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument((source.empty() ? "" : source + ": ") + "YAML error: " + e.msg +
                                   YamlPosition(e.mark, source));
  }
}

YamlDocument::YamlDocument(YAML::Node root, std::string source, YamlSyntax syntax,
                           std::string root_path)
    : root_(std::move(root)),
      source_(std::move(source)),
      syntax_(syntax),
      root_path_(std::move(root_path)) {}

YamlField YamlDocument::Root() {
  return YamlField(this, root_, root_path_, MarkOf(root_, YAML::Mark::null_mark()));
}

void YamlDocument::Fail(const std::string& path, const YAML::Mark& mark, std::string_view message) {
  if (!status_.ok()) return;
  status_ = Status::InvalidArgument((source_.empty() ? "" : source_ + ": ") +
                                    (path.empty() ? "(top level)" : path) + ": " +
                                    std::string(message) + YamlPosition(mark, source_));
}

YamlField::YamlField(YamlDocument* document, YAML::Node node, std::string path, YAML::Mark mark)
    : document_(document), node_(std::move(node)), path_(std::move(path)), mark_(mark) {}

YamlField YamlField::Child(YAML::Node node, std::string path) const {
  YAML::Mark mark = MarkOf(node, mark_);
  return YamlField(document_, std::move(node), std::move(path), mark);
}

bool YamlField::present() const {
  return node_.IsDefined() && !(document_->syntax_ == YamlSyntax::kStrict && node_.IsNull());
}

// Nodes are only ever copy-constructed here: yaml-cpp's Node::operator= writes into the tree.
YamlField YamlField::operator[](std::string_view key) const {
  const YAML::Node& map = node_;  // the const lookup does not add the key
  const bool found = node_.IsDefined() && node_.IsMap();
  return Child(found ? map[std::string(key)] : YAML::Node(YAML::NodeType::Undefined),
               Join(path_, key));
}

YamlField YamlField::Item(size_t index) const {
  const YAML::Node& list = node_;
  const bool found = node_.IsDefined() && node_.IsSequence() && index < node_.size();
  return Child(found ? list[index] : YAML::Node(YAML::NodeType::Undefined),
               path_ + "[" + std::to_string(index) + "]");
}

bool YamlField::Require(std::string_view message) const { return present() || Fail(message); }

bool YamlField::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  if (!present() && document_->syntax_ == YamlSyntax::kStrict) return true;
  if (!node_.IsDefined() || !node_.IsMap()) return Fail("expected a mapping");
  for (const auto& entry : node_) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::vector<std::string_view> known(allowed);
    std::sort(known.begin(), known.end());
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return Child(entry.first, Join(path_, key)).Fail("unknown field (known: " + list + ")");
  }
  return true;
}

bool YamlField::ScalarText(std::string_view what, const std::string** text) const {
  if (!node_.IsScalar()) return Fail("expected " + std::string(what));
  *text = &node_.Scalar();
  return true;
}

bool YamlField::Read(std::string* out) const {
  const std::string* text = nullptr;
  if (!present()) return true;
  if (!ScalarText("a string", &text)) return false;
  *out = *text;
  return true;
}

bool YamlField::Read(bool* out) const {
  const std::string* text = nullptr;
  if (!present()) return true;
  if (!ScalarText("true or false", &text)) return false;
  bool value = false;
  bool parsed = document_->syntax_ == YamlSyntax::kYamlCpp
                    ? YAML::convert<bool>::decode(node_, value)
                    : (*text == "true" || *text == "false");
  if (!parsed) return Fail("expected true or false, got '" + *text + "'");
  *out = document_->syntax_ == YamlSyntax::kYamlCpp ? value : *text == "true";
  return true;
}

bool YamlField::Read(double* out) const {
  const std::string* text = nullptr;
  if (!present()) return true;
  if (!ScalarText("a number", &text)) return false;
  double value = 0;
  bool parsed = false;
  if (document_->syntax_ == YamlSyntax::kYamlCpp) {
    parsed = YAML::convert<double>::decode(node_, value);
  } else {
    try {
      size_t used = 0;
      value = std::stod(*text, &used);
      parsed = used == text->size() && std::isfinite(value);
    } catch (const std::exception&) {
    }
  }
  if (!parsed) return Fail("expected a number, got '" + *text + "'");
  *out = value;
  return true;
}

bool YamlField::ReadInteger(long long min, long long max, long long* out) const {
  const std::string* text = nullptr;
  if (!present()) return true;
  if (!ScalarText("an integer", &text)) return false;
  long long value = 0;
  bool parsed = document_->syntax_ == YamlSyntax::kYamlCpp
                    ? YAML::convert<long long>::decode(node_, value)
                    : ParseDecimal(*text, &value);
  if (!parsed) return Fail("expected an integer, got '" + *text + "'");
  if (value < min || value > max) {
    return Fail("must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  *out = value;
  return true;
}

std::vector<YamlField> YamlField::Items(std::string_view what) const {
  std::vector<YamlField> items;
  if (!present()) return items;
  if (!node_.IsSequence()) {
    Fail("expected " + std::string(what));
    return items;
  }
  for (size_t i = 0; i < node_.size(); ++i) items.push_back(Item(i));
  return items;
}

std::vector<std::pair<std::string, YamlField>> YamlField::Entries(std::string_view what) const {
  std::vector<std::pair<std::string, YamlField>> entries;
  if (!present()) return entries;
  if (!node_.IsMap()) {
    Fail("expected " + std::string(what));
    return entries;
  }
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) {
      Child(entry.first, Join(path_, "?")).Fail("expected a name as the key");
      return {};
    }
    const std::string& key = entry.first.Scalar();
    entries.emplace_back(key, Child(entry.second, Join(path_, key)));
  }
  return entries;
}

bool YamlField::Fail(std::string_view message) const {
  document_->Fail(path_, mark_, message);
  return false;
}

bool YamlField::Fail(const Status& relative) const {
  const std::string& message = relative.message();
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return Fail(message);
  return At(std::string_view(message).substr(0, colon)).Fail(message.substr(colon + 2));
}

YamlField YamlField::At(std::string_view relative_path) const {
  if (relative_path.empty()) return *this;
  if (relative_path[0] == '.') return At(relative_path.substr(1));
  if (relative_path[0] == '[') {
    const size_t close = relative_path.find(']');
    long long index = 0;
    if (close == std::string_view::npos ||
        !ParseDecimal(std::string(relative_path.substr(1, close - 1)), &index) || index < 0) {
      return *this;
    }
    return Item(static_cast<size_t>(index)).At(relative_path.substr(close + 1));
  }
  const size_t end = std::min(relative_path.find_first_of(".["), relative_path.size());
  return (*this)[relative_path.substr(0, end)].At(relative_path.substr(end));
}

}  // namespace canarymesh
