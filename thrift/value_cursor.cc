#include "thrift/value_cursor.h"

namespace canarymesh::thrift {

ValueCursor::ValueCursor(std::string_view in, Protocol protocol, size_t max_depth)
    : in_(in), protocol_(protocol), max_depth_(max_depth) {}

bool ValueCursor::Take(const Token& t) {
  if (t.progress == Progress::kDone) {
    pos_ += t.size;
    return true;
  }
  error_ = t.progress == Progress::kError ? t.error : "truncated struct";
  return false;
}

bool ValueCursor::ReadFieldHeader(FieldHeader* out) {
  if (!Take(thrift::ReadFieldHeader(in_.substr(pos_), protocol_, last_id_, out))) return false;
  if (out->type != FieldType::kStop) last_id_ = out->id;
  return true;
}

int16_t ValueCursor::EnterStruct() {
  int16_t saved = last_id_;
  last_id_ = 0;
  return saved;
}

void ValueCursor::ExitStruct(int16_t saved) { last_id_ = saved; }

bool ValueCursor::ReadString(std::string* out, size_t max_size) {
  uint32_t length = 0;
  if (!Take(ReadLength(in_.substr(pos_), protocol_, &length))) return false;
  if (length > in_.size() - pos_) return error_ = "truncated struct", false;
  if (length > max_size) return error_ = "string longer than allowed", false;
  out->assign(in_.substr(pos_, length));
  pos_ += length;
  return true;
}

bool ValueCursor::ReadInt(FieldType type, int64_t* out) {
  return Take(ReadScalar(in_.substr(pos_), protocol_, type, out));
}

bool ValueCursor::ReadBool(const FieldHeader& field, bool* out) {
  if (field.value_in_header) {
    *out = field.bool_value;
    return true;
  }
  int64_t v = 0;
  if (!Take(ReadScalar(in_.substr(pos_), protocol_, FieldType::kBool, &v))) return false;
  *out = v != 0;
  return true;
}

bool ValueCursor::ReadListHeader(ContainerHeader* out) {
  return Take(thrift::ReadListHeader(in_.substr(pos_), protocol_, out));
}

bool ValueCursor::Skip(FieldType type) {
  StructSkipper skipper;
  skipper.Start(protocol_, StructSkipper::Limits{max_depth_, in_.size()}, type);
  Token t = skipper.Skip(in_.substr(pos_));
  pos_ += t.size;
  if (t.progress == Progress::kDone) return true;
  error_ = t.progress == Progress::kError ? t.error : "truncated struct";
  return false;
}

bool ValueCursor::SkipField(const FieldHeader& field) {
  return field.value_in_header || Skip(field.type);
}

}  // namespace canarymesh::thrift
