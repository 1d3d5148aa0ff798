// MessageParser on requests: byte-boundary independence, pipelining, chunked bodies, trailers,
// limits and malformed input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/message_parser.h"
#include "tests/http/recording_callbacks.h"

namespace canarymesh::http {
namespace {

constexpr size_t kLimit = 8 * 1024;

class RequestParserTest : public ::testing::Test {
 protected:
  RecordingCallbacks rec_;
  MessageParser parser_{MessageParser::Kind::kRequest, &rec_, kLimit};

  // Parses `input` in one piece with a fresh parser.
  static std::vector<RecordedMessage> ParseWhole(std::string_view input,
                                                 ParseError* error = nullptr) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
    FeedAll(parser, input);
    if (error) *error = parser.error();
    return rec.messages;
  }
};

const char* const kCorpus[] = {
    "GET /users/42?q=1 HTTP/1.1\r\nHost: user.local:4140\r\nAccept: */*\r\nX-Empty:\r\n"
    "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
    "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
    "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    // Three pipelined requests of different framings.
    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    "PUT /2 HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
    "DELETE /3 HTTP/1.0\r\nHost: c\r\nConnection: keep-alive\r\n\r\n",
};

TEST_F(RequestParserTest, EveryByteBoundaryGivesTheSameResult) {
  for (const char* input : kCorpus) {
    std::string_view data(input);
    ParseError whole_error;
    std::vector<RecordedMessage> whole = ParseWhole(data, &whole_error);
    ASSERT_EQ(whole_error, ParseError::kNone) << input;
    ASSERT_FALSE(whole.empty());
    for (const RecordedMessage& m : whole) EXPECT_TRUE(m.complete) << input;
    for (size_t cut = 1; cut < data.size(); ++cut) {
      RecordingCallbacks rec;
      MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
      EXPECT_EQ(FeedInPieces(parser, data, {cut}), data.size()) << "cut at " << cut;
      EXPECT_EQ(parser.error(), ParseError::kNone) << "cut at " << cut;
      EXPECT_EQ(rec.messages, whole) << "input split at byte " << cut << ":\n" << input;
    }
    // And one byte at a time.
    std::vector<size_t> all_cuts;
    for (size_t cut = 1; cut < data.size(); ++cut) all_cuts.push_back(cut);
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
    FeedInPieces(parser, data, all_cuts);
    EXPECT_EQ(rec.messages, whole) << "byte at a time:\n" << input;
  }
}

TEST_F(RequestParserTest, ParsesStartLineAndHeaders) {
  FeedAll(parser_, kCorpus[0]);
  ASSERT_EQ(rec_.messages.size(), 1u);
  const RecordedMessage& m = rec_.messages[0];
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.target, "/users/42?q=1");
  EXPECT_EQ(m.version_major, 1);
  EXPECT_EQ(m.version_minor, 1);
  EXPECT_TRUE(m.keep_alive);
  EXPECT_FALSE(m.chunked);
  EXPECT_FALSE(m.has_content_length);
  ASSERT_EQ(m.headers.size(), 4u);
  EXPECT_EQ(m.headers[0], (std::pair<std::string, std::string>{"Host", "user.local:4140"}));
  EXPECT_EQ(m.headers[1], (std::pair<std::string, std::string>{"Accept", "*/*"}));
  EXPECT_TRUE(m.complete);
}

TEST_F(RequestParserTest, EmptyHeaderValuesStaySeparateHeaders) {
  std::string_view input = "GET / HTTP/1.1\r\nX-Empty:\r\nHost: h\r\nX-Space: \r\nX-Last:\r\n\r\n";
  std::vector<std::pair<std::string, std::string>> expected = {
      {"X-Empty", ""}, {"Host", "h"}, {"X-Space", ""}, {"X-Last", ""}};
  for (size_t cut = 1; cut < input.size(); ++cut) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
    FeedInPieces(parser, input, {cut});
    ASSERT_EQ(rec.messages.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(rec.messages[0].headers, expected) << "cut at " << cut;
  }
}

TEST_F(RequestParserTest, HeadLookupIsCaseInsensitive) {
  struct FindHost : MessageCallbacks {
    std::string host, missing = "unset";
    void OnHead(const MessageHead& head) override {
      host = std::string(head.Find("HOST"));
      missing = std::string(head.Find("x-nope"));
    }
    void OnBody(const char*, size_t) override {}
    void OnMessageComplete() override {}
  } cb;
  MessageParser parser(MessageParser::Kind::kRequest, &cb, kLimit);
  FeedAll(parser, "GET / HTTP/1.1\r\nhOsT: Example.COM\r\n\r\n");
  EXPECT_EQ(cb.host, "Example.COM");
  EXPECT_EQ(cb.missing, "");
}

TEST_F(RequestParserTest, PausesAfterEachPipelinedRequestUntilResumed) {
  std::string input = kCorpus[3];
  size_t first_len = std::string("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n").size();
  size_t n = parser_.Execute(input.data(), input.size());
  EXPECT_EQ(n, first_len);
  EXPECT_TRUE(parser_.paused());
  EXPECT_FALSE(parser_.InMessage());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_TRUE(rec_.messages[0].complete);
  // Still paused: nothing more is consumed.
  EXPECT_EQ(parser_.Execute(input.data() + n, input.size() - n), 0u);
  EXPECT_EQ(rec_.messages.size(), 1u);

  parser_.Resume();
  size_t n2 = parser_.Execute(input.data() + n, input.size() - n);
  EXPECT_GT(n2, 0u);
  EXPECT_TRUE(parser_.paused());
  ASSERT_EQ(rec_.messages.size(), 2u);
  EXPECT_EQ(rec_.messages[1].method, "PUT");
  EXPECT_EQ(rec_.messages[1].body, "abc");

  parser_.Resume();
  size_t n3 = parser_.Execute(input.data() + n + n2, input.size() - n - n2);
  EXPECT_EQ(n + n2 + n3, input.size());
  ASSERT_EQ(rec_.messages.size(), 3u);
  EXPECT_EQ(rec_.messages[2].method, "DELETE");
  EXPECT_EQ(rec_.messages[2].version_minor, 0);
  EXPECT_TRUE(rec_.messages[2].keep_alive);  // HTTP/1.0 with Connection: keep-alive
}

TEST_F(RequestParserTest, InMessageTracksThePartialRequest) {
  EXPECT_FALSE(parser_.InMessage());
  std::string part = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab";
  EXPECT_EQ(parser_.Execute(part.data(), part.size()), part.size());
  EXPECT_TRUE(parser_.InMessage());
  EXPECT_EQ(parser_.Execute("cd", 2), 2u);
  EXPECT_FALSE(parser_.InMessage());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].body, "abcd");
}

TEST_F(RequestParserTest, DecodesChunkedBodiesAndDropsTrailers) {
  std::string input = std::string(kCorpus[2]) + "GET /next HTTP/1.1\r\nHost: n\r\n\r\n";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 2u);
  const RecordedMessage& m = rec_.messages[0];
  EXPECT_TRUE(m.chunked);
  EXPECT_EQ(m.body, "hello world");
  EXPECT_TRUE(m.complete);
  for (const auto& [name, value] : m.headers) EXPECT_NE(name, "X-Trailer");
  // The trailer did not leak into the next request either.
  std::vector<std::pair<std::string, std::string>> next_headers = {{"Host", "n"}};
  EXPECT_EQ(rec_.messages[1].headers, next_headers);
  EXPECT_EQ(rec_.messages[1].target, "/next");
}

TEST_F(RequestParserTest, HeaderSectionOverTheLimitIsTooLarge) {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(kLimit, 'x') + "\r\n\r\n";
  FeedAll(parser_, big);
  EXPECT_EQ(parser_.error(), ParseError::kHeadersTooLarge);
  EXPECT_STREQ(parser_.ErrorDescription(), "header section too large");
  EXPECT_TRUE(rec_.messages.empty());

  // Split into small reads it is caught the same way.
  RecordingCallbacks rec;
  MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
  std::vector<size_t> cuts;
  for (size_t c = 100; c < big.size(); c += 100) cuts.push_back(c);
  FeedInPieces(parser, big, cuts);
  EXPECT_EQ(parser.error(), ParseError::kHeadersTooLarge);

  // A long target counts too.
  RecordingCallbacks rec2;
  MessageParser parser2(MessageParser::Kind::kRequest, &rec2, kLimit);
  FeedAll(parser2, "GET /" + std::string(kLimit, 'p') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser2.error(), ParseError::kHeadersTooLarge);
}

TEST_F(RequestParserTest, HeaderSectionUnderTheLimitParses) {
  std::string ok =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(kLimit / 2, 'x') + "\r\n\r\n";
  FeedAll(parser_, ok);
  EXPECT_EQ(parser_.error(), ParseError::kNone);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].headers[1].second.size(), kLimit / 2);
}

TEST_F(RequestParserTest, TooManyHeadersIsTooLarge) {
  RecordingCallbacks rec;
  MessageParser roomy(MessageParser::Kind::kRequest, &rec, 1 << 20);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  FeedAll(roomy, many + "\r\n");
  EXPECT_EQ(roomy.error(), ParseError::kHeadersTooLarge);
  EXPECT_TRUE(rec.messages.empty());

  RecordingCallbacks rec_ok;
  MessageParser roomy_ok(MessageParser::Kind::kRequest, &rec_ok, 1 << 20);
  std::string hundred = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) hundred += "X-H" + std::to_string(i) + ": v\r\n";
  FeedAll(roomy_ok, hundred + "\r\n");
  EXPECT_EQ(roomy_ok.error(), ParseError::kNone);
  ASSERT_EQ(rec_ok.messages.size(), 1u);
  EXPECT_EQ(rec_ok.messages[0].headers.size(), 100u);
}

TEST_F(RequestParserTest, MalformedInputIsReported) {
  const char* const bad[] = {
      "GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n",
      "G@T / HTTP/1.1\r\n\r\n",
      "GET / HTTP/9.x\r\n\r\n",
      "GET / FTP/1.1\r\n\r\n",
      "\x01\x02\x03garbage\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      // Request smuggling shape: both framings.
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
  };
  for (const char* input : bad) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kRequest, &rec, kLimit);
    FeedAll(parser, input);
    EXPECT_EQ(parser.error(), ParseError::kMalformed) << input;
    EXPECT_NE(std::string(parser.ErrorDescription()), "") << input;
    for (const RecordedMessage& m : rec.messages) EXPECT_FALSE(m.complete) << input;
    // An errored parser takes nothing more.
    EXPECT_EQ(parser.Execute("GET / HTTP/1.1\r\n\r\n", 18), 0u);
  }
}

TEST_F(RequestParserTest, ResetGivesAFreshParserAfterAnError) {
  FeedAll(parser_, "BAD\x01 / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(parser_.error(), ParseError::kMalformed);
  parser_.Reset();
  EXPECT_EQ(parser_.error(), ParseError::kNone);
  rec_.messages.clear();
  FeedAll(parser_, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(parser_.error(), ParseError::kNone);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].target, "/again");
}

TEST_F(RequestParserTest, ConnectionCloseAndHttp10DefaultsAreReported) {
  FeedAll(parser_, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
  parser_.Reset();
  FeedAll(parser_, "GET /b HTTP/1.0\r\n\r\n");
  parser_.Reset();
  FeedAll(parser_, "GET /c HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_EQ(rec_.messages.size(), 3u);
  EXPECT_FALSE(rec_.messages[0].keep_alive);
  EXPECT_FALSE(rec_.messages[1].keep_alive);
  EXPECT_TRUE(rec_.messages[2].upgrade);
}

}  // namespace
}  // namespace canarymesh::http
