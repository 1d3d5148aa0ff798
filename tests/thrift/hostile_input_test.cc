// Hostile input: nesting beyond the limit, huge declared lengths and sizes, frames that lie about
// their length, unsupported THeader transforms, truncation and random garbage. Each must end in
// a clean error (or a wait for bytes that a limit bounds), never a crash or an endless wait.
#include <gtest/gtest.h>
#include <thrift/protocol/THeaderProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/THeaderTransport.h>

#include <memory>
#include <random>
#include <string>

#include "tests/thrift/reader_driver.h"
#include "tests/thrift/real_thrift.h"
#include "thrift/message_head.h"
#include "thrift/message_reader.h"
#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

const WireFormat kUnframedBinary{Transport::kUnframed, Protocol::kBinaryStrict};
const WireFormat kUnframedCompact{Transport::kUnframed, Protocol::kCompact};

// Feeds `bytes` to a fresh reader in one go (and once byte by byte) and expects an error whose
// message contains `what`.
void ExpectError(const std::string& bytes, const std::string& what, ReaderOptions options = {}) {
  for (size_t chunk : {bytes.size() + 1, size_t{1}}) {
    MessageReader reader(options);
    testing::FeedOutcome out = testing::FeedInChunks(reader, bytes, testing::BytesOf(chunk));
    ASSERT_TRUE(out.failed) << "expected an error containing '" << what << "'";
    EXPECT_NE(out.status.message().find(what), std::string::npos) << out.status.message();
    // A failed reader stays failed.
    EXPECT_EQ(reader.Feed("more").progress, Progress::kError);
  }
}

// A call whose args struct nests `depth` - 1 more structs through field 1.
std::string NestedStructs(Protocol protocol, int depth) {
  std::string out;
  AppendMessageHead(out, protocol, "f", MessageType::kCall, 1);
  for (int i = 1; i < depth; ++i) {
    if (IsBinary(protocol)) {
      out += std::string("\x0c\x00\x01", 3);
    } else {
      out += "\x1c";
    }
  }
  out += std::string(depth, '\0');
  return out;
}

TEST(HostileInputTest, NestingBeyondTheLimit) {
  for (Protocol protocol : {Protocol::kBinaryStrict, Protocol::kCompact}) {
    MessageReader ok;
    std::string at_limit = NestedStructs(protocol, 64);
    testing::FeedOutcome out = testing::FeedInChunks(ok, at_limit, testing::BytesOf(3));
    ASSERT_FALSE(out.failed) << out.status.ToString();
    EXPECT_EQ(out.messages.size(), 1u);
    ExpectError(NestedStructs(protocol, 65), "nesting deeper than the limit");
  }
  // The real library's own bytes: 40 nested Nodes are 81 levels with the args struct.
  std::string tree = testing::Encode(kUnframedBinary, testing::TreeCall(1, 40));
  ExpectError(tree, "nesting deeper than the limit");
  ReaderOptions deep;
  deep.max_depth = 81;
  MessageReader reader(deep);
  EXPECT_EQ(reader.Feed(tree).progress, Progress::kDone);
}

TEST(HostileInputTest, DeepNestingUsesNoRecursion) {
  // A million levels would overflow the call stack of a recursive skipper.
  ReaderOptions options;
  options.max_depth = 2'000'000;
  MessageReader reader(options);
  std::string bytes = NestedStructs(Protocol::kCompact, 1'000'000);
  MessageReader::FeedResult r = reader.Feed(bytes);
  ASSERT_EQ(r.progress, Progress::kDone) << reader.status().ToString();
  EXPECT_EQ(reader.message().size, bytes.size());
}

TEST(HostileInputTest, NestingIsCheckedWhereverStructsAreWalked) {
  // Framed calls are skipped by count, but a framed EXCEPTION and a TTwitter header are walked.
  std::string head;
  AppendMessageHead(head, Protocol::kBinaryStrict, "f", MessageType::kCall, 1);
  const std::string deep_struct = NestedStructs(Protocol::kBinaryStrict, 70).substr(head.size());
  std::string deep_exception;
  AppendMessageHead(deep_exception, Protocol::kBinaryStrict, "f", MessageType::kException, 1);
  deep_exception += deep_struct;
  std::string framed;
  AppendBe32(framed, static_cast<uint32_t>(deep_exception.size()));
  ExpectError(framed + deep_exception, "nesting deeper than the limit");

  std::string header = deep_struct;
  ReaderOptions options;
  options.format = kUnframedBinary;
  MessageReader reader(options);
  reader.ExpectTTwitterHeaders(TTwitterHeaders::kRequest);
  EXPECT_EQ(reader.Feed(header).progress, Progress::kError);
  EXPECT_NE(reader.status().message().find("nesting deeper"), std::string::npos);
}

TEST(HostileInputTest, HugeDeclaredLengthsFailAtOnce) {
  auto call = [](Protocol protocol) {
    std::string out;
    AppendMessageHead(out, protocol, "f", MessageType::kCall, 1);
    return out;
  };
  // Each fails on the bytes given, without waiting for the gigabytes it announces.
  ExpectError(call(Protocol::kBinaryStrict) + std::string("\x0b\x00\x01\x7f\xff\xff\xf0", 7),
              "string length over the limit");
  ExpectError(call(Protocol::kBinaryStrict) + std::string("\x0b\x00\x01\xff\xff\xff\xf0", 7),
              "negative string length");
  ExpectError(call(Protocol::kBinaryStrict) + std::string("\x0f\x00\x01\x08\x40\x00\x00\x00", 8),
              "container size over the limit");
  ExpectError(
      call(Protocol::kBinaryStrict) + std::string("\x0d\x00\x01\x08\x08\x7f\x00\x00\x00", 9),
      "container size over the limit");
  ExpectError(call(Protocol::kCompact) + std::string("\x18\xff\xff\xff\xff\x0f", 6),
              "negative string length");
  ExpectError(call(Protocol::kCompact) + std::string("\x18\xff\xff\xff\x7f", 5),
              "string length over the limit");
  ExpectError(call(Protocol::kCompact) + std::string("\x1b\xff\xff\xff\x7f\x88", 6),
              "container size over the limit");
  ExpectError(call(Protocol::kCompact) + std::string("\x15\xff\xff\xff\xff\xff\xff", 7),
              "varint too long");
  ExpectError(std::string("\x80\x01\x00\x01\x7f\xff\xff\xff", 8), "method name too long");
  ExpectError(std::string("\x82\x21\x01\xff\xff\xff\xff\x07", 8), "method name too long");
  ExpectError(std::string("\x7f\xff\xff\xff\x80\x01\x00\x01", 8), "frame too large");
  ReaderOptions small;
  small.max_frame_size = 1000;
  ExpectError(testing::Encode({Transport::kFramed, Protocol::kCompact},
                              testing::EchoCall(1, std::string(1000, 'x'))),
              "frame too large", small);
  ExpectError(testing::Encode(kUnframedCompact, testing::EchoCall(1, std::string(1000, 'x'))),
              "message too large", small);
}

TEST(HostileInputTest, FramesThatLieAboutTheirLength) {
  std::string head;
  AppendMessageHead(head, Protocol::kBinaryStrict, "echo", MessageType::kCall, 1);
  std::string framed;
  AppendBe32(framed, 6);  // shorter than the head it holds
  ExpectError(framed + head + std::string(8, '\0'), "runs past the end of its frame");

  std::string exception;
  AppendMessageHead(exception, Protocol::kBinaryStrict, "e", MessageType::kException, 1);
  exception += std::string("\x0b\x00\x01\x00\x00\x00\x10", 7);  // a string running past the end
  std::string lying;
  AppendBe32(lying, static_cast<uint32_t>(exception.size() + 2));
  ExpectError(lying + exception + std::string(40, 'x'), "runs past the end of its frame");

  // THeader: section larger than the frame, absurd section, frame too short for its fixed part.
  ExpectError(std::string("\x00\x00\x00\x10\x0f\xff\x00\x00\x00\x00\x00\x01\x00\x08", 14) +
                  std::string(40, '\0'),
              "larger than its frame");
  ExpectError(std::string("\x00\x01\x00\x10\x0f\xff\x00\x00\x00\x00\x00\x00\xff\xff\x00", 15),
              "section too large");
  ExpectError(std::string("\x00\x00\x00\x04\x0f\xff\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00", 16),
              "larger than its frame");
}

TEST(HostileInputTest, UnsupportedTHeaderTransformsAreErrors) {
  // zlib, written by the real THeaderTransport.
  auto memory = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  auto protocol = std::make_shared<apache::thrift::protocol::THeaderProtocol>(memory);
  auto transport = std::dynamic_pointer_cast<apache::thrift::transport::THeaderTransport>(
      protocol->getTransport());
  transport->setTransform(apache::thrift::transport::THeaderTransport::ZLIB_TRANSFORM);
  testing::EchoCall(1, std::string(100, 'z'))(*protocol);
  transport->flush();
  ExpectError(memory->getBufferAsString(), "unsupported THeader transform: zlib");
  // snappy, by hand: protocol compact, one transform, id 3.
  ExpectError(std::string("\x00\x00\x00\x0e\x0f\xff\x00\x00\x00\x00\x00\x01\x00\x01\x02\x01\x03\x00"
                          "\x82\x21",
                          20),
              "unsupported THeader transform: snappy");
}

TEST(HostileInputTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240229);
  const std::string prefixes[] = {
      "",
      std::string("\x80\x01\x00\x01", 4),
      std::string("\x82\x21", 2),
      std::string("\x00\x00\x00\x40\x80\x01\x00\x02", 8),
      std::string("\x00\x00\x00\x40\x82\x41", 6),
      std::string("\x00\x00\x00\x40\x0f\xff\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00", 16),
      std::string("\x00\x00\x00\x04test\x01\x00\x00\x00\x01", 13)};
  size_t errors = 0, messages = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = prefixes[i % std::size(prefixes)];
    size_t n = std::uniform_int_distribution<size_t>(0, 200)(rng);
    for (size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(rng()));
    MessageReader reader;
    testing::FeedOutcome out = testing::FeedInChunks(reader, bytes, testing::RandomSizes(i, 17));
    uint64_t next = 0;
    for (const MessageInfo& m : out.messages) {
      ASSERT_EQ(m.begin, next);
      next += m.size;
    }
    ASSERT_LE(next, bytes.size());
    errors += out.failed;
    messages += out.messages.size();
  }
  EXPECT_GT(errors, 1000u);  // garbage is mostly refused...
  EXPECT_GT(messages, 0u);   // ...but the prefixes make some of it parse as messages
}

}  // namespace
}  // namespace canarymesh::thrift
