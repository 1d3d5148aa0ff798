// FuzzThriftCodec, the entry point for a libFuzzer target: on valid input in every format it
// reads every message and puts it through every rewrite (which abort on a broken contract); on
// mutated input it returns without crashing.
#include "thrift/fuzz_entry.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/thrift/real_thrift.h"
#include "thrift/reply_encoder.h"

namespace canarymesh::thrift {
namespace {

using apache::thrift::TApplicationException;

size_t RunFuzz(uint8_t config, const std::string& stream) {
  std::string input(1, static_cast<char>(config));
  input += stream;
  return FuzzThriftCodec(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Corpus(const WireFormat& format) {
  return testing::Encode(format, testing::EchoCall(1, "hi"), {{"a", "b"}}) +
         testing::Encode(format, testing::MirrorCall(2)) +
         testing::Encode(format, testing::EchoOops(3, "no")) +
         testing::Encode(
             format, testing::AppException("echo", 4, TApplicationException::UNKNOWN_METHOD, "?"));
}

TEST(FuzzEntryTest, ExercisesEveryMessageOfValidInput) {
  for (const WireFormat& format : testing::AllFormats()) {
    SCOPED_TRACE(testing::FormatName(format));
    std::string stream = Corpus(format);
    for (uint8_t chunking : {0x00, 0x02, 0x06, 0x0f}) {
      EXPECT_EQ(RunFuzz(chunking, stream), 4u) << "config " << int{chunking};
    }
  }
}

TEST(FuzzEntryTest, ExercisesTTwitterCalls) {
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    WireFormat format{t, Protocol::kBinaryStrict};
    auto header = testing::FullRequestHeader();
    std::string call = testing::Encode(
        format, testing::WithStruct([header](testing::TProtocol& p) { header.write(&p); },
                                    testing::EchoCall(1, "hi")));
    std::string upgrade = testing::Encode(format, testing::UpgradeCall());
    uint8_t framed = t == Transport::kFramed ? 0x80 : 0x00;
    // 0x1_: RequestHeaders once the upgrade call has gone by; detected format.
    EXPECT_EQ(RunFuzz(0x10, upgrade + call + call), 3u);
    EXPECT_EQ(RunFuzz(0x1f, upgrade + call), 2u);
    // 0x5_: RequestHeaders from the first byte, format configured (bit 7: framed).
    EXPECT_EQ(RunFuzz(framed | 0x50, call + call), 2u);
    EXPECT_EQ(RunFuzz(framed | 0x5f, call), 1u);
  }
}

TEST(FuzzEntryTest, MutatedInputReturnsQuietly) {
  std::mt19937 rng(7);
  size_t exercised = 0;
  for (const WireFormat& format : testing::AllFormats()) {
    std::string stream = Corpus(format);
    for (int i = 0; i < 300; ++i) {
      std::string mutated = stream;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        mutated[rng() % mutated.size()] = static_cast<char>(rng());
      }
      exercised += RunFuzz(static_cast<uint8_t>(rng()), mutated);
    }
  }
  EXPECT_GT(exercised, 0u);  // some mutants still parse and go through the rewrites
}

}  // namespace
}  // namespace canarymesh::thrift
