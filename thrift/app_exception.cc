#include "thrift/app_exception.h"

#include "thrift/token_writer.h"
#include "thrift/value_cursor.h"

namespace canarymesh::thrift {
namespace {
constexpr size_t kMaxMessage = 64 << 10;
}

void AppendApplicationException(std::string& out, Protocol protocol,
                                const ApplicationException& exception) {
  int16_t last_id = 0;
  AppendFieldHeader(out, protocol, FieldType::kString, 1, &last_id);
  AppendString(out, protocol, exception.message);
  AppendFieldHeader(out, protocol, FieldType::kI32, 2, &last_id);
  AppendInt(out, protocol, FieldType::kI32, static_cast<int32_t>(exception.type));
  AppendFieldStop(out);
}

Result<ApplicationException> DecodeApplicationException(std::string_view in, Protocol protocol) {
  ApplicationException exception;
  ValueCursor cursor(in, protocol);
  FieldHeader field;
  while (cursor.pos() < in.size()) {
    if (!cursor.ReadFieldHeader(&field)) return Status::InvalidArgument(cursor.error());
    if (field.type == FieldType::kStop) break;
    bool ok = true;
    if (field.id == 1 && field.type == FieldType::kString) {
      ok = cursor.ReadString(&exception.message, kMaxMessage);
    } else if (field.id == 2 && field.type == FieldType::kI32) {
      int64_t type = 0;
      ok = cursor.ReadInt(FieldType::kI32, &type);
      exception.type = static_cast<AppExceptionType>(type);
    } else {
      ok = cursor.SkipField(field);
    }
    if (!ok) return Status::InvalidArgument(cursor.error());
  }
  return exception;
}

}  // namespace canarymesh::thrift
