#include "thrift/message_head.h"

#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

constexpr uint32_t kStrictVersionMask = 0xffff0000;
constexpr uint32_t kStrictVersion1 = 0x80010000;
constexpr uint8_t kCompactProtocolId = 0x82;
constexpr uint8_t kCompactVersion = 1;

bool ValidType(uint32_t t) { return t >= 1 && t <= 4; }

Token ReadBinaryStrict(std::string_view in, size_t max_name, MessageHead* out) {
  if (in.size() < 8) return TokenNeed(8);
  uint32_t version = LoadBe32(in.data());
  if ((version & kStrictVersionMask) != kStrictVersion1) return TokenError("bad binary version");
  if (!ValidType(version & 0xff)) return TokenError("invalid message type");
  auto name_size = static_cast<int32_t>(LoadBe32(in.data() + 4));
  if (name_size < 0) return TokenError("negative method name length");
  if (static_cast<size_t>(name_size) > max_name) return TokenError("method name too long");
  size_t total = 12 + static_cast<size_t>(name_size);
  if (in.size() < total) return TokenNeed(total);
  out->type = static_cast<MessageType>(version & 0xff);
  out->name = in.substr(8, name_size);
  out->seqid_offset = 8 + name_size;
  out->seqid_size = 4;
  out->seqid = static_cast<int32_t>(LoadBe32(in.data() + out->seqid_offset));
  return TokenDone(total);
}

Token ReadBinaryLax(std::string_view in, size_t max_name, MessageHead* out) {
  if (in.size() < 4) return TokenNeed(4);
  auto name_size = static_cast<int32_t>(LoadBe32(in.data()));
  if (name_size < 0) return TokenError("strict binary message on a lax binary connection");
  if (static_cast<size_t>(name_size) > max_name) return TokenError("method name too long");
  size_t total = 9 + static_cast<size_t>(name_size);
  if (in.size() < total) return TokenNeed(total);
  auto type = static_cast<uint8_t>(in[4 + name_size]);
  if (!ValidType(type)) return TokenError("invalid message type");
  out->type = static_cast<MessageType>(type);
  out->name = in.substr(4, name_size);
  out->seqid_offset = 5 + name_size;
  out->seqid_size = 4;
  out->seqid = static_cast<int32_t>(LoadBe32(in.data() + out->seqid_offset));
  return TokenDone(total);
}

Token ReadCompact(std::string_view in, size_t max_name, MessageHead* out) {
  if (in.size() < 2) return TokenNeed(2);
  if (static_cast<uint8_t>(in[0]) != kCompactProtocolId)
    return TokenError("bad compact protocol id");
  auto version_and_type = static_cast<uint8_t>(in[1]);
  if ((version_and_type & 0x1f) != kCompactVersion) return TokenError("bad compact version");
  if (!ValidType(version_and_type >> 5)) return TokenError("invalid message type");
  Varint seqid = ReadVarint(in.substr(2), kMaxVarint32);
  if (seqid.size == 0) return TokenNeed(in.size() + 1);
  if (seqid.size > kMaxVarint32) return TokenError("varint too long");
  size_t at = 2 + seqid.size;
  Varint name_size = ReadVarint(in.substr(at), kMaxVarint32);
  if (name_size.size == 0) return TokenNeed(in.size() + 1);
  if (name_size.size > kMaxVarint32) return TokenError("varint too long");
  if (name_size.value > INT32_MAX) return TokenError("negative method name length");
  if (name_size.value > max_name) return TokenError("method name too long");
  at += name_size.size;
  size_t total = at + name_size.value;
  if (in.size() < total) return TokenNeed(total);
  out->type = static_cast<MessageType>(version_and_type >> 5);
  out->seqid = static_cast<int32_t>(static_cast<uint32_t>(seqid.value));
  out->seqid_offset = 2;
  out->seqid_size = seqid.size;
  out->name = in.substr(at, name_size.value);
  return TokenDone(total);
}

}  // namespace

Token ReadMessageHead(std::string_view in, Protocol protocol, size_t max_name, MessageHead* out) {
  switch (protocol) {
    case Protocol::kBinaryStrict:
      return ReadBinaryStrict(in, max_name, out);
    case Protocol::kBinaryLax:
      return ReadBinaryLax(in, max_name, out);
    case Protocol::kCompact:
      return ReadCompact(in, max_name, out);
  }
  return TokenError("unknown protocol");
}

void AppendMessageHead(std::string& out, Protocol protocol, std::string_view name, MessageType type,
                       int32_t seqid) {
  auto t = static_cast<uint8_t>(type);
  switch (protocol) {
    case Protocol::kBinaryStrict:
      AppendBe32(out, kStrictVersion1 | t);
      AppendBe32(out, static_cast<uint32_t>(name.size()));
      out.append(name);
      AppendBe32(out, static_cast<uint32_t>(seqid));
      return;
    case Protocol::kBinaryLax:
      AppendBe32(out, static_cast<uint32_t>(name.size()));
      out.append(name);
      out.push_back(static_cast<char>(t));
      AppendBe32(out, static_cast<uint32_t>(seqid));
      return;
    case Protocol::kCompact:
      out.push_back(static_cast<char>(kCompactProtocolId));
      out.push_back(static_cast<char>((t << 5) | kCompactVersion));
      AppendVarint(out, static_cast<uint32_t>(seqid));  // not zigzag: TCompactProtocol's way
      AppendVarint(out, name.size());
      out.append(name);
      return;
  }
}

}  // namespace canarymesh::thrift
