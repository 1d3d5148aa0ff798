// The shared YAML field reader: values, defaults for absent fields, and errors that name the
// field's path and its line:column.
#include "core/yaml_fields.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace canarymesh {
namespace {

YAML::Node Load(const std::string& text) { return YAML::Load(text); }

TEST(YamlFieldsTest, ReadsValuesAndLeavesAbsentOnesAlone) {
  YamlDocument doc(Load("name: edge\nport: 8080\non: true\nratio: 0.25\n"), "f.yaml");
  const YamlField root = doc.Root();
  std::string name, missing = "kept";
  uint32_t port = 0, other = 7;
  bool on = false;
  double ratio = 0;
  EXPECT_TRUE(root["name"].Read(&name));
  EXPECT_TRUE(root["port"].Read(&port, 1, 65535));
  EXPECT_TRUE(root["on"].Read(&on));
  EXPECT_TRUE(root["ratio"].Read(&ratio));
  EXPECT_TRUE(root["missing"].Read(&missing));
  EXPECT_TRUE(root["other"].Read(&other));
  EXPECT_FALSE(root["missing"].present());
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(name, "edge");
  EXPECT_EQ(port, 8080u);
  EXPECT_TRUE(on);
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  EXPECT_EQ(missing, "kept");
  EXPECT_EQ(other, 7u);
}

TEST(YamlFieldsTest, WrongTypeNamesPathAndPosition) {
  YamlDocument doc(Load("a:\n  b: [1]\n"), "f.yaml");
  std::string b;
  EXPECT_FALSE(doc.Root()["a"]["b"].Read(&b));
  EXPECT_EQ(doc.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(doc.status().message(), "f.yaml: a.b: expected a string (at f.yaml:2:6)");
}

TEST(YamlFieldsTest, UnknownKeyIsReportedAtTheKeyWithTheKnownOnes) {
  YamlDocument doc(Load("listen: x\n  # comment\ncolour: red\n"), "f.yaml");
  EXPECT_FALSE(doc.Root().CheckKeys({"token", "listen"}));
  EXPECT_EQ(doc.status().message(),
            "f.yaml: colour: unknown field (known: listen, token) (at f.yaml:3:1)");
}

TEST(YamlFieldsTest, OutOfRangeAndNotANumber) {
  YamlDocument doc(Load("n: 11\n"));
  uint32_t n = 0;
  EXPECT_FALSE(doc.Root()["n"].Read(&n, 1, 10));
  EXPECT_EQ(doc.status().message(), "n: must be between 1 and 10 (at 1:4)");
  EXPECT_EQ(n, 0u);

  YamlDocument word(Load("{n: soon}"), "", YamlSyntax::kYamlCpp, "section");
  EXPECT_FALSE(word.Root()["n"].Read(&n));
  EXPECT_EQ(word.status().message(), "section.n: expected an integer, got 'soon' (at 1:5)");
}

TEST(YamlFieldsTest, TheFirstErrorIsKept) {
  YamlDocument doc(Load("a: x\nb: y\n"), "f.yaml");
  int a = 0, b = 0;
  doc.Root()["a"].Read(&a);
  doc.Root()["b"].Read(&b);
  doc.Root().Fail("later");
  EXPECT_EQ(doc.status().message(), "f.yaml: a: expected an integer, got 'x' (at f.yaml:1:4)");
}

TEST(YamlFieldsTest, SequencesAndMappingsNameTheirItems) {
  YamlDocument doc(Load("list:\n  - 1\n  - two\nmap: {v1: 5, v2: [x]}\n"), "f.yaml");
  const YamlField root = doc.Root();
  std::vector<YamlField> items = root["list"].Items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].path(), "list[1]");
  int value = 0;
  EXPECT_TRUE(items[0].Read(&value));
  EXPECT_EQ(value, 1);
  std::map<std::string, std::string> map;
  for (const auto& [key, field] : root["map"].Entries()) field.Read(&map[key]);
  EXPECT_EQ(map["v1"], "5");
  EXPECT_EQ(doc.status().message(), "f.yaml: map.v2: expected a string (at f.yaml:4:18)");

  YamlDocument not_a_list(Load("list: {a: 1}\n"));
  EXPECT_TRUE(not_a_list.Root()["list"].Items("a list of ports").empty());
  EXPECT_EQ(not_a_list.status().message(), "list: expected a list of ports (at 1:7)");
}

TEST(YamlFieldsTest, AMissingFieldPointsAtItsMapping) {
  YamlDocument doc(Load("services:\n  - name: a\n  - port: 1\n"), "f.yaml");
  const YamlField second = doc.Root()["services"].Item(1);
  EXPECT_FALSE(second["name"].Require());
  EXPECT_EQ(doc.status().message(), "f.yaml: services[1].name: required (at f.yaml:3:5)");
}

TEST(YamlFieldsTest, TheTwoSyntaxes) {
  const char* text = "hex: 0x10\nflag: yes\nnothing: ~\nneg: -3\n";
  YamlDocument yaml_cpp(Load(text));
  int hex = 0;
  bool flag = false;
  std::string nothing = "default";
  EXPECT_TRUE(yaml_cpp.Root()["hex"].Read(&hex));
  EXPECT_TRUE(yaml_cpp.Root()["flag"].Read(&flag));
  EXPECT_EQ(hex, 16);
  EXPECT_TRUE(flag);
  EXPECT_FALSE(yaml_cpp.Root()["nothing"].Read(&nothing));  // present, and not a string
  EXPECT_EQ(yaml_cpp.status().message(), "nothing: expected a string (at 3:10)");

  YamlDocument strict(Load(text), "", YamlSyntax::kStrict);
  EXPECT_TRUE(strict.Root()["nothing"].Read(&nothing));  // null counts as absent
  EXPECT_EQ(nothing, "default");
  uint32_t neg = 0;
  EXPECT_FALSE(strict.Root()["neg"].Read(&neg));
  EXPECT_EQ(strict.status().message(), "neg: must be between 0 and 4294967295 (at 4:6)");
  YamlDocument strict_hex(Load(text), "", YamlSyntax::kStrict);
  EXPECT_FALSE(strict_hex.Root()["hex"].Read(&hex));
  EXPECT_EQ(strict_hex.status().message(), "hex: expected an integer, got '0x10' (at 1:6)");
  YamlDocument strict_flag(Load(text), "", YamlSyntax::kStrict);
  EXPECT_FALSE(strict_flag.Root()["flag"].Read(&flag));
  EXPECT_EQ(strict_flag.status().message(), "flag: expected true or false, got 'yes' (at 2:7)");
  YamlDocument absent(YAML::Node(), "", YamlSyntax::kStrict, "marathon");
  EXPECT_TRUE(absent.Root().CheckKeys({"url"}));  // an absent section is an empty one
}

TEST(YamlFieldsTest, RelativeErrorsLandOnTheFieldTheyName) {
  YamlDocument doc(Load("svc:\n  steps: [5, 5]\n"), "b.yaml");
  doc.Root()["svc"].Fail(Status::InvalidArgument("steps[1]: steps must increase"));
  EXPECT_EQ(doc.status().message(), "b.yaml: svc.steps[1]: steps must increase (at b.yaml:2:14)");
  EXPECT_EQ(doc.Root().At("svc.steps[0]").path(), "svc.steps[0]");
}

TEST(YamlFieldsTest, SyntaxErrorsAndNodesBuiltInCode) {
  auto bad = LoadYamlText("a: [\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "f.yaml: YAML error: end of sequence flow not found (at f.yaml:2:1)");
  YAML::Node built(YAML::NodeType::Map);
  built["n"] = "x";
  YamlDocument doc(built, "", YamlSyntax::kYamlCpp, "s");
  int n = 0;
  EXPECT_FALSE(doc.Root()["n"].Read(&n));
  EXPECT_EQ(doc.status().message(), "s.n: expected an integer, got 'x'");  // no position to give
  EXPECT_EQ(YamlPosition(Load("a: 1\nb: 2\n")["b"], "f.yaml"), " (at f.yaml:2:4)");
}

}  // namespace
}  // namespace canarymesh
