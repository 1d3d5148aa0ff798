// MessageParser on the framing questions a proxy must answer the same way as the next hop:
// request smuggling shapes, obs-fold, chunk lines and trailers split across reads or too long,
// the header-size limit over the whole head, and what survives the read buffer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/message_parser.h"
#include "tests/http/recording_callbacks.h"

namespace canarymesh::http {
namespace {

constexpr size_t kLimit = 8 * 1024;

ParseError ParseRequest(std::string_view input, std::vector<RecordedMessage>* messages = nullptr,
                        size_t limit = kLimit) {
  RecordingCallbacks rec;
  MessageParser parser(MessageParser::Kind::kRequest, &rec, limit);
  FeedAll(parser, input);
  if (messages) *messages = rec.messages;
  return parser.error();
}

TEST(MessageParserFramingTest, SmugglingShapesAreMalformed) {
  const char* const bad[] = {
      // Both framings, in either order and with a coding before chunked.
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
      // A request Transfer-Encoding whose last coding is not chunked has no knowable length.
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n",
      // Content-Length lists that disagree, or are not numbers.
      "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      // Whitespace before the colon (RFC 9112 5.1) and bare CR or LF line ends.
      "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GET / HTTP/1.1\r\nHost: a\n\r\n",
      // Chunk sizes that are not hex, overflow 64 bits, or are followed by junk.
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
  };
  for (const char* input : bad) {
    std::vector<RecordedMessage> messages;
    EXPECT_EQ(ParseRequest(input, &messages), ParseError::kMalformed) << input;
    for (const RecordedMessage& m : messages) EXPECT_FALSE(m.complete) << input;
  }
}

TEST(MessageParserFramingTest, ObsoleteLineFoldingIsMalformed) {
  const char* const folded[] = {
      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
      // The value starts on the continuation line.
      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded:\r\n two\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Folded:\r\n two\r\n three\r\nHost: a\r\n\r\n",
      // A folded Content-Length would hide the body from one side.
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 3\r\n\r\nabc",
  };
  for (const char* input : folded) {
    std::string_view data(input);
    for (size_t cut = 1; cut < data.size(); ++cut) {
      RecordingCallbacks rec;
      MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
      FeedInPieces(parser, data, {cut});
      EXPECT_EQ(parser.error(), ParseError::kMalformed) << "cut at " << cut << ": " << input;
      EXPECT_TRUE(rec.messages.empty()) << input;
    }
  }
}

TEST(MessageParserFramingTest, ValidFramingStillParses) {
  std::vector<RecordedMessage> messages;
  // A repeated identical Content-Length is one length (RFC 9110 8.6).
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                         &messages),
            ParseError::kNone);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].body, "abc");
  // Codings before chunked: the proxy passes the coded bytes on.
  EXPECT_EQ(ParseRequest(
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n",
                &messages),
            ParseError::kNone);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].chunked);
  EXPECT_EQ(messages[0].body, "zz");
  // Upper-case hex, a zero-padded size, whitespace around the value.
  EXPECT_EQ(
      ParseRequest(
          "POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n00A\r\n0123456789\r\n0\r\n\r\n",
          &messages),
      ParseError::kNone);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].body, "0123456789");
  EXPECT_EQ(messages[0].headers[0].second, "Chunked");
}

TEST(MessageParserFramingTest, EmptyLinesBeforeARequestAreIgnored) {
  // RFC 9112 2.2: some clients send a CRLF after a POST body.
  std::string input =
      "POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\n"
      "\r\nGET /b HTTP/1.1\r\n\r\n";
  for (size_t cut = 1; cut < input.size(); ++cut) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
    EXPECT_EQ(FeedInPieces(parser, input, {cut}), input.size()) << "cut at " << cut;
    EXPECT_EQ(parser.error(), ParseError::kNone) << "cut at " << cut;
    ASSERT_EQ(rec.messages.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(rec.messages[1].target, "/b");
    EXPECT_FALSE(parser.InMessage()) << "empty lines alone are not a message";
  }
}

TEST(MessageParserFramingTest, PartialHeadIsConsumedAndHeldByTheParser) {
  RecordingCallbacks rec;
  MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
  std::string part1 = "GET /split HTTP/1.1\r\nHo";
  std::string part2 = "st: a\r\nX-A: b\r";
  std::string part3 = "\n\r\n";
  EXPECT_EQ(parser.Execute(part1.data(), part1.size()), part1.size());
  EXPECT_TRUE(parser.InMessage());
  // The reads die before the head completes, as a connection's buffer moves on.
  part1.assign(part1.size(), '#');
  EXPECT_EQ(parser.Execute(part2.data(), part2.size()), part2.size());
  part2.assign(part2.size(), '#');
  EXPECT_EQ(parser.Execute(part3.data(), part3.size()), part3.size());
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_EQ(rec.messages[0].target, "/split");
  std::vector<std::pair<std::string, std::string>> expected = {{"Host", "a"}, {"X-A", "b"}};
  EXPECT_EQ(rec.messages[0].headers, expected);
  EXPECT_TRUE(rec.messages[0].complete);
}

TEST(MessageParserFramingTest, HeadViewsOutliveTheReadBuffer) {
  // The router reads the head again when the body ends (retries, logging): the views must not
  // point into a read buffer that has since been reused.
  struct KeepHead : MessageCallbacks {
    MessageHead head;
    std::string target_at_end, host_at_end, method_at_end;
    void OnHead(const MessageHead& h) override { head = h; }
    void OnBody(const char*, size_t) override {}
    void OnMessageComplete() override {
      target_at_end = std::string(head.target);
      host_at_end = std::string(head.Find("host"));
      method_at_end = std::string(head.method);
    }
  };
  for (std::string method : {"POST", "FROB"}) {
    KeepHead cb;
    MessageParser parser(MessageParser::Kind::kRequest, &cb, kLimit);
    std::string read1 = method + " /keep HTTP/1.1\r\nHost: h.example\r\nContent-Length: 2\r\n\r\n";
    EXPECT_EQ(parser.Execute(read1.data(), read1.size()), read1.size());
    read1.assign(read1.size(), '#');
    EXPECT_EQ(parser.Execute("ok", 2), 2u);
    EXPECT_EQ(cb.target_at_end, "/keep");
    EXPECT_EQ(cb.host_at_end, "h.example");
    EXPECT_EQ(cb.method_at_end, method);
  }
}

TEST(MessageParserFramingTest, HeaderLimitCoversTheWholeHead) {
  // Each line well under the limit, together over it.
  std::string head = "GET /" + std::string(kLimit / 2, 't') + " HTTP/1.1\r\n";
  head += "X-A: " + std::string(kLimit / 2, 'a') + "\r\n\r\n";
  EXPECT_EQ(ParseRequest(head), ParseError::kHeadersTooLarge);
  // Many small fields adding up.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i)
    many += "X-" + std::to_string(i) + ": " + std::string(60, 'v') + "\r\n";
  EXPECT_EQ(ParseRequest(many + "\r\n"), ParseError::kHeadersTooLarge);
  EXPECT_EQ(ParseRequest(many + "\r\n", nullptr, 64 * 1024), ParseError::kNone);
}

TEST(MessageParserFramingTest, ChunkLinesAndTrailersSplitAnywhere) {
  std::string input =
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;name=\"quoted value\";flag\r\nabc\r\n1a\r\n" +
      std::string(26, 'z') +
      "\r\n"
      "0;last=1\r\nX-T1: a\r\nX-T2: b\r\n\r\n"
      "GET /after HTTP/1.1\r\n\r\n";
  for (size_t cut = 1; cut < input.size(); ++cut) {
    for (size_t cut2 : {cut + 1, cut + 7}) {
      if (cut2 >= input.size()) continue;
      RecordingCallbacks rec;
      MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
      EXPECT_EQ(FeedInPieces(parser, input, {cut, cut2}), input.size()) << cut << "," << cut2;
      ASSERT_EQ(parser.error(), ParseError::kNone) << cut << "," << cut2;
      ASSERT_EQ(rec.messages.size(), 2u) << cut << "," << cut2;
      EXPECT_EQ(rec.messages[0].body, "abc" + std::string(26, 'z'));
      EXPECT_EQ(rec.messages[0].headers.size(), 1u);
      EXPECT_EQ(rec.messages[1].target, "/after");
    }
  }
}

TEST(MessageParserFramingTest, LastChunkFirstFedAByteAtATime) {
  // The final chunk right after the head, then trailers: Beast is asked to look again at a
  // final chunk it needed more bytes for (its debug build asserts such looks are 5+ bytes).
  for (MessageParser::Kind kind : {MessageParser::Kind::kRequest, MessageParser::Kind::kResponse}) {
    std::string input = kind == MessageParser::Kind::kRequest
                            ? "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    input += "0\r\nX-Sum: 1\r\n\r\n";
    input += input;  // and a second message behind it
    std::vector<size_t> cuts;
    for (size_t c = 1; c < input.size(); ++c) cuts.push_back(c);
    RecordingCallbacks rec;
    MessageParser parser(kind, &rec, kLimit);
    EXPECT_EQ(FeedInPieces(parser, input, cuts), input.size());
    EXPECT_EQ(parser.error(), ParseError::kNone);
    ASSERT_EQ(rec.messages.size(), 2u);
    for (const RecordedMessage& m : rec.messages) {
      EXPECT_TRUE(m.complete);
      EXPECT_EQ(m.body, "");
    }
  }
}

TEST(MessageParserFramingTest, OverlongChunkLineOrTrailerIsRefused) {
  const size_t limit = 1024;
  std::string ext =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=" + std::string(4096, 'e');
  std::string trailer =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + std::string(4096, 't');
  for (const std::string& input : {ext, trailer}) {
    // In one read and in small reads: the parser never holds more than the limit.
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, limit);
    FeedAll(parser, input);
    EXPECT_EQ(parser.error(), ParseError::kMalformed);
    RecordingCallbacks rec2;
    MessageParser parser2(MessageParser::Kind::kRequest, &rec2, limit);
    std::vector<size_t> cuts;
    for (size_t c = 50; c < input.size(); c += 50) cuts.push_back(c);
    FeedInPieces(parser2, input, cuts);
    EXPECT_EQ(parser2.error(), ParseError::kMalformed);
    EXPECT_NE(std::string(parser2.ErrorDescription()), "");
  }
}

TEST(MessageParserFramingTest, MethodCodesAreTheRoutersConstants) {
  // router/ tells HEAD and the idempotent methods apart by these codes; other methods Beast knows
  // get some code >= 0 (see the loop's check), the rest -1.
  const std::pair<const char*, int> methods[] = {
      {"DELETE", kMethodDelete},   {"GET", kMethodGet},     {"HEAD", kMethodHead},
      {"POST", kMethodPost},       {"PUT", kMethodPut},     {"CONNECT", kMethodConnect},
      {"OPTIONS", kMethodOptions}, {"TRACE", kMethodTrace},
  };
  for (const auto& [name, code] : methods) {
    struct Code : MessageCallbacks {
      int code = -100;
      std::string method;
      void OnHead(const MessageHead& h) override {
        code = h.method_code;
        method = std::string(h.method);
      }
      void OnBody(const char*, size_t) override {}
      void OnMessageComplete() override {}
    } cb;
    MessageParser parser(MessageParser::Kind::kRequest, &cb, kLimit);
    std::string request = std::string(name) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    FeedAll(parser, request);
    EXPECT_EQ(parser.error(), ParseError::kNone) << name;
    EXPECT_EQ(cb.code, code) << name;
    EXPECT_EQ(cb.method, name);
  }
}

TEST(MessageParserFramingTest, ExtensionMethodsAreKeptWithoutACode) {
  std::vector<RecordedMessage> messages;
  EXPECT_EQ(ParseRequest("FROB /x HTTP/1.1\r\nHost: a\r\n\r\n", &messages), ParseError::kNone);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].method, "FROB");
  EXPECT_EQ(ParseRequest("GE(T / HTTP/1.1\r\n\r\n"), ParseError::kMalformed);  // not a token
  EXPECT_EQ(ParseRequest(" GET / HTTP/1.1\r\n\r\n"), ParseError::kMalformed);
}

TEST(MessageParserFramingTest, ResponseFramingRules) {
  struct Case {
    const char* input;
    ParseError error;
    const char* body;
  };
  const Case cases[] = {
      // A response Transfer-Encoding without chunked is read until close; with a length, refused.
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", ParseError::kNone, "zzz"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nzzz",
       ParseError::kMalformed, ""},
      {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", ParseError::kMalformed, ""},
      {"HTTP/1.1 2000 OK\r\n\r\n", ParseError::kMalformed, ""},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
       ParseError::kMalformed, ""},
  };
  for (const Case& c : cases) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kResponse, &rec, kLimit);
    FeedAll(parser, c.input);
    EXPECT_EQ(parser.error(), c.error) << c.input;
    if (c.error == ParseError::kNone) {
      EXPECT_TRUE(parser.ExecuteEof()) << c.input;
      ASSERT_EQ(rec.messages.size(), 1u) << c.input;
      EXPECT_EQ(rec.messages[0].body, c.body);
      EXPECT_FALSE(rec.messages[0].keep_alive);
    }
  }
}

TEST(MessageParserFramingTest, SwitchingProtocolsIsAnUpgradeWithoutBody) {
  RecordingCallbacks rec;
  MessageParser parser(MessageParser::Kind::kResponse, &rec, kLimit);
  FeedAll(parser,
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_TRUE(rec.messages[0].upgrade);
  EXPECT_TRUE(rec.messages[0].complete);
  // The same fields on a 200 are not an upgrade.
  RecordingCallbacks rec2;
  MessageParser parser2(MessageParser::Kind::kResponse, &rec2, kLimit);
  FeedAll(
      parser2,
      "HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(rec2.messages.size(), 1u);
  EXPECT_FALSE(rec2.messages[0].upgrade);
}

}  // namespace
}  // namespace canarymesh::http
