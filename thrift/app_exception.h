// TApplicationException, the struct a server sends in an EXCEPTION message when the call failed
// outside the IDL (unknown method, internal error...): { 1: string message, 2: i32 type }.
// Encoding and decoding of the struct alone; reply_encoder.h wraps it into a message.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

// TApplicationException::TApplicationExceptionType, same numbers.
enum class AppExceptionType : int32_t {
  kUnknown = 0,
  kUnknownMethod = 1,
  kInvalidMessageType = 2,
  kWrongMethodName = 3,
  kBadSequenceId = 4,
  kMissingResult = 5,
  kInternalError = 6,
  kProtocolError = 7,
  kInvalidTransform = 8,
  kInvalidProtocol = 9,
  kUnsupportedClientType = 10,
};

struct ApplicationException {
  AppExceptionType type = AppExceptionType::kUnknown;  // other numbers are kept as they are
  std::string message;
};

void AppendApplicationException(std::string& out, Protocol protocol,
                                const ApplicationException& exception);

// `in` holds exactly the struct (from its first field header to its STOP, inclusive or not).
// Unknown fields are skipped; a missing field keeps its default.
Result<ApplicationException> DecodeApplicationException(std::string_view in, Protocol protocol);

}  // namespace canarymesh::thrift
