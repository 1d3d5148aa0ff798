// Compares, on the same input, canarymesh's MessageParser (Boost.Beast underneath, what the proxy
// uses) with the two parsers Debian offers driven raw: Boost.Beast's basic_parser and Node's
// http-parser, each with callbacks that copy the head into a reused arena as the proxy must.
// The gap between MessageParser and raw Beast is the wrapper's cost. Run:
//   build/bench/http_parser_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <http_parser.h>

#include <boost/beast/http/basic_parser.hpp>
#include <string>

#include "http/message_parser.h"

namespace {

// A typical proxied RPC request: 9 headers, no body; 16 of them pipelined back to back.
std::string Requests(int count) {
  std::string one =
      "GET /api/user/12345/profile?fields=name,email HTTP/1.1\r\n"
      "Host: user.svc.internal\r\n"
      "User-Agent: php-curl/8.2\r\n"
      "Accept: application/json\r\n"
      "Accept-Encoding: gzip\r\n"
      "X-Request-Id: 5f0c6b1e-3a5d-4f5e-9a53-1b2c3d4e5f60\r\n"
      "X-Canary-Version: user=v2,question=v7\r\n"
      "X-User-Id: 982451653\r\n"
      "Cookie: session=abcdef0123456789abcdef0123456789\r\n"
      "Connection: keep-alive\r\n\r\n";
  std::string all;
  for (int i = 0; i < count; ++i) all += one;
  return all;
}

class CountingCallbacks : public canarymesh::http::MessageCallbacks {
 public:
  void OnHead(const canarymesh::http::MessageHead& head) override { headers += head.header_count; }
  void OnBody(const char*, size_t len) override { body += len; }
  void OnMessageComplete() override { ++messages; }
  size_t headers = 0, body = 0, messages = 0;
};

void BM_MessageParser(benchmark::State& state) {
  const std::string input = Requests(16);
  CountingCallbacks callbacks;
  canarymesh::http::MessageParser parser(canarymesh::http::MessageParser::Kind::kRequest,
                                         &callbacks, 64 * 1024);
  for (auto _ : state) {
    size_t offset = 0;
    while (offset < input.size()) {
      offset += parser.Execute(input.data() + offset, input.size() - offset);
      parser.Resume();
    }
  }
  benchmark::DoNotOptimize(callbacks.headers);
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
}
BENCHMARK(BM_MessageParser);

// Beast's parser reports fields through virtual hooks, like http-parser's callbacks; the header
// views are copied into a reused arena here too, as the proxy needs them after the call.
class BeastRequestParser : public boost::beast::http::basic_parser<true> {
 public:
  size_t headers = 0, messages = 0;
  std::string arena;

 private:
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int, boost::beast::error_code&) override {
    arena.clear();
    arena.append(method.data(), method.size());
    arena.append(target.data(), target.size());
  }
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field, boost::beast::string_view name,
                     boost::beast::string_view value, boost::beast::error_code&) override {
    arena.append(name.data(), name.size());
    arena.append(value.data(), value.size());
    ++headers;
  }
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&,
                         boost::beast::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(boost::beast::error_code&) override { ++messages; }
};

void BM_BeastParser(benchmark::State& state) {
  const std::string input = Requests(16);
  size_t headers = 0;
  for (auto _ : state) {
    size_t offset = 0;
    while (offset < input.size()) {
      // A Beast parser handles one message; pipelining means a fresh parser per request.
      BeastRequestParser parser;
      parser.eager(true);
      boost::beast::error_code ec;
      offset += parser.put(boost::asio::buffer(input.data() + offset, input.size() - offset), ec);
      if (ec) state.SkipWithError(ec.message().c_str());
      headers += parser.headers;
    }
  }
  benchmark::DoNotOptimize(headers);
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
}
BENCHMARK(BM_BeastParser);

// Node's http-parser with the callbacks its former MessageParser wrapper had: pieces copied into
// an arena, a pause after each message.
struct HttpParserArena {
  std::string arena;
  size_t headers = 0;
};

int AppendPiece(http_parser* p, const char* at, size_t len) {
  static_cast<HttpParserArena*>(p->data)->arena.append(at, len);
  return 0;
}

void BM_HttpParserRaw(benchmark::State& state) {
  const std::string input = Requests(16);
  http_parser_settings settings{};
  settings.on_message_begin = [](http_parser* p) {
    static_cast<HttpParserArena*>(p->data)->arena.clear();
    return 0;
  };
  settings.on_url = &AppendPiece;
  settings.on_header_field = &AppendPiece;
  settings.on_header_value = [](http_parser* p, const char* at, size_t len) {
    ++static_cast<HttpParserArena*>(p->data)->headers;
    return AppendPiece(p, at, len);
  };
  settings.on_message_complete = [](http_parser* p) {
    http_parser_pause(p, 1);
    return 0;
  };
  HttpParserArena sink;
  sink.arena.reserve(1024);
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &sink;
  for (auto _ : state) {
    size_t offset = 0;
    while (offset < input.size()) {
      offset +=
          http_parser_execute(&parser, &settings, input.data() + offset, input.size() - offset);
      if (HTTP_PARSER_ERRNO(&parser) != HPE_PAUSED && HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
        state.SkipWithError(http_errno_name(HTTP_PARSER_ERRNO(&parser)));
        return;
      }
      http_parser_pause(&parser, 0);
    }
  }
  benchmark::DoNotOptimize(sink.headers);
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
}
BENCHMARK(BM_HttpParserRaw);

}  // namespace

BENCHMARK_MAIN();
