// MessageParser on responses: bodiless responses (HEAD, 1xx, 204, 304), read-until-close bodies
// completed by ExecuteEof, chunked bodies and interim responses before the final one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/message_parser.h"
#include "tests/http/recording_callbacks.h"

namespace canarymesh::http {
namespace {

class ResponseParserTest : public ::testing::Test {
 protected:
  RecordingCallbacks rec_;
  MessageParser parser_{MessageParser::Kind::kResponse, &rec_, 8 * 1024};
};

TEST_F(ResponseParserTest, ContentLengthBody) {
  std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 1u);
  const RecordedMessage& m = rec_.messages[0];
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.reason, "OK");
  EXPECT_TRUE(m.has_content_length);
  EXPECT_EQ(m.content_length, 5u);
  EXPECT_EQ(m.body, "hello");
  EXPECT_TRUE(m.complete);
  EXPECT_TRUE(m.keep_alive);
  EXPECT_TRUE(parser_.paused());
}

TEST_F(ResponseParserTest, AnswerToHeadHasNoBodyDespiteContentLength) {
  parser_.ExpectNoBody(true);
  std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_TRUE(rec_.messages[0].complete);
  EXPECT_EQ(rec_.messages[0].content_length, 10u);
  EXPECT_EQ(rec_.messages[0].body, "");
  EXPECT_FALSE(parser_.InMessage());

  // The flag covers one response: the next one on the connection has its body again.
  std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(FeedAll(parser_, next), next.size());
  ASSERT_EQ(rec_.messages.size(), 2u);
  EXPECT_EQ(rec_.messages[1].body, "ok");
}

TEST_F(ResponseParserTest, AnswerToHeadStaysBodilessAfterAnInterimResponse) {
  parser_.ExpectNoBody(true);
  std::string input =
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 2u);
  EXPECT_EQ(rec_.messages[0].status, 103);
  EXPECT_EQ(rec_.messages[1].status, 200);
  EXPECT_TRUE(rec_.messages[1].complete) << "the final answer to HEAD waited for a body";
  EXPECT_FALSE(parser_.InMessage());
}

TEST_F(ResponseParserTest, NoContentAndNotModifiedHaveNoBody) {
  std::string input =
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 3u);
  EXPECT_EQ(rec_.messages[0].status, 204);
  EXPECT_EQ(rec_.messages[1].status, 304);
  EXPECT_EQ(rec_.messages[2].body, "z");
  for (const RecordedMessage& m : rec_.messages) EXPECT_TRUE(m.complete);
}

TEST_F(ResponseParserTest, NotModifiedWithContentLengthHasNoBody) {
  // RFC 9110 8.6: a 304 may carry the Content-Length the 200 would have had; it has no body.
  std::string input =
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 3u);
  EXPECT_EQ(rec_.messages[0].body, "");
  EXPECT_TRUE(rec_.messages[0].complete);
  EXPECT_EQ(rec_.messages[1].body, "");
  EXPECT_EQ(rec_.messages[2].body, "ok");
}

TEST_F(ResponseParserTest, ReadUntilCloseEndsWithEof) {
  std::string input = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed ";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  EXPECT_EQ(FeedAll(parser_, "until close"), 11u);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_FALSE(rec_.messages[0].complete);
  EXPECT_FALSE(rec_.messages[0].keep_alive);  // the close is the framing
  EXPECT_TRUE(parser_.InMessage());
  EXPECT_TRUE(parser_.ExecuteEof());
  EXPECT_TRUE(rec_.messages[0].complete);
  EXPECT_EQ(rec_.messages[0].body, "streamed until close");
}

TEST_F(ResponseParserTest, EofInsideAFramedBodyCutsTheMessageShort) {
  std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  FeedAll(parser_, input);
  EXPECT_FALSE(parser_.ExecuteEof());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_FALSE(rec_.messages[0].complete);
}

TEST_F(ResponseParserTest, EofInsideTheHeadCutsTheMessageShort) {
  FeedAll(parser_, "HTTP/1.1 200 OK\r\nContent-Le");
  EXPECT_FALSE(parser_.ExecuteEof());
  EXPECT_TRUE(rec_.messages.empty());
}

TEST_F(ResponseParserTest, EofBetweenMessagesIsClean) {
  EXPECT_TRUE(parser_.ExecuteEof());
  FeedAll(parser_, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(parser_.ExecuteEof());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_TRUE(rec_.messages[0].complete);
}

TEST_F(ResponseParserTest, InterimThenFinalResponse) {
  std::string input =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone";
  // Split at every byte: the interim and the final response come out the same.
  for (size_t cut = 1; cut < input.size(); ++cut) {
    RecordingCallbacks rec;
    MessageParser parser(MessageParser::Kind::kResponse, &rec, 8 * 1024);
    EXPECT_EQ(FeedInPieces(parser, input, {cut}), input.size());
    ASSERT_EQ(rec.messages.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(rec.messages[0].status, 100);
    EXPECT_TRUE(rec.messages[0].complete);
    EXPECT_EQ(rec.messages[0].body, "");
    EXPECT_EQ(rec.messages[1].status, 201);
    EXPECT_EQ(rec.messages[1].reason, "Created");
    EXPECT_EQ(rec.messages[1].body, "done");
  }
}

TEST_F(ResponseParserTest, ChunkedResponseIsDecoded) {
  std::string input =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Checksum: 1\r\n\r\n";
  EXPECT_EQ(FeedAll(parser_, input), input.size());
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_TRUE(rec_.messages[0].chunked);
  EXPECT_EQ(rec_.messages[0].body, "abc0123456789");
  EXPECT_TRUE(rec_.messages[0].complete);
  EXPECT_EQ(rec_.messages[0].headers.size(), 1u);  // the trailer is not a header
}

TEST_F(ResponseParserTest, StatusLineWithoutReason) {
  FeedAll(parser_, "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].status, 404);
  EXPECT_EQ(rec_.messages[0].reason, "");
}

TEST_F(ResponseParserTest, Http10ResponseIsNotKeptAlive) {
  FeedAll(parser_, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_FALSE(rec_.messages[0].keep_alive);
  EXPECT_EQ(rec_.messages[0].version_minor, 0);
}

TEST_F(ResponseParserTest, MalformedResponse) {
  FeedAll(parser_, "HTTP/1.1 abc OK\r\n\r\n");
  EXPECT_EQ(parser_.error(), ParseError::kMalformed);
}

TEST_F(ResponseParserTest, OversizedResponseHead) {
  FeedAll(parser_, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n");
  EXPECT_EQ(parser_.error(), ParseError::kHeadersTooLarge);
}

}  // namespace
}  // namespace canarymesh::http
