// Byte-level helpers shared by the Thrift codecs: big-endian integers, the unsigned varints of
// the compact protocol and THeader, and zigzag. Pure functions over caller-owned memory;
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace canarymesh::thrift {

inline uint16_t LoadBe16(const char* p) {
  auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline uint32_t LoadBe32(const char* p) {
  auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint64_t LoadBe64(const char* p) { return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4); }
inline void StoreBe16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
inline void StoreBe32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline void AppendBe16(std::string& out, uint16_t v) {
  char b[2];
  StoreBe16(b, v);
  out.append(b, 2);
}
inline void AppendBe32(std::string& out, uint32_t v) {
  char b[4];
  StoreBe32(b, v);
  out.append(b, 4);
}
inline void AppendBe64(std::string& out, uint64_t v) {
  AppendBe32(out, static_cast<uint32_t>(v >> 32));
  AppendBe32(out, static_cast<uint32_t>(v));
}

// Reads an unsigned LEB128 varint of at most `max_bytes` bytes from the start of `in`.
// size == 0 means `in` ends inside the varint; size > max_bytes means it is malformed.
struct Varint {
  uint64_t value = 0;
  size_t size = 0;
};
inline Varint ReadVarint(std::string_view in, size_t max_bytes) {
  Varint v;
  for (size_t i = 0; i < in.size() && i < max_bytes; ++i) {
    auto byte = static_cast<unsigned char>(in[i]);
    v.value |= uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      v.size = i + 1;
      return v;
    }
  }
  if (in.size() >= max_bytes) v.size = max_bytes + 1;  // too long
  return v;
}
inline constexpr size_t kMaxVarint32 = 5;
inline constexpr size_t kMaxVarint64 = 10;

inline void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace canarymesh::thrift
