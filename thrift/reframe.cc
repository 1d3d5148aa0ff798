#include "thrift/reframe.h"

#include "thrift/message_head.h"
#include "thrift/rewrite.h"
#include "thrift/theader.h"
#include "thrift/token_writer.h"
#include "thrift/ttwitter.h"
#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

bool SameFraming(const FrameSpec& source, const FrameSpec& target) {
  return source.format.transport == target.format.transport && source.ttwitter == target.ttwitter;
}

// Same framing: copy, then patch the seqid and the carried value in place.
Status PatchInPlace(std::string_view message, MessageInfo& info, const ReframeRequest& request,
                    std::string* out) {
  std::string copy(message);
  if (Status s = RewriteSeqId(copy, info, request.seqid); !s.ok()) return s;
  if (!request.carry_key.empty()) {
    if (info.theader) {
      if (Status s = SetTHeaderInfoHeader(copy, info, request.carry_key, request.carry_value);
          !s.ok()) {
        return s;
      }
    } else if (info.request_header) {
      if (Status s = SetTTwitterContext(copy, info, request.carry_key, request.carry_value);
          !s.ok()) {
        return s;
      }
    }
  }
  out->append(copy);
  return Status::Ok();
}

}  // namespace

bool CopiesVerbatim(std::string_view message, const MessageInfo& info,
                    const ReframeRequest& request) {
  // Binary without a value to carry: the seqid is 4 bytes (and THeader's frame copy 4 more),
  // patched on the copy as it goes out.
  return message.size() == info.size && IsBinary(info.format.protocol) &&
         request.carry_key.empty() && info.seqid_size == 4 && info.seqid_offset + 4 <= info.size &&
         (!info.theader || kTHeaderSeqIdOffset + 4 <= info.size) &&
         SameFraming(SourceFrameOf(info), request.target);
}

void PatchSeqIdInCopy(char* copy, const MessageInfo& info, int32_t seqid) {
  StoreBe32(copy + info.seqid_offset, static_cast<uint32_t>(seqid));
  if (info.theader) StoreBe32(copy + kTHeaderSeqIdOffset, static_cast<uint32_t>(seqid));
}

FrameSpec SourceFrameOf(const MessageInfo& info) {
  return FrameSpec{info.format, info.ttwitter_header_size > 0};
}

Status Reframe(std::string_view message, MessageInfo& info, const ReframeRequest& request,
               std::string* out) {
  if (message.size() != info.size || info.head_offset + info.head_size > message.size()) {
    return Status::InvalidArgument("message bytes do not match their MessageInfo");
  }
  const FrameSpec source = SourceFrameOf(info);
  if (SameFraming(source, request.target)) {
    if (CopiesVerbatim(message, info, request)) {
      size_t start = out->size();
      out->append(message);
      PatchSeqIdInCopy(out->data() + start, info, request.seqid);
      return Status::Ok();
    }
    return PatchInPlace(message, info, request, out);
  }
  const Protocol protocol = info.format.protocol;
  std::string payload;
  payload.reserve(message.size() + 64);
  if (request.target.ttwitter) {
    std::string_view header =
        source.ttwitter ? message.substr(info.ttwitter_header_offset, info.ttwitter_header_size)
                        : request.ttwitter_header;
    if (header.empty()) header = std::string_view("\0", 1);  // an empty struct
    if (!request.carry_key.empty() && info.type != MessageType::kReply &&
        info.type != MessageType::kException) {
      Result<std::string> edited =
          SetRequestHeaderContext(header, request.carry_key, request.carry_value);
      if (!edited.ok()) return edited.status();
      payload.append(*edited);
    } else {
      payload.append(header);
    }
  }
  AppendMessageHead(payload, protocol, info.name, info.type, request.seqid);
  payload.append(message.substr(info.head_offset + info.head_size));
  switch (request.target.format.transport) {
    case Transport::kUnframed:
      out->append(payload);
      return Status::Ok();
    case Transport::kFramed:
      AppendBe32(*out, static_cast<uint32_t>(payload.size()));
      out->append(payload);
      return Status::Ok();
    case Transport::kHeader: {
      InfoHeaders headers;
      if (info.theader) headers = info.theader->headers;
      if (!request.carry_key.empty()) {
        bool placed = false;
        for (auto& kv : headers) {
          if (kv.first == request.carry_key)
            kv.second = std::string(request.carry_value), placed = true;
        }
        if (!placed)
          headers.emplace_back(std::string(request.carry_key), std::string(request.carry_value));
      }
      Result<std::string> section =
          EncodeTHeaderSection(IsBinary(protocol) ? Protocol::kBinaryStrict : protocol, headers);
      if (!section.ok()) return section.status();
      uint16_t flags = info.theader ? info.theader->flags : request.theader_flags;
      return AppendTHeaderFrame(*out, flags, request.seqid, *section, payload);
    }
  }
  return Status::InvalidArgument("unknown transport");
}

std::string EncodeMinimalRequestHeader(int64_t trace_id, int64_t span_id) {
  std::string out;
  int16_t last = 0;
  AppendFieldHeader(out, Protocol::kBinaryStrict, FieldType::kI64, 1, &last);
  AppendInt(out, Protocol::kBinaryStrict, FieldType::kI64, trace_id);
  AppendFieldHeader(out, Protocol::kBinaryStrict, FieldType::kI64, 2, &last);
  AppendInt(out, Protocol::kBinaryStrict, FieldType::kI64, span_id);
  AppendFieldHeader(out, Protocol::kBinaryStrict, FieldType::kList, 8, &last);
  AppendListHeader(out, Protocol::kBinaryStrict, FieldType::kStruct, 0);
  AppendFieldStop(out);
  return out;
}

}  // namespace canarymesh::thrift
