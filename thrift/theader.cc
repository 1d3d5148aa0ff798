#include "thrift/theader.h"

#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

constexpr uint16_t kMagic = 0x0fff;
constexpr uint64_t kInfoPadding = 0;
constexpr uint64_t kInfoKeyValue = 1;
constexpr uint64_t kProtocolBinary = 0;
constexpr uint64_t kProtocolCompact = 2;
constexpr uint32_t kMaxFrame = 0x3fffffff;  // THeaderTransport::MAX_FRAME_SIZE

const char* TransformError(uint64_t id) {
  switch (id) {  // ids from the THeader spec and fbthrift
    case 1:
      return "unsupported THeader transform: zlib";
    case 2:
      return "unsupported THeader transform: hmac";
    case 3:
      return "unsupported THeader transform: snappy";
    case 4:
      return "unsupported THeader transform: qlz";
    case 5:
      return "unsupported THeader transform: zstd";
    default:
      return "unsupported THeader transform";
  }
}

// A cursor over the complete header section; every read is bounded by it.
struct SectionReader {
  std::string_view in;
  size_t pos = 0;
  const char* error = nullptr;

  bool Varint32(uint64_t* value) {
    Varint v = ReadVarint(in.substr(pos), kMaxVarint32);
    if (v.size == 0 || v.size > kMaxVarint32) {
      error = "THeader header section truncated or malformed";
      return false;
    }
    pos += v.size;
    *value = v.value;
    return true;
  }
  bool String(std::string* out) {
    uint64_t n = 0;
    if (!Varint32(&n)) return false;
    if (n > in.size() - pos) {
      error = "THeader info header longer than its section";
      return false;
    }
    out->assign(in.substr(pos, n));
    pos += n;
    return true;
  }
};

bool ReadSection(std::string_view section, THeaderFrame* out, const char** error) {
  SectionReader r{section};
  uint64_t protocol = 0, transforms = 0;
  if (!r.Varint32(&protocol) || !r.Varint32(&transforms)) return *error = r.error, false;
  if (protocol == kProtocolBinary) {
    out->protocol = Protocol::kBinaryStrict;
  } else if (protocol == kProtocolCompact) {
    out->protocol = Protocol::kCompact;
  } else {
    return *error = "unsupported THeader protocol", false;
  }
  if (transforms > 0) {
    uint64_t id = 0;
    if (!r.Varint32(&id)) return *error = r.error, false;
    return *error = TransformError(id), false;
  }
  while (r.pos < section.size()) {
    uint64_t info = 0;
    if (!r.Varint32(&info)) return *error = r.error, false;
    if (info == kInfoPadding) break;
    if (info != kInfoKeyValue) {
      out->unknown_info = true;
      break;
    }
    uint64_t count = 0;
    if (!r.Varint32(&count)) return *error = r.error, false;
    for (; count > 0 && r.pos < section.size(); --count) {
      std::pair<std::string, std::string> kv;
      if (!r.String(&kv.first) || !r.String(&kv.second)) return *error = r.error, false;
      out->headers.push_back(std::move(kv));
    }
  }
  return true;
}

}  // namespace

Token ReadTHeaderFrame(std::string_view in, THeaderFrame* out) {
  if (in.size() < kTHeaderFixedSize) return TokenNeed(kTHeaderFixedSize);
  *out = THeaderFrame{};
  out->length = LoadBe32(in.data());
  if (LoadBe16(in.data() + 4) != kMagic) return TokenError("missing THeader magic");
  out->flags = LoadBe16(in.data() + 6);
  out->seqid = static_cast<int32_t>(LoadBe32(in.data() + kTHeaderSeqIdOffset));
  size_t words = LoadBe16(in.data() + kTHeaderWordsOffset);
  if (words == 0) return TokenError("THeader without a header section");
  if (words > kTHeaderMaxWords) return TokenError("THeader header section too large");
  out->section_size = words * 4;
  if (out->length < 10 + out->section_size) {
    return TokenError("THeader header section larger than its frame");
  }
  size_t total = kTHeaderFixedSize + out->section_size;
  if (in.size() < total) return TokenNeed(total);
  const char* error = nullptr;
  if (!ReadSection(in.substr(kTHeaderFixedSize, out->section_size), out, &error)) {
    return TokenError(error);
  }
  return TokenDone(total);
}

Result<std::string> EncodeTHeaderSection(Protocol protocol, const InfoHeaders& headers) {
  std::string s;
  AppendVarint(s, IsBinary(protocol) ? kProtocolBinary : kProtocolCompact);
  AppendVarint(s, 0);  // no transforms
  if (!headers.empty()) {
    AppendVarint(s, kInfoKeyValue);
    AppendVarint(s, headers.size());
    for (const auto& [key, value] : headers) {
      AppendVarint(s, key.size());
      s.append(key);
      AppendVarint(s, value.size());
      s.append(value);
    }
  }
  s.resize((s.size() + 3) / 4 * 4, '\0');
  if (s.size() / 4 > kTHeaderMaxWords) return Status::InvalidArgument("THeader headers too large");
  return s;
}

Status AppendTHeaderFrame(std::string& out, uint16_t flags, int32_t seqid, std::string_view section,
                          std::string_view payload) {
  if (section.empty() || section.size() % 4 != 0 || section.size() / 4 > kTHeaderMaxWords) {
    return Status::InvalidArgument("bad THeader header section size");
  }
  uint64_t length = 10 + section.size() + payload.size();
  if (length > kMaxFrame) return Status::InvalidArgument("THeader frame too large");
  AppendBe32(out, static_cast<uint32_t>(length));
  AppendBe16(out, kMagic);
  AppendBe16(out, flags);
  AppendBe32(out, static_cast<uint32_t>(seqid));
  AppendBe16(out, static_cast<uint16_t>(section.size() / 4));
  out.append(section);
  out.append(payload);
  return Status::Ok();
}

}  // namespace canarymesh::thrift
