// Rewrites of real messages — seqid in every format, THeader info headers — decoded afterwards
// by the real Apache Thrift library, and re-read by MessageReader with a consistent layout.
#include "thrift/rewrite.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/thrift/real_thrift.h"
#include "thrift/message_reader.h"

namespace canarymesh::thrift {
namespace {

using apache::thrift::TApplicationException;
using testing::Encode;
using testing::FormatName;
using testing::TProtocol;

MessageInfo ReadOne(const std::string& bytes, const WireFormat& format) {
  ReaderOptions options;
  options.format = format;
  MessageReader reader(options);
  MessageReader::FeedResult r = reader.Feed(bytes);
  EXPECT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
  EXPECT_EQ(r.consumed, bytes.size());
  return reader.message();
}

testing::Reader EchoArgs(std::string* s) {
  return [s](TProtocol& p) {
    cmtest::Echo_echo_args args;
    args.read(&p);
    *s = args.s;
  };
}

void ExpectSameLayout(const MessageInfo& a, const MessageInfo& b) {
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.seqid, b.seqid);
  EXPECT_EQ(a.head_offset, b.head_offset);
  EXPECT_EQ(a.head_size, b.head_size);
  EXPECT_EQ(a.seqid_offset, b.seqid_offset);
  EXPECT_EQ(a.seqid_size, b.seqid_size);
}

const int32_t kSeqIds[] = {0, 1, 63, 64, 127, 128, 16383, 16384, -1, INT32_MAX, INT32_MIN, 5};

class RewriteTest : public ::testing::TestWithParam<WireFormat> {};

TEST_P(RewriteTest, SeqIdRewriteReadsBackWithTheRealLibrary) {
  const WireFormat format = GetParam();
  std::string original = Encode(format, testing::EchoCall(5, "hello"), {{"h", "v"}});
  bool size_changed = false;
  for (int32_t seqid : kSeqIds) {
    SCOPED_TRACE(seqid);
    std::string bytes = original;
    MessageInfo info = ReadOne(bytes, format);
    ASSERT_TRUE(RewriteSeqId(bytes, info, seqid).ok());
    EXPECT_EQ(info.seqid, seqid);
    EXPECT_EQ(info.size, bytes.size());
    size_changed |= bytes.size() != original.size();

    std::string s;
    testing::ReadBack back = testing::Decode(format, bytes, EchoArgs(&s));
    EXPECT_EQ(back.seqid, seqid);
    EXPECT_EQ(back.name, "echo");
    EXPECT_EQ(back.type, apache::thrift::protocol::T_CALL);
    EXPECT_EQ(s, "hello");
    EXPECT_EQ(back.unread, 0u);
    if (format.transport == Transport::kHeader) {
      EXPECT_EQ(back.frame_seqid, seqid);
      EXPECT_EQ(back.headers, (testing::HeaderMap{{"h", "v"}}));
    }
    ExpectSameLayout(info, ReadOne(bytes, format));
  }
  // Compact's varint seqid changes length with the value: the frame length must follow.
  EXPECT_EQ(size_changed, format.protocol == Protocol::kCompact);
}

TEST_P(RewriteTest, SeqIdRewriteOfRepliesAndNestedPayloads) {
  const WireFormat format = GetParam();
  std::string mirror = Encode(format, testing::MirrorCall(3));
  MessageInfo info = ReadOne(mirror, format);
  ASSERT_TRUE(RewriteSeqId(mirror, info, 1 << 30).ok());
  cmtest::Echo_mirror_args args;
  testing::ReadBack back = testing::Decode(format, mirror, [&](TProtocol& p) { args.read(&p); });
  EXPECT_EQ(back.seqid, 1 << 30);
  EXPECT_EQ(args.b, testing::RichBlob());

  std::string error = Encode(
      format, testing::AppException("echo", 9, TApplicationException::INTERNAL_ERROR, "boom"));
  info = ReadOne(error, format);
  ASSERT_TRUE(RewriteSeqId(error, info, 300).ok());
  TApplicationException x;
  back = testing::Decode(format, error, [&](TProtocol& p) { x.read(&p); });
  EXPECT_EQ(back.seqid, 300);
  EXPECT_EQ(back.type, apache::thrift::protocol::T_EXCEPTION);
  EXPECT_EQ(x.getType(), TApplicationException::INTERNAL_ERROR);
  EXPECT_STREQ(x.what(), "boom");
}

TEST_P(RewriteTest, RewrittenMessageInAPipelineKeepsItsNeighbours) {
  const WireFormat format = GetParam();
  std::string a = Encode(format, testing::EchoCall(1, "a"));
  std::string b = Encode(format, testing::MirrorCall(2));
  std::string c = Encode(format, testing::EchoCall(3, "c"));
  MessageInfo info = ReadOne(b, format);
  ASSERT_TRUE(RewriteSeqId(b, info, -123456).ok());
  std::string stream = a + b + c;
  MessageReader reader;
  std::vector<int32_t> seqids;
  std::string_view rest = stream;
  while (!rest.empty()) {
    MessageReader::FeedResult r = reader.Feed(rest);
    ASSERT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
    seqids.push_back(reader.message().seqid);
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(seqids, (std::vector<int32_t>{1, -123456, 3}));
}

TEST_P(RewriteTest, RefusesAMessageThatDoesNotMatchItsInfo) {
  const WireFormat format = GetParam();
  std::string bytes = Encode(format, testing::EchoCall(5, "hello"));
  const std::string original = bytes;
  MessageInfo info = ReadOne(bytes, format);
  MessageInfo wrong = info;
  wrong.seqid = 6;
  EXPECT_FALSE(RewriteSeqId(bytes, wrong, 7).ok());
  wrong = info;
  wrong.size += 1;
  EXPECT_FALSE(RewriteSeqId(bytes, wrong, 7).ok());
  wrong = info;
  wrong.head_offset += 1;
  EXPECT_FALSE(RewriteSeqId(bytes, wrong, 7).ok());
  EXPECT_EQ(bytes, original);
  if (format.transport != Transport::kHeader) {
    EXPECT_FALSE(SetTHeaderInfoHeader(bytes, info, "k", "v").ok());
  }
  EXPECT_FALSE(SetTTwitterContext(bytes, info, "k", "v").ok());
  EXPECT_EQ(bytes, original);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, RewriteTest, ::testing::ValuesIn(testing::AllFormats()),
                         [](const auto& info) {
                           std::string name = FormatName(info.param);
                           for (char& c : name) {
                             if (c == '/' || c == '-') c = '_';
                           }
                           return name;
                         });

class THeaderRewriteTest : public ::testing::TestWithParam<Protocol> {
 protected:
  WireFormat format() const { return {Transport::kHeader, GetParam()}; }
};

TEST_P(THeaderRewriteTest, ReplacesAnInfoHeader) {
  std::string bytes = Encode(format(), testing::EchoCall(11, "hello"),
                             {{"a", "1"}, {"x-canary-version", "old"}, {"z", "26"}});
  MessageInfo info = ReadOne(bytes, format());
  ASSERT_TRUE(SetTHeaderInfoHeader(bytes, info, "x-canary-version", "user=v2").ok());
  std::string s;
  testing::ReadBack back = testing::Decode(format(), bytes, EchoArgs(&s));
  EXPECT_EQ(back.headers,
            (testing::HeaderMap{{"a", "1"}, {"x-canary-version", "user=v2"}, {"z", "26"}}));
  EXPECT_EQ(back.seqid, 11);
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(back.unread, 0u);
  MessageInfo again = ReadOne(bytes, format());
  ExpectSameLayout(info, again);
  EXPECT_EQ(again.theader->headers, info.theader->headers);
}

TEST_P(THeaderRewriteTest, AddsAHeaderWhatEverThePaddingBecomes) {
  for (size_t n = 0; n <= 12; ++n) {
    SCOPED_TRACE(n);
    std::string bytes = Encode(format(), testing::EchoCall(1, "p"));
    MessageInfo info = ReadOne(bytes, format());
    std::string value(n, 'v');
    ASSERT_TRUE(SetTHeaderInfoHeader(bytes, info, "x-canary-version", value).ok());
    std::string s;
    testing::ReadBack back = testing::Decode(format(), bytes, EchoArgs(&s));
    EXPECT_EQ(back.headers, (testing::HeaderMap{{"x-canary-version", value}}));
    EXPECT_EQ(s, "p");
    EXPECT_EQ(back.unread, 0u);
  }
}

TEST_P(THeaderRewriteTest, EditsCompose) {
  std::string bytes = Encode(format(), testing::MirrorCall(1), {{"a", "1"}});
  MessageInfo info = ReadOne(bytes, format());
  ASSERT_TRUE(SetTHeaderInfoHeader(bytes, info, "x-canary-version", "v2").ok());
  ASSERT_TRUE(RewriteSeqId(bytes, info, 70000).ok());
  ASSERT_TRUE(SetTHeaderInfoHeader(bytes, info, "a", std::string(500, 'a')).ok());
  cmtest::Echo_mirror_args args;
  testing::ReadBack back = testing::Decode(format(), bytes, [&](TProtocol& p) { args.read(&p); });
  EXPECT_EQ(back.seqid, 70000);
  EXPECT_EQ(back.frame_seqid, 70000);
  EXPECT_EQ(back.headers,
            (testing::HeaderMap{{"a", std::string(500, 'a')}, {"x-canary-version", "v2"}}));
  EXPECT_EQ(args.b, testing::RichBlob());
}

TEST_P(THeaderRewriteTest, RefusesHeadersTooLargeForTheSection) {
  std::string bytes = Encode(format(), testing::EchoCall(1, "p"));
  const std::string original = bytes;
  MessageInfo info = ReadOne(bytes, format());
  Status s = SetTHeaderInfoHeader(bytes, info, "big", std::string(70000, 'b'));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(bytes, original);
}

INSTANTIATE_TEST_SUITE_P(Protocols, THeaderRewriteTest,
                         ::testing::Values(Protocol::kBinaryStrict, Protocol::kCompact),
                         [](const auto& info) {
                           return std::string(info.param == Protocol::kCompact ? "Compact"
                                                                               : "Binary");
                         });

}  // namespace
}  // namespace canarymesh::thrift
