// head_writer: hop-by-hop removal, X-Forwarded-For, response framing, local responses and
// chunk headers. Heads are built by hand so that these tests do not depend on the parser.
#include "http/head_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace canarymesh::http {
namespace {

class HeadWriterTest : public ::testing::Test {
 protected:
  MessageHead Request(std::vector<Header> headers, std::string_view method = "GET",
                      std::string_view target = "/path?q=1") {
    headers_ = std::move(headers);
    MessageHead h;
    h.method = method;
    h.target = target;
    h.headers = headers_.data();
    h.header_count = headers_.size();
    return h;
  }
  MessageHead Response(int status, std::vector<Header> headers, std::string_view reason = "OK") {
    headers_ = std::move(headers);
    MessageHead h;
    h.status = status;
    h.reason = reason;
    h.headers = headers_.data();
    h.header_count = headers_.size();
    for (const Header& x : headers_) {
      if (EqualsIgnoreCase(x.name, "content-length")) {
        h.has_content_length = true;
        h.content_length = std::stoull(std::string(x.value));
      }
      if (EqualsIgnoreCase(x.name, "transfer-encoding")) h.chunked = true;
    }
    return h;
  }

  std::vector<Header> headers_;
  std::string out_;
};

TEST_F(HeadWriterTest, RequestDropsHopByHopHeadersAndThoseNamedInConnection) {
  MessageHead in = Request({{"Host", "user.local"},
                            {"Connection", "keep-alive, X-Session-Secret ,x-other"},
                            {"Keep-Alive", "timeout=5"},
                            {"Proxy-Connection", "keep-alive"},
                            {"TE", "trailers"},
                            {"Upgrade", "h2c"},
                            {"Trailer", "X-Checksum"},
                            {"X-Session-Secret", "s3cr3t"},
                            {"X-OTHER", "o"},
                            {"Accept", "*/*"},
                            {"Content-Length", "5"}});
  in.has_content_length = true;
  in.content_length = 5;
  WriteRequestHead(in, RequestRewrite{"10.1.2.3", {}}, &out_);
  EXPECT_EQ(out_,
            "GET /path?q=1 HTTP/1.1\r\n"
            "Host: user.local\r\n"
            "Accept: */*\r\n"
            "Content-Length: 5\r\n"
            "X-Forwarded-For: 10.1.2.3\r\n"
            "\r\n");
}

TEST_F(HeadWriterTest, ChunkedRequestStaysChunkedOnce) {
  MessageHead in = Request({{"Host", "a"}, {"Transfer-Encoding", "chunked"}}, "POST", "/up");
  in.chunked = true;
  WriteRequestHead(in, RequestRewrite{"::1", {}}, &out_);
  EXPECT_EQ(out_,
            "POST /up HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: ::1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
}

TEST_F(HeadWriterTest, RequestLineIsAlwaysHttp11) {
  MessageHead in = Request({{"Host", "a"}}, "HEAD", "/");
  in.version_minor = 0;
  WriteRequestHead(in, RequestRewrite{"1.2.3.4", {}}, &out_);
  EXPECT_EQ(out_.substr(0, out_.find("\r\n")), "HEAD / HTTP/1.1");
}

TEST_F(HeadWriterTest, XForwardedForKeepsExistingValuesAndAppendsTheClient) {
  MessageHead in = Request({{"x-forwarded-for", "203.0.113.7"}, {"Host", "a"}});
  WriteRequestHead(in, RequestRewrite{"10.0.0.9", {}}, &out_);
  EXPECT_EQ(out_,
            "GET /path?q=1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.9\r\n\r\n");
}

TEST_F(HeadWriterTest, SeveralXForwardedForLinesKeepTheirOrder) {
  MessageHead in = Request(
      {{"X-Forwarded-For", "1.1.1.1, 2.2.2.2"}, {"Host", "a"}, {"X-Forwarded-For", "3.3.3.3"}});
  WriteRequestHead(in, RequestRewrite{"4.4.4.4", {}}, &out_);
  // Joined over lines (RFC 9110 5.3), the list must read first hop to last.
  std::string joined;
  for (size_t pos = 0; (pos = out_.find("X-Forwarded-For: ", pos)) != std::string::npos;) {
    pos += 17;
    if (!joined.empty()) joined += ", ";
    joined += out_.substr(pos, out_.find("\r\n", pos) - pos);
  }
  EXPECT_EQ(joined, "1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4");
}

TEST_F(HeadWriterTest, DropHeaderIsCaseInsensitive) {
  MessageHead in = Request({{"Host", "a"}, {"X-Canary-Version", "user=v2"}, {"X-Keep", "1"}});
  WriteRequestHead(in, RequestRewrite{"1.2.3.4", "x-canary-version"}, &out_);
  EXPECT_EQ(out_.find("v2"), std::string::npos) << out_;
  EXPECT_NE(out_.find("X-Keep: 1\r\n"), std::string::npos);
}

TEST_F(HeadWriterTest, IsHopByHopIgnoresCase) {
  for (const char* name : {"connection", "KEEP-ALIVE", "Proxy-Connection", "te",
                           "Transfer-Encoding", "upgrade", "TRAILER"}) {
    EXPECT_TRUE(IsHopByHop(name)) << name;
  }
  for (const char* name : {"Host", "Content-Length", "Trailers", "t", "X-Connection", ""}) {
    EXPECT_FALSE(IsHopByHop(name)) << name;
  }
}

TEST_F(HeadWriterTest, FramingChoices) {
  MessageHead with_length = Response(200, {{"Content-Length", "3"}});
  MessageHead chunked = Response(200, {{"Transfer-Encoding", "chunked"}});
  MessageHead unknown = Response(200, {});
  EXPECT_EQ(ChooseResponseFraming(with_length, false, true), BodyFraming::kContentLength);
  EXPECT_EQ(ChooseResponseFraming(with_length, false, false), BodyFraming::kContentLength);
  EXPECT_EQ(ChooseResponseFraming(chunked, false, true), BodyFraming::kChunked);
  EXPECT_EQ(ChooseResponseFraming(chunked, false, false), BodyFraming::kUntilClose);
  EXPECT_EQ(ChooseResponseFraming(unknown, false, true), BodyFraming::kChunked);
  EXPECT_EQ(ChooseResponseFraming(unknown, false, false), BodyFraming::kUntilClose);
  EXPECT_EQ(ChooseResponseFraming(with_length, true, true), BodyFraming::kNone);
  EXPECT_EQ(ChooseResponseFraming(unknown, true, false), BodyFraming::kNone);
  for (int status : {100, 103, 204, 304}) {
    EXPECT_EQ(ChooseResponseFraming(Response(status, {}), false, true), BodyFraming::kNone)
        << status;
  }
}

TEST_F(HeadWriterTest, ResponseWithContentLengthForHttp11Client) {
  MessageHead in =
      Response(200, {{"Content-Length", "3"}, {"Connection", "keep-alive"}, {"X-A", "b"}});
  WriteResponseHead(in, BodyFraming::kContentLength, false, true, &out_);
  EXPECT_EQ(out_, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\n");
}

TEST_F(HeadWriterTest, ChunkedFramingReplacesTheUpstreamFraming) {
  MessageHead in = Response(200, {{"Transfer-Encoding", "chunked"}, {"X-A", "b"}});
  WriteResponseHead(in, BodyFraming::kChunked, false, true, &out_);
  EXPECT_EQ(out_, "HTTP/1.1 200 OK\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_F(HeadWriterTest, UntilCloseForHttp10ClientSaysClose) {
  MessageHead in = Response(200, {{"Transfer-Encoding", "chunked"}});
  WriteResponseHead(in, BodyFraming::kUntilClose, false, false, &out_);
  EXPECT_EQ(out_, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n");
}

TEST_F(HeadWriterTest, Http10ClientKeptAliveIsToldSo) {
  MessageHead in = Response(200, {{"Content-Length", "0"}});
  WriteResponseHead(in, BodyFraming::kContentLength, false, false, &out_);
  EXPECT_EQ(out_, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_F(HeadWriterTest, CloseAddsConnectionClose) {
  MessageHead in = Response(503, {{"Content-Length", "0"}, {"Connection", "close"}}, "Busy");
  WriteResponseHead(in, BodyFraming::kContentLength, true, true, &out_);
  EXPECT_EQ(out_, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_F(HeadWriterTest, HeadAnswerKeepsContentLength) {
  MessageHead in = Response(200, {{"Content-Length", "1234"}});
  WriteResponseHead(in, BodyFraming::kNone, false, true, &out_);
  EXPECT_EQ(out_, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
}

TEST_F(HeadWriterTest, MissingReasonGetsTheStandardOne) {
  MessageHead in = Response(404, {{"Content-Length", "0"}}, "");
  WriteResponseHead(in, BodyFraming::kContentLength, false, true, &out_);
  EXPECT_EQ(out_.substr(0, out_.find("\r\n")), "HTTP/1.1 404 Not Found");
}

TEST_F(HeadWriterTest, LocalResponse) {
  WriteLocalResponse(404, "Not Found", "no service for host 'x'\n", false, &out_);
  EXPECT_EQ(
      out_,
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nServer: canarymesh\r\n"
      "Content-Length: 24\r\n\r\nno service for host 'x'\n");
  out_.clear();
  WriteLocalResponse(400, "Bad Request", "", true, &out_);
  EXPECT_EQ(out_,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nServer: "
            "canarymesh\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_F(HeadWriterTest, OutputIsAppended) {
  out_ = "prefix|";
  WriteLocalResponse(200, "OK", "x", false, &out_);
  EXPECT_EQ(out_.rfind("prefix|HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST_F(HeadWriterTest, ChunkHeaderFormatting) {
  char buf[24];
  auto fmt = [&](size_t n) { return std::string(buf, FormatChunkHeader(n, buf)); };
  EXPECT_EQ(fmt(0), "0\r\n");
  EXPECT_EQ(fmt(1), "1\r\n");
  EXPECT_EQ(fmt(255), "ff\r\n");
  EXPECT_EQ(fmt(16384), "4000\r\n");
  EXPECT_EQ(fmt(SIZE_MAX), "ffffffffffffffff\r\n");
}

}  // namespace
}  // namespace canarymesh::http
