// TTwitter (Finagle): the upgrade, RequestHeaders before calls and ResponseHeaders before
// replies, written by the real library from Finagle's field ids; decoding the RequestHeader and
// setting a broadcast context, read back by the real library.
#include "thrift/ttwitter.h"

#include <gtest/gtest.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <memory>
#include <string>

#include "tests/thrift/reader_driver.h"
#include "tests/thrift/real_thrift.h"
#include "thrift/message_reader.h"
#include "thrift/reply_encoder.h"
#include "thrift/rewrite.h"

namespace canarymesh::thrift {
namespace {

using testing::Encode;
using testing::TProtocol;
namespace tw = cmtest::ttwitter;

template <typename T>
std::string Serialize(const T& value) {
  auto memory = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  apache::thrift::protocol::TBinaryProtocol p(memory);
  value.write(&p);
  return memory->getBufferAsString();
}

template <typename T>
testing::Writer Preceded(const T& header, const testing::Writer& message) {
  return testing::WithStruct([header](TProtocol& p) { header.write(&p); }, message);
}

tw::RequestHeader MinimalHeader() {
  tw::RequestHeader h;
  h.trace_id = 1;
  h.span_id = 2;
  return h;
}

void ExpectFullHeader(const RequestHeader& h) {
  tw::RequestHeader want = testing::FullRequestHeader();
  EXPECT_EQ(h.trace_id, want.trace_id);
  EXPECT_EQ(h.span_id, want.span_id);
  EXPECT_EQ(h.parent_span_id, want.parent_span_id);
  EXPECT_EQ(h.sampled, std::optional<bool>(true));
  EXPECT_EQ(h.client_id, std::optional<std::string>("web-frontend"));
  EXPECT_EQ(h.flags, std::optional<int64_t>(6));
  ASSERT_EQ(h.contexts.size(), 2u);
  EXPECT_EQ(h.contexts[0].key, want.contexts[0].key);
  EXPECT_EQ(h.contexts[0].value, want.contexts[0].value);
  EXPECT_EQ(h.contexts[1], (RequestContext{"x-canary-version", "user=v1"}));
  EXPECT_EQ(h.dest, std::optional<std::string>("/s/user"));
  EXPECT_EQ(h.delegations, (std::vector<Delegation>{{"/s/user", "/srv/user-v2"}}));
  EXPECT_EQ(h.trace_id_high, std::optional<int64_t>(99));
}

class TTwitterTest : public ::testing::TestWithParam<Transport> {
 protected:
  WireFormat format() const { return {GetParam(), Protocol::kBinaryStrict}; }
};

TEST_P(TTwitterTest, ClientSideSession) {
  std::string upgrade = Encode(format(), testing::UpgradeCall());
  std::string call =
      Encode(format(), Preceded(testing::FullRequestHeader(), testing::EchoCall(1, "hi")));
  std::string oneway = Encode(format(), Preceded(MinimalHeader(), testing::PingOneway(2, 5)));
  std::string stream = upgrade + call + oneway;
  const size_t header_size = Serialize(testing::FullRequestHeader()).size();
  const size_t frame_word = GetParam() == Transport::kFramed ? 4 : 0;

  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1000}}) {
    SCOPED_TRACE(chunk);
    MessageReader reader;
    testing::FeedOutcome out = testing::FeedInChunks(
        reader, stream, testing::BytesOf(chunk), [](MessageReader& r, const MessageInfo& m) {
          if (m.ttwitter_upgrade && m.type == MessageType::kCall) {
            r.ExpectTTwitterHeaders(TTwitterHeaders::kRequest);
          }
        });
    ASSERT_FALSE(out.failed) << out.status.ToString();
    ASSERT_EQ(out.messages.size(), 3u);
    EXPECT_TRUE(out.messages[0].ttwitter_upgrade);
    EXPECT_FALSE(out.messages[0].request_header.has_value());

    const MessageInfo& m = out.messages[1];
    EXPECT_EQ(m.name, "echo");
    EXPECT_EQ(m.seqid, 1);
    EXPECT_EQ(m.begin, upgrade.size());
    EXPECT_EQ(m.size, call.size());
    EXPECT_EQ(m.ttwitter_header_offset, frame_word);
    EXPECT_EQ(m.ttwitter_header_size, header_size);
    EXPECT_EQ(m.head_offset, frame_word + header_size);
    ASSERT_TRUE(m.request_header.has_value());
    ExpectFullHeader(*m.request_header);

    const MessageInfo& p = out.messages[2];
    EXPECT_EQ(p.type, MessageType::kOneway);
    ASSERT_TRUE(p.request_header.has_value());
    EXPECT_EQ(p.request_header->trace_id, 1);
    EXPECT_FALSE(p.request_header->sampled.has_value());
    EXPECT_TRUE(p.request_header->contexts.empty());
  }
}

TEST_P(TTwitterTest, ServerSideSession) {
  std::string upgraded = EncodeTTwitterUpgradeReply(GetParam(), 0);
  std::string reply =
      Encode(format(), Preceded(testing::SomeResponseHeader(), testing::EchoReply(1, "hi")));
  std::string oops = Encode(format(), Preceded(tw::ResponseHeader(), testing::EchoOops(2, "nope")));
  MessageReader reader;
  testing::FeedOutcome out =
      testing::FeedInChunks(reader, upgraded + reply + oops, testing::RandomSizes(7, 5),
                            [](MessageReader& r, const MessageInfo& m) {
                              if (m.ttwitter_upgrade && m.type == MessageType::kReply) {
                                r.ExpectTTwitterHeaders(TTwitterHeaders::kResponse);
                              }
                            });
  ASSERT_FALSE(out.failed) << out.status.ToString();
  ASSERT_EQ(out.messages.size(), 3u);
  EXPECT_EQ(out.messages[1].reply, ReplyStatus::kSuccess);
  EXPECT_EQ(out.messages[1].ttwitter_header_size, Serialize(testing::SomeResponseHeader()).size());
  EXPECT_FALSE(out.messages[1].request_header.has_value());
  EXPECT_EQ(out.messages[2].reply, ReplyStatus::kDeclaredException);
  EXPECT_EQ(out.messages[2].exception_field_id, 1);
}

TEST_P(TTwitterTest, SetContextReadsBackWithTheRealLibrary) {
  for (const std::string& value : {std::string("user=v2"), std::string(), std::string(300, 'v')}) {
    std::string bytes =
        Encode(format(), Preceded(testing::FullRequestHeader(), testing::EchoCall(9, "hi")));
    ReaderOptions options;
    options.format = format();
    MessageReader reader(options);
    reader.ExpectTTwitterHeaders(TTwitterHeaders::kRequest);
    ASSERT_EQ(reader.Feed(bytes).progress, Progress::kDone);
    MessageInfo info = reader.message();
    ASSERT_TRUE(SetTTwitterContext(bytes, info, "x-canary-version", value).ok());
    ASSERT_TRUE(RewriteSeqId(bytes, info, 4242).ok());

    tw::RequestHeader header;
    cmtest::Echo_echo_args args;
    testing::ReadBack back = testing::Decode(
        format(), bytes, [&](TProtocol& p) { args.read(&p); },
        [&](TProtocol& p) { header.read(&p); });
    tw::RequestHeader want = testing::FullRequestHeader();
    want.contexts[1].value = value;
    EXPECT_EQ(header, want);
    EXPECT_EQ(args.s, "hi");
    EXPECT_EQ(back.seqid, 4242);
    EXPECT_EQ(back.unread, 0u);
    ASSERT_TRUE(info.request_header.has_value());
    EXPECT_EQ(info.request_header->contexts[1].value, value);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, TTwitterTest,
                         ::testing::Values(Transport::kUnframed, Transport::kFramed),
                         [](const auto& info) {
                           return std::string(info.param == Transport::kFramed ? "Framed"
                                                                               : "Unframed");
                         });

TEST(RequestHeaderTest, DecodesEveryField) {
  Result<RequestHeader> h = DecodeRequestHeader(Serialize(testing::FullRequestHeader()));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ExpectFullHeader(*h);
}

TEST(RequestHeaderTest, TruncatedOrGarbageIsAnError) {
  std::string bytes = Serialize(testing::FullRequestHeader());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeRequestHeader(bytes.substr(0, n)).ok()) << "length " << n;
  }
  EXPECT_FALSE(DecodeRequestHeader(std::string("\x0a\x00\x01\x00", 4)).ok());
  EXPECT_FALSE(DecodeRequestHeader(std::string("\x63\x00\x01", 3)).ok());  // type 99
}

TEST(RequestHeaderTest, SetContextAppendsReplacesAndDeduplicates) {
  tw::RequestHeader h = MinimalHeader();
  Result<std::string> added = SetRequestHeaderContext(Serialize(h), "k", "1");
  ASSERT_TRUE(added.ok());
  Result<RequestHeader> decoded = DecodeRequestHeader(*added);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->contexts, (std::vector<RequestContext>{{"k", "1"}}));
  EXPECT_EQ(decoded->trace_id, 1);

  tw::RequestContext a, dup, other;
  a.key = dup.key = "k";
  a.value = "old";
  dup.value = "older";
  other.key = "o";
  other.value = "x";
  h.contexts = {a, other, dup};
  Result<std::string> replaced = SetRequestHeaderContext(Serialize(h), "k", "new");
  ASSERT_TRUE(replaced.ok());
  decoded = DecodeRequestHeader(*replaced);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->contexts, (std::vector<RequestContext>{{"k", "new"}, {"o", "x"}}));
}

TEST(RequestHeaderTest, SetContextKeepsFieldsItDoesNotKnow) {
  tw::RequestHeaderWithFuture h;
  h.trace_id = 5;
  h.span_id = 6;
  h.__set_future_field({{"a", {1, 2, 3}}, {"b", {}}});
  Result<std::string> edited = SetRequestHeaderContext(Serialize(h), "x-canary-version", "v3");
  ASSERT_TRUE(edited.ok());
  Result<RequestHeader> decoded = DecodeRequestHeader(*edited);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->trace_id, 5);

  auto memory = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  memory->write(reinterpret_cast<const uint8_t*>(edited->data()),
                static_cast<uint32_t>(edited->size()));
  apache::thrift::protocol::TBinaryProtocol p(memory);
  tw::RequestHeaderWithFuture back;
  back.read(&p);
  EXPECT_EQ(back.future_field, h.future_field);
  ASSERT_EQ(back.contexts.size(), 1u);
  EXPECT_EQ(back.contexts[0].value, "v3");
  EXPECT_EQ(memory->available_read(), 0u);
}

}  // namespace
}  // namespace canarymesh::thrift
