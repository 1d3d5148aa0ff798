#include "canary/override_header.h"

#include <gtest/gtest.h>

#include <string>

namespace canarymesh::canary {
namespace {

TEST(OverrideHeaderTest, ParsesServiceVersionPairs) {
  Result<OverrideList> list = ParseOverrideHeader("user=v2,question=v7");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(list->VersionFor("user"), "v2");
  EXPECT_EQ(list->VersionFor("question"), "v7");
  EXPECT_EQ(list->VersionFor("answer"), std::nullopt);
}

TEST(OverrideHeaderTest, ViewsPointIntoTheHeaderBuffer) {
  const std::string header = "user=v2";
  Result<OverrideList> list = ParseOverrideHeader(header);
  ASSERT_TRUE(list.ok());
  const VersionOverride& entry = *list->begin();
  EXPECT_EQ(entry.service.data(), header.data());
  EXPECT_EQ(entry.version.data(), header.data() + 5);
}

TEST(OverrideHeaderTest, ToleratesWhitespaceAndEmptyItems) {
  Result<OverrideList> list = ParseOverrideHeader(" ,\tuser = v2 ,, question=v7\t,  ,");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(list->VersionFor("user"), "v2");
  EXPECT_EQ(list->VersionFor("question"), "v7");
}

TEST(OverrideHeaderTest, EmptyValueIsAnEmptyList) {
  for (const char* value : {"", " ", ",", " , ,\t"}) {
    Result<OverrideList> list = ParseOverrideHeader(value);
    ASSERT_TRUE(list.ok()) << "value: '" << value << "'";
    EXPECT_TRUE(list->empty());
  }
}

TEST(OverrideHeaderTest, AcceptsTokenPunctuation) {
  Result<OverrideList> list = ParseOverrideHeader("user-api.v1=2024.06.01-rc_1~b");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->VersionFor("user-api.v1"), "2024.06.01-rc_1~b");
}

void ExpectError(std::string_view value, std::string_view fragment) {
  Result<OverrideList> list = ParseOverrideHeader(value);
  ASSERT_FALSE(list.ok()) << "accepted: " << value;
  EXPECT_EQ(list.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(list.status().message().find(fragment), std::string::npos)
      << "message: " << list.status().message();
}

TEST(OverrideHeaderTest, RejectsMissingEquals) {
  ExpectError("user=v2,question", "item 2 \"question\": missing '='");
}

TEST(OverrideHeaderTest, RejectsEmptyServiceOrVersion) {
  ExpectError("=v2", "empty service name");
  ExpectError(" = v2", "empty service name");
  ExpectError("user=", "empty version");
  ExpectError("user= ,a=b", "empty version");
}

TEST(OverrideHeaderTest, RejectsNonTokenCharacters) {
  ExpectError("us er=v2", "service name has a character");
  ExpectError("user=v 2", "version has a character");
  ExpectError("user=v2=v3", "version has a character");
  ExpectError("user/x=v2", "service name has a character");
  ExpectError("user=\"v2\"", "version has a character");
  ExpectError("user=v2;q=1", "version has a character");
}

TEST(OverrideHeaderTest, ErrorMessageEscapesHostileBytesAndTruncates) {
  Result<OverrideList> list = ParseOverrideHeader(std::string("us\x01\n<b>=v2"));
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("us\\x01\\x0a<b>=v2"), std::string::npos)
      << list.status().message();

  const std::string long_item(500, 'a');
  list = ParseOverrideHeader(long_item);
  ASSERT_FALSE(list.ok());
  EXPECT_LT(list.status().message().size(), 200u);
  EXPECT_NE(list.status().message().find("...\""), std::string::npos);
}

std::string ManyServices(int n) {
  std::string header;
  for (int i = 0; i < n; ++i) {
    if (i > 0) header += ",";
    header += "svc" + std::to_string(i) + "=v1";
  }
  return header;
}

TEST(OverrideHeaderTest, AcceptsUpToCapacityAndRejectsMore) {
  const std::string at_capacity = ManyServices(OverrideList::kMaxEntries);
  Result<OverrideList> list = ParseOverrideHeader(at_capacity);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), OverrideList::kMaxEntries);
  EXPECT_EQ(list->VersionFor("svc31"), "v1");

  ExpectError(ManyServices(OverrideList::kMaxEntries + 1), "more than 32 services");
}

TEST(OverrideHeaderTest, RepeatedServiceWithSameVersionCountsOnce) {
  Result<OverrideList> list = ParseOverrideHeader("user=v2, user=v2");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), 1u);
}

TEST(OverrideHeaderTest, RejectsConflictingVersionsForOneService) {
  ExpectError("user=v2,question=v1,user=v3", "service already given version \"v2\"");
}

}  // namespace
}  // namespace canarymesh::canary
