// libFuzzer target for the Thrift codec: FuzzThriftCodec (format detection, the resumable message
// reader in any chunking, TTwitter modes, seqid/THeader/TTwitter rewrites, exception replies), then
// every message the reader yields re-framed by thrift::Reframe into each framing the proxy sends
// (framed, unframed, THeader with a carried header, TTwitter with a context) and read back: it must
// be exactly one message with the same name and type and the new seqid.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "thrift/fuzz_entry.h"
#include "thrift/message_reader.h"
#include "thrift/reframe.h"

namespace {

using namespace canarymesh::thrift;

void CheckReframe(std::string_view message, const MessageInfo& read, const FrameSpec& target) {
  MessageInfo info = read;  // Reframe may edit it
  ReframeRequest request;
  request.target = target;
  request.seqid = 12345;
  request.carry_key = "x-canary-version";
  request.carry_value = "svc=v2";
  std::string out;
  if (!Reframe(message, info, request, &out).ok()) return;  // refusing is fine; lying is not
  // A framed body is skipped by count, never walked: unframed, only its frame says where it
  // ends, so garbage inside it is passed on as it is (the upstream rejects it) and not checked.
  if (target.format.transport == Transport::kUnframed &&
      read.format.transport != Transport::kUnframed)
    return;
  ReaderOptions options;
  options.format = WireFormat{target.format.transport, info.format.protocol};
  if (target.format.transport == Transport::kHeader) options.format.reset();
  MessageReader reader(options);
  if (target.ttwitter)
    reader.ExpectTTwitterHeaders(read.type == MessageType::kCall ||
                                         read.type == MessageType::kOneway
                                     ? TTwitterHeaders::kRequest
                                     : TTwitterHeaders::kResponse);
  auto fed = reader.Feed(out);
  FUZZ_CHECK(fed.progress == Progress::kDone);
  FUZZ_CHECK(fed.consumed == out.size());
  FUZZ_CHECK(reader.message().name == read.name);
  FUZZ_CHECK(reader.message().type == read.type);
  FUZZ_CHECK(reader.message().seqid == 12345);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzThriftCodec(data, size);
  if (size < 2) return 0;
  MessageReader reader;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t pos = 0;
  for (int messages = 0; messages < 8 && pos < in.size(); ++messages) {
    auto fed = reader.Feed(in.substr(pos));
    if (fed.progress != Progress::kDone) break;
    const MessageInfo& info = reader.message();
    std::string_view message = in.substr(static_cast<size_t>(info.begin), info.size);
    pos += fed.consumed;
    const Protocol p = info.format.protocol;
    CheckReframe(message, info, FrameSpec{{Transport::kFramed, p}, false});
    CheckReframe(message, info, FrameSpec{{Transport::kUnframed, p}, false});
    if (p != Protocol::kBinaryLax)
      CheckReframe(message, info, FrameSpec{{Transport::kHeader, p}, false});
    if (p == Protocol::kBinaryStrict)
      CheckReframe(message, info, FrameSpec{{Transport::kFramed, p}, true});
  }
  return 0;
}
