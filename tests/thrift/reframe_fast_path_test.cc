// Reframe's fast path (CopiesVerbatim + PatchSeqIdInCopy, which the proxy uses to copy straight
// into its socket buffers) against Reframe itself and the real Apache Thrift library, in every
// format; and MessageInfo::Reset, which the reader uses instead of building a fresh MessageInfo.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "tests/thrift/real_thrift.h"
#include "thrift/message_reader.h"
#include "thrift/reframe.h"

namespace canarymesh::thrift {
namespace {

using testing::Encode;
using testing::FormatName;
using testing::TProtocol;

MessageInfo ReadOne(const std::string& bytes, const WireFormat& format) {
  ReaderOptions options;
  options.format = format;
  MessageReader reader(options);
  MessageReader::FeedResult r = reader.Feed(bytes);
  EXPECT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
  return reader.message();
}

class ReframeFastPathTest : public ::testing::TestWithParam<WireFormat> {};

TEST_P(ReframeFastPathTest, VerbatimCopyWithPatchedSeqIdIsWhatReframeWrites) {
  const WireFormat format = GetParam();
  const std::string original = Encode(format, testing::EchoCall(7, "hello"), {{"h", "v"}});
  MessageInfo info = ReadOne(original, format);
  ReframeRequest request;
  request.target = SourceFrameOf(info);
  request.seqid = 123456789;
  const bool binary = IsBinary(format.protocol);
  ASSERT_EQ(CopiesVerbatim(original, info, request), binary);
  if (!binary) return;  // compact's varint seqid may change length: Reframe re-encodes it

  std::string copy = original;
  PatchSeqIdInCopy(copy.data(), info, request.seqid);
  std::string reframed;
  MessageInfo info_for_reframe = ReadOne(original, format);
  ASSERT_TRUE(Reframe(original, info_for_reframe, request, &reframed).ok());
  EXPECT_EQ(copy, reframed);

  std::string s;
  testing::ReadBack back = testing::Decode(format, copy, [&](TProtocol& p) {
    cmtest::Echo_echo_args args;
    args.read(&p);
    s = args.s;
  });
  EXPECT_EQ(back.seqid, 123456789);
  EXPECT_EQ(s, "hello");
  if (format.transport == Transport::kHeader) {
    EXPECT_EQ(back.frame_seqid, 123456789);
    EXPECT_EQ(back.headers, (testing::HeaderMap{{"h", "v"}}));
  }
}

TEST_P(ReframeFastPathTest, NotVerbatimWhenSomethingBesidesTheSeqIdChanges) {
  const WireFormat format = GetParam();
  const std::string original = Encode(format, testing::EchoCall(7, "hello"));
  MessageInfo info = ReadOne(original, format);
  ReframeRequest request;
  request.target = SourceFrameOf(info);
  request.seqid = 9;

  ReframeRequest carrying = request;
  carrying.carry_key = "x-canary-version";
  carrying.carry_value = "echo=v2";
  EXPECT_FALSE(CopiesVerbatim(original, info, carrying));

  ReframeRequest other_framing = request;
  other_framing.target.format.transport =
      format.transport == Transport::kFramed ? Transport::kUnframed : Transport::kFramed;
  EXPECT_FALSE(CopiesVerbatim(original, info, other_framing));

  ReframeRequest ttwitter = request;
  ttwitter.target.ttwitter = true;
  EXPECT_FALSE(CopiesVerbatim(original, info, ttwitter));

  // Bytes that are not the message the info describes.
  EXPECT_FALSE(CopiesVerbatim(std::string_view(original).substr(1), info, request));
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ReframeFastPathTest,
                         ::testing::ValuesIn(testing::AllFormats()),
                         [](const ::testing::TestParamInfo<WireFormat>& p) {
                           std::string name = FormatName(p.param);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(MessageInfoReset, EveryFieldIsBackToItsDefault) {
  WireFormat header_binary{Transport::kHeader, Protocol::kBinaryStrict};
  std::string error =
      Encode(header_binary,
             testing::AppException("a_rather_long_method_name_for_the_heap", 9,
                                   apache::thrift::TApplicationException::INTERNAL_ERROR, "boom"),
             {{"x-canary-version", "echo=v2"}});
  MessageInfo info = ReadOne(error, header_binary);
  ASSERT_TRUE(info.theader.has_value());
  ASSERT_TRUE(info.app_exception.has_value());
  info.ttwitter_upgrade = true;
  info.request_header.emplace();
  info.ttwitter_header_offset = info.ttwitter_header_size = 3;
  const size_t name_capacity = info.name.capacity();

  info.Reset();
  const MessageInfo fresh;
  EXPECT_EQ(info.begin, fresh.begin);
  EXPECT_EQ(info.size, fresh.size);
  EXPECT_EQ(info.format, fresh.format);
  EXPECT_EQ(info.name, fresh.name);
  EXPECT_EQ(info.type, fresh.type);
  EXPECT_EQ(info.seqid, fresh.seqid);
  EXPECT_EQ(info.reply, fresh.reply);
  EXPECT_EQ(info.exception_field_id, fresh.exception_field_id);
  EXPECT_FALSE(info.app_exception.has_value());
  EXPECT_FALSE(info.theader.has_value());
  EXPECT_EQ(info.ttwitter_upgrade, fresh.ttwitter_upgrade);
  EXPECT_FALSE(info.request_header.has_value());
  EXPECT_EQ(info.ttwitter_header_offset, fresh.ttwitter_header_offset);
  EXPECT_EQ(info.ttwitter_header_size, fresh.ttwitter_header_size);
  EXPECT_EQ(info.head_offset, fresh.head_offset);
  EXPECT_EQ(info.head_size, fresh.head_size);
  EXPECT_EQ(info.seqid_offset, fresh.seqid_offset);
  EXPECT_EQ(info.seqid_size, fresh.seqid_size);
  // The point of Reset: the name's buffer stays for the next message.
  EXPECT_EQ(info.name.capacity(), name_capacity);
}

TEST(MessageInfoReset, ReaderReportsEachPipelinedMessageAfresh) {
  // A THeader exception with headers, then a plain THeader call: nothing of the first leaks
  // into the second.
  WireFormat header_binary{Transport::kHeader, Protocol::kBinaryStrict};
  std::string first =
      Encode(header_binary,
             testing::AppException("a_rather_long_method_name_for_the_heap", 9,
                                   apache::thrift::TApplicationException::INTERNAL_ERROR, "boom"),
             {{"x-canary-version", "echo=v2"}});
  std::string second = Encode(header_binary, testing::EchoCall(10, "hi"));
  std::string stream = first + second;
  ReaderOptions options;
  options.format = header_binary;
  MessageReader reader(options);
  MessageReader::FeedResult r = reader.Feed(stream);
  ASSERT_EQ(r.progress, Progress::kDone);
  EXPECT_TRUE(reader.message().app_exception.has_value());
  r = reader.Feed(std::string_view(stream).substr(r.consumed));
  ASSERT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
  EXPECT_EQ(reader.message().name, "echo");
  EXPECT_EQ(reader.message().seqid, 10);
  EXPECT_EQ(reader.message().reply, ReplyStatus::kNotAReply);
  EXPECT_FALSE(reader.message().app_exception.has_value());
  ASSERT_TRUE(reader.message().theader.has_value());
  EXPECT_TRUE(reader.message().theader->headers.empty());
}

}  // namespace
}  // namespace canarymesh::thrift
