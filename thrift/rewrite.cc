#include "thrift/rewrite.h"

#include <cstddef>
#include <limits>

#include "thrift/message_head.h"
#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

constexpr uint64_t kMaxFrameLength = 0x7fffffff;

// The message head at info.head_offset must be the one `info` describes.
Status CheckHead(std::string_view message, const MessageInfo& info, MessageHead* head) {
  if (message.size() != info.size || info.head_offset + info.head_size > message.size()) {
    return Status::InvalidArgument("message bytes do not match their MessageInfo");
  }
  std::string_view bytes = message.substr(info.head_offset, info.head_size);
  Token t = ReadMessageHead(bytes, info.format.protocol, bytes.size(), head);
  if (t.progress != Progress::kDone || t.size != info.head_size || head->seqid != info.seqid ||
      head->type != info.type || head->name != info.name) {
    return Status::InvalidArgument("message head does not match its MessageInfo");
  }
  return Status::Ok();
}

void Shift(size_t* offset, size_t from, ptrdiff_t delta) {
  if (*offset >= from) *offset += delta;
}

// Replaces message[at, at + old_size) with `bytes`; fixes the frame length (framed and THeader
// both count every byte after the length word) and moves the layout offsets that follow.
Status Splice(std::string& message, MessageInfo& info, size_t at, size_t old_size,
              std::string_view bytes) {
  auto delta = static_cast<ptrdiff_t>(bytes.size()) - static_cast<ptrdiff_t>(old_size);
  if (info.format.transport != Transport::kUnframed) {
    if (message.size() < 4) return Status::InvalidArgument("message shorter than its frame header");
    int64_t length = static_cast<int64_t>(LoadBe32(message.data())) + delta;
    if (length < 0 || static_cast<uint64_t>(length) > kMaxFrameLength) {
      return Status::InvalidArgument("rewritten frame length out of range");
    }
    StoreBe32(message.data(), static_cast<uint32_t>(length));
  }
  message.replace(at, old_size, bytes);
  size_t end = at + old_size;
  info.size = message.size();
  Shift(&info.ttwitter_header_offset, end, delta);
  Shift(&info.head_offset, end, delta);
  Shift(&info.seqid_offset, end, delta);
  return Status::Ok();
}

}  // namespace

Status RewriteSeqId(std::string& message, MessageInfo& info, int32_t seqid) {
  MessageHead head;
  if (Status s = CheckHead(message, info, &head); !s.ok()) return s;
  if (info.format.protocol == Protocol::kCompact) {
    std::string encoded;
    AppendMessageHead(encoded, Protocol::kCompact, head.name, head.type, seqid);
    if (Status s = Splice(message, info, info.head_offset, info.head_size, encoded); !s.ok()) {
      return s;
    }
    info.head_size = encoded.size();
    info.seqid_size = VarintSize(static_cast<uint32_t>(seqid));
  } else {
    StoreBe32(message.data() + info.seqid_offset, static_cast<uint32_t>(seqid));
  }
  if (info.theader) {
    StoreBe32(message.data() + kTHeaderSeqIdOffset, static_cast<uint32_t>(seqid));
    info.theader->seqid = seqid;
  }
  info.seqid = seqid;
  return Status::Ok();
}

Status SetTHeaderInfoHeader(std::string& message, MessageInfo& info, std::string_view key,
                            std::string_view value) {
  if (!info.theader || info.format.transport != Transport::kHeader) {
    return Status::InvalidArgument("not a THeader message");
  }
  MessageHead head;
  if (Status s = CheckHead(message, info, &head); !s.ok()) return s;
  size_t old_section = size_t{LoadBe16(message.data() + kTHeaderWordsOffset)} * 4;
  if (kTHeaderFixedSize + old_section > info.head_offset) {
    return Status::InvalidArgument("THeader section does not match its MessageInfo");
  }
  InfoHeaders headers;
  bool placed = false;
  for (auto& kv : info.theader->headers) {
    if (kv.first != key) {
      headers.push_back(kv);
    } else if (!placed) {
      headers.emplace_back(std::string(key), std::string(value));
      placed = true;
    }
  }
  if (!placed) headers.emplace_back(std::string(key), std::string(value));
  Result<std::string> section = EncodeTHeaderSection(info.format.protocol, headers);
  if (!section.ok()) return section.status();
  if (Status s = Splice(message, info, kTHeaderFixedSize, old_section, *section); !s.ok()) {
    return s;
  }
  StoreBe16(message.data() + kTHeaderWordsOffset, static_cast<uint16_t>(section->size() / 4));
  info.theader->headers = std::move(headers);
  info.theader->unknown_info = false;
  return Status::Ok();
}

Status SetTTwitterContext(std::string& message, MessageInfo& info, std::string_view key,
                          std::string_view value) {
  if (!info.request_header || info.ttwitter_header_size == 0) {
    return Status::InvalidArgument("not a TTwitter call with a RequestHeader");
  }
  MessageHead head;
  if (Status s = CheckHead(message, info, &head); !s.ok()) return s;
  if (info.ttwitter_header_offset + info.ttwitter_header_size > info.head_offset) {
    return Status::InvalidArgument("TTwitter header does not match its MessageInfo");
  }
  std::string_view old_header =
      std::string_view(message).substr(info.ttwitter_header_offset, info.ttwitter_header_size);
  Result<std::string> header = SetRequestHeaderContext(old_header, key, value);
  if (!header.ok()) return header.status();
  Result<RequestHeader> decoded = DecodeRequestHeader(*header);
  if (!decoded.ok()) return decoded.status();
  Status s = Splice(message, info, info.ttwitter_header_offset, info.ttwitter_header_size, *header);
  if (!s.ok()) return s;
  info.ttwitter_header_size = header->size();
  info.request_header = std::move(decoded.value());
  return Status::Ok();
}

}  // namespace canarymesh::thrift
