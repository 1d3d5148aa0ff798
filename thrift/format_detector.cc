#include "thrift/format_detector.h"

#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

Detection Need(size_t n) { return Detection{Progress::kNeedMore, {}, n, nullptr}; }
Detection Error(const char* why) { return Detection{Progress::kError, {}, 0, why}; }
Detection Found(Transport transport, Protocol protocol) {
  return Detection{Progress::kDone, WireFormat{transport, protocol}, 0, nullptr};
}

bool ValidType(unsigned t) { return t >= 1 && t <= 4; }
unsigned Byte(std::string_view in, size_t i) { return static_cast<unsigned char>(in[i]); }

// Strict binary or compact magic at `at`: sets *protocol. Needs 2 bytes from `at`.
bool MagicAt(std::string_view in, size_t at, Protocol* protocol) {
  if (Byte(in, at) == 0x80 && Byte(in, at + 1) == 0x01) {
    *protocol = Protocol::kBinaryStrict;
    return true;
  }
  if (Byte(in, at) == 0x82 && (Byte(in, at + 1) & 0x1f) == 1 && ValidType(Byte(in, at + 1) >> 5)) {
    *protocol = Protocol::kCompact;
    return true;
  }
  return false;
}

// THeader: length, magic, flags, seqid, header words, then the protocol id varint.
Detection DetectTHeader(std::string_view in) {
  if (in.size() < 15) return Need(15);
  if (LoadBe16(in.data() + 12) == 0) return Error("THeader without a header section");
  switch (Byte(in, 14)) {
    case 0:
      return Found(Transport::kHeader, Protocol::kBinaryStrict);
    case 2:
      return Found(Transport::kHeader, Protocol::kCompact);
    default:
      return Error("unsupported THeader protocol");
  }
}

// Lax binary has no magic: a name length, the name, a type byte. Framed, the length word is
// followed by a second, smaller one; unframed, the length word is the name's and name bytes
// follow (printable, so read as a length they dwarf any frame the first word could announce).
Detection DetectLax(std::string_view in, uint32_t first, size_t max_name) {
  if (first >= 9) {  // the smallest framed lax message: name length, type, seqid
    if (in.size() < 8) return Need(8);
    auto name = static_cast<int32_t>(LoadBe32(in.data() + 4));
    if (name >= 0 && static_cast<uint64_t>(name) + 9 <= first &&
        static_cast<size_t>(name) <= max_name) {
      size_t type_at = 8 + static_cast<size_t>(name);
      if (in.size() <= type_at) return Need(type_at + 1);
      if (ValidType(Byte(in, type_at))) return Found(Transport::kFramed, Protocol::kBinaryLax);
    }
  }
  if (first <= max_name) {
    size_t type_at = 4 + static_cast<size_t>(first);
    if (in.size() <= type_at) return Need(type_at + 1);
    if (ValidType(Byte(in, type_at))) return Found(Transport::kUnframed, Protocol::kBinaryLax);
  }
  return Error("not a Thrift message (unrecognised format)");
}

}  // namespace

Detection DetectFormat(std::string_view in, size_t max_name) {
  if (in.size() < 2) return Need(2);
  Protocol protocol;
  if (MagicAt(in, 0, &protocol)) return Found(Transport::kUnframed, protocol);
  if (Byte(in, 0) & 0x80) return Error("not a Thrift message (unrecognised format)");
  if (in.size() < 6) return Need(6);
  uint32_t first = LoadBe32(in.data());
  if (MagicAt(in, 4, &protocol)) return Found(Transport::kFramed, protocol);
  if (Byte(in, 4) == 0x0f && Byte(in, 5) == 0xff) return DetectTHeader(in);
  return DetectLax(in, first, max_name);
}

}  // namespace canarymesh::thrift
