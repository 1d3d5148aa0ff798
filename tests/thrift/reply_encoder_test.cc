// Messages the proxy writes itself — TApplicationException replies in the client's format, the
// TTwitter upgrade call and reply — read by the real Apache Thrift library and by MessageReader.
#include "thrift/reply_encoder.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/thrift/real_thrift.h"
#include "thrift/message_reader.h"

namespace canarymesh::thrift {
namespace {

using apache::thrift::TApplicationException;
using testing::Encode;
using testing::FormatName;
using testing::TProtocol;

const ApplicationException kNoInstance{AppExceptionType::kInternalError,
                                       "no live instance of service user version v2"};

// Detection needs a connection's first bytes; a reply after a TTwitter upgrade starts with the
// ResponseHeader, so those are read with the format given.
MessageInfo ReadOne(const std::string& bytes, TTwitterHeaders ttwitter = TTwitterHeaders::kNone,
                    std::optional<WireFormat> format = std::nullopt) {
  ReaderOptions options;
  options.format = format;
  MessageReader reader(options);
  reader.ExpectTTwitterHeaders(ttwitter);
  MessageReader::FeedResult r = reader.Feed(bytes);
  EXPECT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
  EXPECT_EQ(r.consumed, bytes.size());
  return reader.message();
}

class ReplyEncoderTest : public ::testing::TestWithParam<WireFormat> {};

TEST_P(ReplyEncoderTest, ApplicationExceptionInTheCallersFormat) {
  const WireFormat format = GetParam();
  MessageInfo call = ReadOne(Encode(format, testing::EchoCall(-77, "x"), {{"h", "1"}}));
  ReplyEncoding encoding = ReplyEncoding::For(call);
  EXPECT_EQ(encoding.format, format);
  encoding.theader_headers = {{"x-canary-error", "no-instance"}};
  Result<std::string> reply =
      EncodeApplicationExceptionReply(encoding, call.name, call.seqid, kNoInstance);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();

  TApplicationException x;
  testing::ReadBack back = testing::Decode(format, *reply, [&](TProtocol& p) { x.read(&p); });
  EXPECT_EQ(back.name, "echo");
  EXPECT_EQ(back.type, apache::thrift::protocol::T_EXCEPTION);
  EXPECT_EQ(back.seqid, -77);
  EXPECT_EQ(x.getType(), TApplicationException::INTERNAL_ERROR);
  EXPECT_EQ(std::string(x.what()), kNoInstance.message);
  EXPECT_EQ(back.unread, 0u);
  if (format.transport == Transport::kHeader) {
    EXPECT_EQ(back.headers, (testing::HeaderMap{{"x-canary-error", "no-instance"}}));
    EXPECT_EQ(back.frame_seqid, -77);
  }

  MessageInfo read = ReadOne(*reply);
  EXPECT_EQ(read.format, format);
  EXPECT_EQ(read.reply, ReplyStatus::kApplicationException);
  ASSERT_TRUE(read.app_exception.has_value());
  EXPECT_EQ(read.app_exception->type, kNoInstance.type);
  EXPECT_EQ(read.app_exception->message, kNoInstance.message);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ReplyEncoderTest, ::testing::ValuesIn(testing::AllFormats()),
                         [](const auto& info) {
                           std::string name = FormatName(info.param);
                           for (char& c : name) {
                             if (c == '/' || c == '-') c = '_';
                           }
                           return name;
                         });

TEST(ReplyEncoderTTwitterTest, ExceptionAfterUpgradeCarriesAResponseHeader) {
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    ReplyEncoding encoding;
    encoding.format = {t, Protocol::kBinaryStrict};
    encoding.ttwitter = true;
    Result<std::string> reply = EncodeApplicationExceptionReply(encoding, "echo", 3, kNoInstance);
    ASSERT_TRUE(reply.ok());
    cmtest::ttwitter::ResponseHeader header;
    TApplicationException x;
    testing::ReadBack back = testing::Decode(
        encoding.format, *reply, [&](TProtocol& p) { x.read(&p); },
        [&](TProtocol& p) { header.read(&p); });
    EXPECT_EQ(back.seqid, 3);
    EXPECT_EQ(back.type, apache::thrift::protocol::T_EXCEPTION);
    EXPECT_EQ(x.getType(), TApplicationException::INTERNAL_ERROR);
    EXPECT_TRUE(header.spans.empty());
    EXPECT_EQ(back.unread, 0u);
    MessageInfo read = ReadOne(*reply, TTwitterHeaders::kResponse, encoding.format);
    EXPECT_EQ(read.ttwitter_header_size, 1u);
    EXPECT_EQ(read.reply, ReplyStatus::kApplicationException);
  }
}

TEST(ReplyEncoderTTwitterTest, UpgradeCallIsWhatFinagleSends) {
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    EXPECT_EQ(EncodeTTwitterUpgradeCall(t, 0),
              Encode({t, Protocol::kBinaryStrict}, testing::UpgradeCall()));
  }
}

TEST(ReplyEncoderTTwitterTest, UpgradeReplyReadsAsUpgradeReply) {
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    std::string reply = EncodeTTwitterUpgradeReply(t, 0);
    cmtest::ttwitter::UpgradeReply upgrade;
    testing::ReadBack back = testing::Decode({t, Protocol::kBinaryStrict}, reply,
                                             [&](TProtocol& p) { upgrade.read(&p); });
    EXPECT_EQ(back.name, kTTwitterUpgradeMethod);
    EXPECT_EQ(back.type, apache::thrift::protocol::T_REPLY);
    EXPECT_EQ(back.seqid, 0);
    EXPECT_EQ(back.unread, 0u);
    MessageInfo read = ReadOne(reply);
    EXPECT_TRUE(read.ttwitter_upgrade);
    EXPECT_EQ(read.reply, ReplyStatus::kSuccess);
  }
}

}  // namespace
}  // namespace canarymesh::thrift
