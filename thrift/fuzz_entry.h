// One entry point that drives the whole Thrift codec on arbitrary bytes, for a libFuzzer target:
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
//     canarymesh::thrift::FuzzThriftCodec(d, n);
//     return 0;
//   }
// The first byte configures the run; the rest is the connection's byte stream.
//   bits 0-3  n: the reader is fed n + 1 bytes at a time, or all at once when n is 15
//   bits 4-5  TTwitter: 0/3 off, 1 RequestHeaders before calls, 2 ResponseHeaders before replies
//   bit 6     TTwitter from the first byte (binary strict; bit 7: framed), rather than from the
//             first upgrade message on a detected connection It runs format detection and
//             MessageReader, and on every message
// the reader yields: the seqid rewrite, the THeader header and TTwitter context edits, and a
// TApplicationException reply, each read back by a fresh reader. Invalid input returns quietly;
// a broken contract (extents that do not tile the input, a rewrite that does not read back as
// promised) calls std::abort() so the fuzzer reports it. Returns how many messages were read
// and put through the rewrites. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>

namespace canarymesh::thrift {

size_t FuzzThriftCodec(const uint8_t* data, size_t size);

}  // namespace canarymesh::thrift
