#include "thrift/ttwitter.h"

#include "thrift/token_writer.h"
#include "thrift/value_cursor.h"

namespace canarymesh::thrift {
namespace {

constexpr Protocol kBinary = Protocol::kBinaryStrict;
constexpr size_t kMaxString = 1 << 20;
constexpr int16_t kContextsField = 8;

Status Malformed(const ValueCursor& cursor) {
  return Status::InvalidArgument(std::string("bad TTwitter RequestHeader: ") + cursor.error());
}

// Reads the string fields of a struct into `slots` by id (1-based); other fields are skipped.
bool ReadStringStruct(ValueCursor& cursor, std::string* slots[], int16_t count) {
  int16_t saved = cursor.EnterStruct();
  FieldHeader field;
  while (true) {
    if (!cursor.ReadFieldHeader(&field)) return false;
    if (field.type == FieldType::kStop) break;
    bool ok = field.type == FieldType::kString && field.id >= 1 && field.id <= count
                  ? cursor.ReadString(slots[field.id - 1], kMaxString)
                  : cursor.SkipField(field);
    if (!ok) return false;
  }
  cursor.ExitStruct(saved);
  return true;
}

// list<RequestContext> or list<Delegation>: both are structs of two strings.
template <typename Pair>
bool ReadPairList(ValueCursor& cursor, std::vector<Pair>* out, std::string Pair::*first,
                  std::string Pair::*second) {
  ContainerHeader list;
  if (!cursor.ReadListHeader(&list)) return false;
  if (list.size > 0 && list.value != FieldType::kStruct) {
    for (uint32_t i = 0; i < list.size; ++i) {
      if (!cursor.Skip(list.value)) return false;
    }
    return true;
  }
  for (uint32_t i = 0; i < list.size; ++i) {
    Pair pair;
    std::string* slots[] = {&(pair.*first), &(pair.*second)};
    if (!ReadStringStruct(cursor, slots, 2)) return false;
    out->push_back(std::move(pair));
  }
  return true;
}

bool ReadField(ValueCursor& cursor, const FieldHeader& field, RequestHeader* h) {
  int64_t n = 0;
  auto is = [&](FieldType type) { return field.type == type; };
  switch (field.id) {
    case 1:
      if (!is(FieldType::kI64)) break;
      return cursor.ReadInt(FieldType::kI64, &h->trace_id);
    case 2:
      if (!is(FieldType::kI64)) break;
      return cursor.ReadInt(FieldType::kI64, &h->span_id);
    case 3:
      if (!is(FieldType::kI64) || !cursor.ReadInt(FieldType::kI64, &n)) break;
      return h->parent_span_id = n, true;
    case 5: {
      bool sampled = false;
      if (!is(FieldType::kBool) || !cursor.ReadBool(field, &sampled)) break;
      return h->sampled = sampled, true;
    }
    case 6: {
      if (!is(FieldType::kStruct)) break;
      std::string name;
      std::string* slots[] = {&name};
      if (!ReadStringStruct(cursor, slots, 1)) return false;
      return h->client_id = std::move(name), true;
    }
    case 7:
      if (!is(FieldType::kI64) || !cursor.ReadInt(FieldType::kI64, &n)) break;
      return h->flags = n, true;
    case 8:
      if (!is(FieldType::kList)) break;
      return ReadPairList(cursor, &h->contexts, &RequestContext::key, &RequestContext::value);
    case 9: {
      std::string dest;
      if (!is(FieldType::kString) || !cursor.ReadString(&dest, kMaxString)) break;
      return h->dest = std::move(dest), true;
    }
    case 10:
      if (!is(FieldType::kList)) break;
      return ReadPairList(cursor, &h->delegations, &Delegation::src, &Delegation::dst);
    case 11:
      if (!is(FieldType::kI64) || !cursor.ReadInt(FieldType::kI64, &n)) break;
      return h->trace_id_high = n, true;
  }
  if (cursor.error() != nullptr) return false;
  return cursor.SkipField(field);  // unknown id, or a known id with an unexpected type
}

}  // namespace

Result<RequestHeader> DecodeRequestHeader(std::string_view in) {
  RequestHeader header;
  ValueCursor cursor(in, kBinary);
  FieldHeader field;
  while (true) {
    if (!cursor.ReadFieldHeader(&field)) return Malformed(cursor);
    if (field.type == FieldType::kStop) break;
    if (!ReadField(cursor, field, &header)) return Malformed(cursor);
  }
  return header;
}

Result<std::string> SetRequestHeaderContext(std::string_view in, std::string_view key,
                                            std::string_view value) {
  std::string out;
  std::vector<RequestContext> contexts;
  ValueCursor cursor(in, kBinary);
  FieldHeader field;
  while (true) {
    size_t field_begin = cursor.pos();
    if (!cursor.ReadFieldHeader(&field)) return Malformed(cursor);
    if (field.type == FieldType::kStop) break;
    if (field.id == kContextsField && field.type == FieldType::kList) {
      if (!ReadPairList(cursor, &contexts, &RequestContext::key, &RequestContext::value)) {
        return Malformed(cursor);
      }
      continue;
    }
    if (!cursor.SkipField(field)) return Malformed(cursor);
    out.append(in.substr(field_begin, cursor.pos() - field_begin));
  }
  bool placed = false;
  std::vector<RequestContext> updated;
  for (auto& c : contexts) {
    if (c.key != key) {
      updated.push_back(std::move(c));
    } else if (!placed) {
      updated.push_back(RequestContext{std::string(key), std::string(value)});
      placed = true;
    }
  }
  if (!placed) updated.push_back(RequestContext{std::string(key), std::string(value)});

  int16_t last_id = 0;
  AppendFieldHeader(out, kBinary, FieldType::kList, kContextsField, &last_id);
  AppendListHeader(out, kBinary, FieldType::kStruct, static_cast<uint32_t>(updated.size()));
  for (const auto& c : updated) {
    int16_t inner = 0;
    AppendFieldHeader(out, kBinary, FieldType::kString, 1, &inner);
    AppendString(out, kBinary, c.key);
    AppendFieldHeader(out, kBinary, FieldType::kString, 2, &inner);
    AppendString(out, kBinary, c.value);
    AppendFieldStop(out);
  }
  AppendFieldStop(out);
  return out;
}

}  // namespace canarymesh::thrift
