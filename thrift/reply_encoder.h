// Messages the proxy writes itself, in the client's own format: a TApplicationException reply for
// the proxy's errors ("no live instance of service S version V"), and the TTwitter upgrade
// messages. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "thrift/app_exception.h"
#include "thrift/message_info.h"
#include "thrift/theader.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

struct ReplyEncoding {
  WireFormat format;
  bool ttwitter = false;  // upgraded TTwitter: an (empty) ResponseHeader precedes the reply
  uint16_t theader_flags = 0;
  InfoHeaders theader_headers;  // THeader: info headers to send with the reply

  // How to answer `call`, a message MessageReader read from the client.
  static ReplyEncoding For(const MessageInfo& call);
};

// An EXCEPTION message named `method` with `seqid`, framed as `encoding` says.
Result<std::string> EncodeApplicationExceptionReply(const ReplyEncoding& encoding,
                                                    std::string_view method, int32_t seqid,
                                                    const ApplicationException& exception);

// TTwitter is strict binary, framed or unframed. The call carries an empty ConnectionOptions,
// the reply an empty UpgradeReply; neither is preceded by a TTwitter header.
std::string EncodeTTwitterUpgradeCall(Transport transport, int32_t seqid);
std::string EncodeTTwitterUpgradeReply(Transport transport, int32_t seqid);

}  // namespace canarymesh::thrift
