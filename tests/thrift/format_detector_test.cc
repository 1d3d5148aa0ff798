// DetectFormat on the first bytes of real Thrift connections in every format, on every prefix
// (undecided until it can decide, never wrong), and on input that is not Thrift.
#include "thrift/format_detector.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/thrift/real_thrift.h"

namespace canarymesh::thrift {
namespace {

using testing::AllFormats;
using testing::Encode;
using testing::FormatName;

TEST(FormatDetectorTest, RecognisesEveryFormatFromRealBytes) {
  for (const WireFormat& format : AllFormats()) {
    SCOPED_TRACE(FormatName(format));
    std::string bytes = Encode(format, testing::EchoCall(5, "hi"), {{"k", "v"}});
    Detection d = DetectFormat(bytes);
    ASSERT_EQ(d.progress, Progress::kDone) << (d.error ? d.error : "");
    EXPECT_EQ(d.format, format);
  }
}

TEST(FormatDetectorTest, EveryPrefixIsUndecidedOrRight) {
  for (const WireFormat& format : AllFormats()) {
    SCOPED_TRACE(FormatName(format));
    std::string bytes = Encode(format, testing::EchoCall(1, "x"));
    size_t decided_at = 0;
    for (size_t n = 0; n <= bytes.size(); ++n) {
      Detection d = DetectFormat(std::string_view(bytes).substr(0, n));
      ASSERT_NE(d.progress, Progress::kError) << "prefix " << n;
      if (d.progress == Progress::kNeedMore) {
        ASSERT_EQ(decided_at, 0u) << "undecided again after deciding";
        EXPECT_GT(d.need, n);
        continue;
      }
      EXPECT_EQ(d.format, format) << "prefix " << n;
      if (decided_at == 0) decided_at = n;
    }
    EXPECT_GT(decided_at, 0u);
  }
}

TEST(FormatDetectorTest, LaxUnframedWithShortNames) {
  for (std::string name : {"", "a", "ab", "abcdefgh"}) {
    std::string bytes = Encode({Transport::kUnframed, Protocol::kBinaryLax},
                               [&](apache::thrift::protocol::TProtocol& p) {
                                 p.writeMessageBegin(name, apache::thrift::protocol::T_CALL, 1);
                                 p.writeStructBegin("args");
                                 p.writeFieldStop();
                                 p.writeStructEnd();
                                 p.writeMessageEnd();
                               });
    Detection d = DetectFormat(bytes);
    ASSERT_EQ(d.progress, Progress::kDone) << "name '" << name << "'";
    EXPECT_EQ(d.format, (WireFormat{Transport::kUnframed, Protocol::kBinaryLax}));
  }
}

TEST(FormatDetectorTest, RejectsWhatIsNotThrift) {
  for (std::string garbage : {
           std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
           std::string("\xff\xff\xff\xff\xff\xff", 6),
           std::string("\x80\x02\x00\x01", 4),  // binary version 2
           std::string("\x82\x22", 2),          // compact version 2
           std::string("\x00\x00\x00\x20\x0f\xff\x00\x00\x00\x00\x00\x00\x00\x01\x01", 15),  // JSON
           std::string("\x00\x00\x00\x20\x0f\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                       15),                                     // no section
           std::string("\x00\x00\x00\x03\x41\x42\x43\x09", 8),  // lax, bad type byte
       }) {
    Detection d = DetectFormat(garbage);
    EXPECT_EQ(d.progress, Progress::kError) << testing::FormatName(d.format);
    EXPECT_NE(d.error, nullptr);
  }
}

TEST(FormatDetectorTest, NeedsMoreOnEmptyAndTinyInput) {
  EXPECT_EQ(DetectFormat("").progress, Progress::kNeedMore);
  EXPECT_EQ(DetectFormat(std::string("\x00", 1)).progress, Progress::kNeedMore);
  EXPECT_EQ(DetectFormat(std::string("\x00\x00\x00\x10\x0f", 5)).progress, Progress::kNeedMore);
}

}  // namespace
}  // namespace canarymesh::thrift
