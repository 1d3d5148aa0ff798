#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "scheduler-bridge/http/base64.h"
#include "scheduler-bridge/http/http_auth.h"

namespace canarymesh::bridge {
namespace {

TEST(Base64Test, RoundTripsEveryPaddingLength) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  auto decoded = Base64Decode(Base64Encode(binary));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, binary);
}

TEST(Base64Test, DecodeSkipsLineBreaksAndRejectsGarbage) {
  auto wrapped = Base64Decode("Zm9v\nYmFy\n");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(*wrapped, "foobar");
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm9*").ok());
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());
}

TEST(HttpAuthTest, HeaderValues) {
  EXPECT_EQ(BasicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(BearerAuthorization("abc"), "Bearer abc");
  EXPECT_EQ(DcosTokenAuthorization("abc"), "token=abc");
}

TEST(HttpAuthTest, TokenFileIsTrimmedAndChecked) {
  std::string path = ::testing::TempDir() + "/cm_token_test-" + std::to_string(::getpid());
  {
    std::ofstream out(path);
    out << "  secret-token\n";
  }
  auto token = ReadTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "secret-token");
  {
    std::ofstream out(path);
    out << "\n \n";
  }
  EXPECT_EQ(ReadTokenFile(path).status().code(), Status::Code::kInvalidArgument);
  {
    std::ofstream out(path);
    out << "one\ntwo\n";
  }
  EXPECT_FALSE(ReadTokenFile(path).ok());
  std::remove(path.c_str());
  auto missing = ReadTokenFile(path);
  EXPECT_EQ(missing.status().code(), Status::Code::kIoError);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace canarymesh::bridge
