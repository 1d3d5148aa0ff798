// StructSkipper on structs serialized by the real library: it stops exactly at the end of the
// struct, resumes across any split, and enforces its depth and size limits.
#include "thrift/struct_skipper.h"

#include <gtest/gtest.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <memory>
#include <string>

#include "tests/thrift/real_thrift.h"

namespace canarymesh::thrift {
namespace {

using apache::thrift::transport::TMemoryBuffer;

template <typename T>
std::string Serialize(const T& value, Protocol protocol) {
  auto memory = std::make_shared<TMemoryBuffer>();
  if (protocol == Protocol::kCompact) {
    apache::thrift::protocol::TCompactProtocol p(memory);
    value.write(&p);
  } else {
    apache::thrift::protocol::TBinaryProtocol p(memory);
    value.write(&p);
  }
  return memory->getBufferAsString();
}

cmtest::Node Tree(int depth) {
  cmtest::Node root;
  cmtest::Node* at = &root;
  for (int i = 1; i < depth; ++i) {
    at->kids.resize(1);
    at = &at->kids[0];
  }
  return root;
}

class StructSkipperTest : public ::testing::TestWithParam<Protocol> {};

TEST_P(StructSkipperTest, StopsExactlyAtTheEndOfTheStruct) {
  std::string blob = Serialize(testing::RichBlob(), GetParam());
  std::string input = blob + "trailing bytes";
  StructSkipper skipper;
  skipper.Start(GetParam(), {});
  Token t = skipper.Skip(input);
  ASSERT_EQ(t.progress, Progress::kDone) << (t.error ? t.error : "");
  EXPECT_EQ(t.size, blob.size());
}

TEST_P(StructSkipperTest, ResumesAcrossEverySplit) {
  std::string blob = Serialize(testing::RichBlob(), GetParam());
  // Feed one byte more each time, re-presenting what the skipper did not consume.
  StructSkipper skipper;
  skipper.Start(GetParam(), {});
  std::string pending;
  size_t consumed = 0;
  bool done = false;
  for (size_t i = 0; i < blob.size(); ++i) {
    ASSERT_FALSE(done) << "done before the last byte";
    pending.push_back(blob[i]);
    Token t = skipper.Skip(pending);
    ASSERT_NE(t.progress, Progress::kError) << t.error;
    consumed += t.size;
    pending.erase(0, t.size);
    if (t.progress == Progress::kNeedMore) {
      EXPECT_GT(t.need, pending.size());
    }
    done = t.progress == Progress::kDone;
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(consumed, blob.size());
  EXPECT_TRUE(pending.empty());
}

TEST_P(StructSkipperTest, DepthLimitCountsStructsAndContainers) {
  // A chain of n Nodes is n structs and n lists (the innermost empty: `kids` is not optional,
  // so it is always written) open at once.
  const int n = 20;
  std::string tree = Serialize(Tree(n), GetParam());
  StructSkipper skipper;
  skipper.Start(GetParam(), StructSkipper::Limits{2 * n, 1 << 20});
  EXPECT_EQ(skipper.Skip(tree).progress, Progress::kDone);
  skipper.Start(GetParam(), StructSkipper::Limits{2 * n - 1, 1 << 20});
  Token t = skipper.Skip(tree);
  ASSERT_EQ(t.progress, Progress::kError);
  EXPECT_STREQ(t.error, "nesting deeper than the limit");
}

TEST_P(StructSkipperTest, StringLengthAndContainerSizeLimits) {
  cmtest::Blob blob;
  blob.text = std::string(1000, 'x');
  std::string bytes = Serialize(blob, GetParam());
  StructSkipper skipper;
  skipper.Start(GetParam(), StructSkipper::Limits{64, 999});
  Token t = skipper.Skip(bytes);
  ASSERT_EQ(t.progress, Progress::kError);
  EXPECT_STREQ(t.error, "string length over the limit");

  cmtest::Blob many;
  many.bools = std::vector<bool>(1000, false);
  bytes = Serialize(many, GetParam());
  skipper.Start(GetParam(), StructSkipper::Limits{64, 999});
  t = skipper.Skip(bytes);
  ASSERT_EQ(t.progress, Progress::kError);
  EXPECT_STREQ(t.error, "container size over the limit");
}

TEST_P(StructSkipperTest, SkipsASingleValueOfAnyType) {
  StructSkipper skipper;
  std::string i32 =
      GetParam() == Protocol::kCompact ? std::string("\x80\x01", 2) : std::string("\0\0\0\x01", 4);
  skipper.Start(GetParam(), {}, FieldType::kI32);
  Token t = skipper.Skip(i32 + "x");
  ASSERT_EQ(t.progress, Progress::kDone);
  EXPECT_EQ(t.size, i32.size());
}

INSTANTIATE_TEST_SUITE_P(Protocols, StructSkipperTest,
                         ::testing::Values(Protocol::kBinaryStrict, Protocol::kCompact),
                         [](const auto& info) {
                           return std::string(info.param == Protocol::kCompact ? "Compact"
                                                                               : "Binary");
                         });

}  // namespace
}  // namespace canarymesh::thrift
