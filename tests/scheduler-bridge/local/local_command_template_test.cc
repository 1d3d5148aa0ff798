#include "scheduler-bridge/local/local_command_template.h"

#include <gtest/gtest.h>

namespace canarymesh::bridge {
namespace {

using Words = std::vector<std::string>;

TEST(LocalCommandTemplateTest, SplitsOnWhitespaceAndHonoursQuotes) {
  auto words = SplitCommandTemplate(
      "  /bin/app --listen 127.0.0.1:{port}\t'single quoted {x}' \"double \\\"q\\\" $x\" a\\ b  ");
  ASSERT_TRUE(words.ok()) << words.status().message();
  EXPECT_EQ(words.value(), (Words{"/bin/app", "--listen", "127.0.0.1:{port}", "single quoted {x}",
                                  "double \"q\" $x", "a b"}));
}

TEST(LocalCommandTemplateTest, EmptyQuotesAreAnEmptyWord) {
  auto words = SplitCommandTemplate("app '' x");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(words.value(), (Words{"app", "", "x"}));
}

TEST(LocalCommandTemplateTest, RejectsBrokenOrShellSyntax) {
  for (const char* bad : {"", "   ", "app 'open", "app \"open", "app \\", "app | grep x",
                          "app > out", "app; rm", "app && b", "app $HOME", "app `id`"}) {
    auto words = SplitCommandTemplate(bad);
    EXPECT_FALSE(words.ok()) << bad;
    EXPECT_EQ(words.status().message().rfind("command: ", 0), 0u) << words.status().message();
  }
  auto piped = SplitCommandTemplate("app | grep x");
  EXPECT_NE(piped.status().message().find("sh -c"), std::string::npos);
}

TEST(LocalCommandTemplateTest, QuotedShellCharactersAreFine) {
  auto words = SplitCommandTemplate("sh -c 'exec app > /dev/null; echo $PORT'");
  ASSERT_TRUE(words.ok()) << words.status().message();
  EXPECT_EQ(words.value(), (Words{"sh", "-c", "exec app > /dev/null; echo $PORT"}));
}

TEST(LocalCommandTemplateTest, ExpandsPlaceholdersInsideWords) {
  auto argv = ExpandPlaceholders(
      {"--listen=127.0.0.1:{port}", "{service}-{version}-{instance}", "{}", "{a b}", "{port"},
      {{"port", "31000"}, {"service", "user"}, {"version", "v2"}, {"instance", "1"}});
  ASSERT_TRUE(argv.ok()) << argv.status().message();
  EXPECT_EQ(argv.value(), (Words{"--listen=127.0.0.1:31000", "user-v2-1", "{}", "{a b}", "{port"}));
}

TEST(LocalCommandTemplateTest, ValuesNeverAddWords) {
  auto words = SplitCommandTemplate("app --version {version}");
  ASSERT_TRUE(words.ok());
  auto argv = ExpandPlaceholders(words.value(), {{"version", "v1; rm -rf / 'x'"}});
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(argv.value(), (Words{"app", "--version", "v1; rm -rf / 'x'"}));
}

TEST(LocalCommandTemplateTest, UnknownPlaceholderIsNamed) {
  auto argv = ExpandPlaceholders({"--x={prot}"}, {{"port", "1"}});
  ASSERT_FALSE(argv.ok());
  EXPECT_NE(argv.status().message().find("unknown placeholder {prot}"), std::string::npos)
      << argv.status().message();
  EXPECT_NE(argv.status().message().find("{port}"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
