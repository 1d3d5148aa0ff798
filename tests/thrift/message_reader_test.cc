// MessageReader on pipelines of real messages in every format, fed whole, byte by byte and in
// random chunks: names, types, seqids, reply outcomes, THeader headers and exact extents.
#include "thrift/message_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/thrift/reader_driver.h"
#include "tests/thrift/real_thrift.h"

namespace canarymesh::thrift {
namespace {

using apache::thrift::TApplicationException;
using testing::Encode;
using testing::FormatName;

struct Sample {
  testing::Writer write;
  std::string name;
  MessageType type;
  int32_t seqid;
  ReplyStatus reply = ReplyStatus::kNotAReply;
  int16_t exception_field = 0;
};

std::vector<Sample> Samples() {
  using MT = MessageType;
  using RS = ReplyStatus;
  return {
      {testing::EchoCall(1, "hello"), "echo", MT::kCall, 1},
      {testing::PingOneway(2, 9), "ping", MT::kOneway, 2},
      {testing::MirrorCall(3), "mirror", MT::kCall, 3},
      {testing::TreeCall(4, 12), "tree", MT::kCall, 4},
      {testing::EchoReply(5, "hello"), "echo", MT::kReply, 5, RS::kSuccess},
      {testing::EchoOops(6, "bad"), "echo", MT::kReply, 6, RS::kDeclaredException, 1},
      {testing::EchoGone(7), "echo", MT::kReply, 7, RS::kDeclaredException, 2},
      {testing::NothingReply(8), "nothing", MT::kReply, 8, RS::kSuccess},
      {testing::AppException("echo", 9, TApplicationException::UNKNOWN_METHOD, "no such method"),
       "echo", MT::kException, 9, RS::kApplicationException},
      {testing::EchoCall(-5, std::string(300, 'x')), "echo", MT::kCall, -5},
      {testing::EchoCall(INT32_MAX, ""), "echo", MT::kCall, INT32_MAX},
  };
}

struct Pipeline {
  std::string bytes;
  std::vector<size_t> begins, sizes;
};

Pipeline Build(const WireFormat& format, const std::vector<Sample>& samples) {
  Pipeline p;
  for (size_t i = 0; i < samples.size(); ++i) {
    std::string one = Encode(format, samples[i].write, {{"index", std::to_string(i)}});
    p.begins.push_back(p.bytes.size());
    p.sizes.push_back(one.size());
    p.bytes += one;
  }
  return p;
}

void ExpectMessages(const WireFormat& format, const std::vector<Sample>& samples,
                    const Pipeline& pipeline, const testing::FeedOutcome& out) {
  ASSERT_FALSE(out.failed) << out.status.ToString();
  ASSERT_EQ(out.messages.size(), samples.size());
  EXPECT_FALSE(out.mid_message);
  for (size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    const MessageInfo& m = out.messages[i];
    const Sample& s = samples[i];
    EXPECT_EQ(m.begin, pipeline.begins[i]);
    EXPECT_EQ(m.size, pipeline.sizes[i]);
    EXPECT_EQ(m.name, s.name);
    EXPECT_EQ(m.type, s.type);
    EXPECT_EQ(m.seqid, s.seqid);
    EXPECT_EQ(m.reply, s.reply);
    EXPECT_EQ(m.exception_field_id, s.exception_field);
    EXPECT_EQ(m.format, format);
    EXPECT_FALSE(m.ttwitter_upgrade);
    if (format.transport == Transport::kHeader) {
      ASSERT_TRUE(m.theader.has_value());
      EXPECT_EQ(m.theader->headers, (InfoHeaders{{"index", std::to_string(i)}}));
      EXPECT_EQ(m.theader->seqid, s.seqid);
    } else {
      EXPECT_FALSE(m.theader.has_value());
    }
    if (s.type == MessageType::kException) {
      ASSERT_TRUE(m.app_exception.has_value());
      EXPECT_EQ(m.app_exception->type, AppExceptionType::kUnknownMethod);
      EXPECT_EQ(m.app_exception->message, "no such method");
    } else {
      EXPECT_FALSE(m.app_exception.has_value());
    }
  }
}

class MessageReaderTest : public ::testing::TestWithParam<WireFormat> {};

TEST_P(MessageReaderTest, PipelineInEveryChunking) {
  std::vector<Sample> samples = Samples();
  Pipeline pipeline = Build(GetParam(), samples);
  std::vector<std::pair<std::string, testing::ChunkSizes>> chunkings = {
      {"whole", testing::Whole()},      {"1 byte", testing::BytesOf(1)},
      {"2 bytes", testing::BytesOf(2)}, {"3 bytes", testing::BytesOf(3)},
      {"7 bytes", testing::BytesOf(7)},
  };
  for (unsigned seed = 1; seed <= 6; ++seed) {
    chunkings.emplace_back("random " + std::to_string(seed), testing::RandomSizes(seed, 64));
  }
  for (auto& [label, sizes] : chunkings) {
    SCOPED_TRACE(label);
    MessageReader reader;
    ExpectMessages(GetParam(), samples, pipeline,
                   testing::FeedInChunks(reader, pipeline.bytes, sizes));
    EXPECT_EQ(reader.offset(), pipeline.bytes.size());
    ASSERT_TRUE(reader.format().has_value());
    EXPECT_EQ(reader.format()->transport, GetParam().transport);
  }
}

TEST_P(MessageReaderTest, ConfiguredFormatNeedsNoDetection) {
  std::vector<Sample> samples = Samples();
  Pipeline pipeline = Build(GetParam(), samples);
  ReaderOptions options;
  options.format = GetParam();
  MessageReader reader(options);
  ExpectMessages(GetParam(), samples, pipeline,
                 testing::FeedInChunks(reader, pipeline.bytes, testing::RandomSizes(99, 16)));
}

TEST_P(MessageReaderTest, ExtentIsExactlyTheMessageBytes) {
  std::vector<Sample> samples = Samples();
  Pipeline pipeline = Build(GetParam(), samples);
  MessageReader reader;
  testing::FeedOutcome out = testing::FeedInChunks(reader, pipeline.bytes, testing::BytesOf(5));
  ASSERT_EQ(out.messages.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const MessageInfo& m = out.messages[i];
    EXPECT_EQ(pipeline.bytes.substr(m.begin, m.size),
              Encode(GetParam(), samples[i].write, {{"index", std::to_string(i)}}));
  }
}

TEST_P(MessageReaderTest, TruncatedInputWaitsMidMessage) {
  std::vector<Sample> samples = Samples();
  Pipeline pipeline = Build(GetParam(), samples);
  // Cut the third message at every point: two messages out, the third pending, no error.
  for (size_t cut = pipeline.begins[2] + 1; cut < pipeline.begins[3]; cut += 3) {
    MessageReader reader;
    testing::FeedOutcome out = testing::FeedInChunks(
        reader, std::string_view(pipeline.bytes).substr(0, cut), testing::RandomSizes(cut, 9));
    ASSERT_FALSE(out.failed) << "cut at " << cut << ": " << out.status.ToString();
    EXPECT_EQ(out.messages.size(), 2u) << "cut at " << cut;
    EXPECT_TRUE(out.mid_message) << "cut at " << cut;
    EXPECT_EQ(reader.offset(), cut);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, MessageReaderTest, ::testing::ValuesIn(testing::AllFormats()),
                         [](const auto& info) {
                           std::string name = FormatName(info.param);
                           for (char& c : name) {
                             if (c == '/' || c == '-') c = '_';
                           }
                           return name;
                         });

TEST(MessageReaderTTwitterFlag, UpgradeCallIsFlagged) {
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    std::string bytes = Encode({t, Protocol::kBinaryStrict}, testing::UpgradeCall());
    MessageReader reader;
    testing::FeedOutcome out = testing::FeedInChunks(reader, bytes, testing::BytesOf(1));
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_TRUE(out.messages[0].ttwitter_upgrade);
    EXPECT_EQ(out.messages[0].name, kTTwitterUpgradeMethod);
    EXPECT_EQ(out.messages[0].type, MessageType::kCall);
    EXPECT_EQ(out.messages[0].size, bytes.size());
  }
}

}  // namespace
}  // namespace canarymesh::thrift
