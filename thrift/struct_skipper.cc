#include "thrift/struct_skipper.h"

#include <algorithm>

namespace canarymesh::thrift {

void StructSkipper::Start(Protocol protocol, const Limits& limits, FieldType root) {
  protocol_ = protocol;
  limits_ = limits;
  state_ = State::kValue;
  value_type_ = root;
  bytes_left_ = 0;
  stack_.clear();
}

Token StructSkipper::Skip(std::string_view in) {
  size_t pos = 0;
  while (true) {
    std::string_view rest = in.substr(pos);
    Token t;
    switch (state_) {
      case State::kDone:
        return TokenDone(pos);
      case State::kBytes: {
        uint64_t n = std::min<uint64_t>(bytes_left_, rest.size());
        pos += n;
        bytes_left_ -= n;
        if (bytes_left_ > 0) return Token{Progress::kNeedMore, pos, 1, nullptr};
        ValueDone();
        continue;
      }
      case State::kElement:
        OnElement();
        continue;
      case State::kValue:
        t = OnValue(rest);
        break;
      case State::kFieldHeader:
        t = OnFieldHeader(rest);
        break;
    }
    if (t.progress == Progress::kNeedMore) return Token{Progress::kNeedMore, pos, t.need, nullptr};
    if (t.progress == Progress::kError) return Token{Progress::kError, pos, 0, t.error};
    pos += t.size;
  }
}

// kValue: a value of value_type_ starts at `in`.
Token StructSkipper::OnValue(std::string_view in) {
  switch (value_type_) {
    case FieldType::kString: {
      uint32_t length = 0;
      Token t = ReadLength(in, protocol_, &length);
      if (t.progress != Progress::kDone) return t;
      if (length > limits_.max_length) return TokenError("string length over the limit");
      bytes_left_ = length;
      state_ = State::kBytes;
      return t;
    }
    case FieldType::kStruct:
      if (!Push(Frame{FieldType::kStruct, FieldType::kStop, FieldType::kStop, 0, 0})) {
        return TokenError("nesting deeper than the limit");
      }
      state_ = State::kFieldHeader;
      return TokenDone(0);
    case FieldType::kList:
    case FieldType::kSet:
    case FieldType::kMap: {
      bool is_map = value_type_ == FieldType::kMap;
      ContainerHeader h;
      Token t = is_map ? ReadMapHeader(in, protocol_, &h) : ReadListHeader(in, protocol_, &h);
      if (t.progress != Progress::kDone) return t;
      if (h.size > limits_.max_length) return TokenError("container size over the limit");
      uint32_t items = is_map ? h.size * 2 : h.size;  // fits: size <= max_length < 2^31
      if (!Push(Frame{is_map ? FieldType::kMap : FieldType::kList, h.key, h.value, items, 0})) {
        return TokenError("nesting deeper than the limit");
      }
      state_ = State::kElement;
      return t;
    }
    default: {
      int64_t ignored = 0;
      Token t = ReadScalar(in, protocol_, value_type_, &ignored);
      if (t.progress == Progress::kDone) ValueDone();
      return t;
    }
  }
}

// kFieldHeader: the next field of the struct on top of the stack, or its STOP.
Token StructSkipper::OnFieldHeader(std::string_view in) {
  Frame& top = stack_.back();
  FieldHeader h;
  Token t = ReadFieldHeader(in, protocol_, top.last_id, &h);
  if (t.progress != Progress::kDone) return t;
  if (h.type == FieldType::kStop) {
    stack_.pop_back();
    ValueDone();
    return t;
  }
  top.last_id = h.id;
  if (!h.value_in_header) {
    value_type_ = h.type;
    state_ = State::kValue;
  }
  return t;
}

// kElement: the next element of the container on top of the stack, or its end.
void StructSkipper::OnElement() {
  Frame& top = stack_.back();
  if (top.remaining == 0) {
    stack_.pop_back();
    ValueDone();
    return;
  }
  --top.remaining;
  // Map items alternate key, value: with 2n left, the odd count after the decrement is a key.
  bool key = top.kind == FieldType::kMap && top.remaining % 2 == 1;
  value_type_ = key ? top.key : top.value;
  state_ = State::kValue;
}

bool StructSkipper::Push(Frame frame) {
  if (stack_.size() >= limits_.max_depth) return false;
  stack_.push_back(frame);
  return true;
}

void StructSkipper::ValueDone() {
  if (stack_.empty()) {
    state_ = State::kDone;
  } else {
    state_ = stack_.back().kind == FieldType::kStruct ? State::kFieldHeader : State::kElement;
  }
}

}  // namespace canarymesh::thrift
