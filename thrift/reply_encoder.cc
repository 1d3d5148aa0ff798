#include "thrift/reply_encoder.h"

#include "thrift/message_head.h"
#include "thrift/token_writer.h"
#include "thrift/ttwitter.h"
#include "thrift/wire_bytes.h"

namespace canarymesh::thrift {
namespace {

Result<std::string> Frame(const ReplyEncoding& encoding, int32_t seqid, std::string payload) {
  switch (encoding.format.transport) {
    case Transport::kUnframed:
      return payload;
    case Transport::kFramed: {
      std::string out;
      AppendBe32(out, static_cast<uint32_t>(payload.size()));
      out.append(payload);
      return out;
    }
    case Transport::kHeader: {
      Result<std::string> section =
          EncodeTHeaderSection(encoding.format.protocol, encoding.theader_headers);
      if (!section.ok()) return section.status();
      std::string out;
      Status s = AppendTHeaderFrame(out, encoding.theader_flags, seqid, *section, payload);
      if (!s.ok()) return s;
      return out;
    }
  }
  return Status::InvalidArgument("unknown transport");
}

std::string EncodeUpgrade(Transport transport, MessageType type, int32_t seqid) {
  std::string payload;
  AppendMessageHead(payload, Protocol::kBinaryStrict, kTTwitterUpgradeMethod, type, seqid);
  AppendFieldStop(payload);  // ConnectionOptions {} / UpgradeReply {}
  ReplyEncoding encoding;
  encoding.format =
      WireFormat{transport == Transport::kUnframed ? Transport::kUnframed : Transport::kFramed,
                 Protocol::kBinaryStrict};
  return *Frame(encoding, seqid, std::move(payload));
}

}  // namespace

ReplyEncoding ReplyEncoding::For(const MessageInfo& call) {
  ReplyEncoding encoding;
  encoding.format = call.format;
  encoding.ttwitter = call.request_header.has_value();
  if (call.theader) encoding.theader_flags = call.theader->flags;
  return encoding;
}

Result<std::string> EncodeApplicationExceptionReply(const ReplyEncoding& encoding,
                                                    std::string_view method, int32_t seqid,
                                                    const ApplicationException& exception) {
  Protocol protocol = encoding.format.protocol;
  std::string payload;
  if (encoding.ttwitter) AppendFieldStop(payload);  // ResponseHeader {}
  AppendMessageHead(payload, protocol, method, MessageType::kException, seqid);
  AppendApplicationException(payload, protocol, exception);
  return Frame(encoding, seqid, std::move(payload));
}

std::string EncodeTTwitterUpgradeCall(Transport transport, int32_t seqid) {
  return EncodeUpgrade(transport, MessageType::kCall, seqid);
}

std::string EncodeTTwitterUpgradeReply(Transport transport, int32_t seqid) {
  return EncodeUpgrade(transport, MessageType::kReply, seqid);
}

}  // namespace canarymesh::thrift
