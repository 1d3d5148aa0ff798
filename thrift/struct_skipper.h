// Walks one Thrift value (normally a struct) without decoding it, to find where it ends: for an
// unframed connection that is the only way to find a message boundary. Resumable: each Skip()
// consumes whole tokens from the window it is given and keeps its place, so the value may
// arrive in any number of pieces. Nesting lives on an explicit stack with a depth limit, never
// in recursion, so hostile input cannot exhaust the call stack.
// Not thread-safe: one skipper per message being read; reusable via Start().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "thrift/token_reader.h"
#include "thrift/wire_format.h"

namespace canarymesh::thrift {

class StructSkipper {
 public:
  struct Limits {
    size_t max_depth = 64;            // open structs and containers at once
    uint64_t max_length = 16u << 20;  // a string length or container size above this is an error
  };

  StructSkipper() = default;
  StructSkipper(const StructSkipper&) = delete;
  StructSkipper& operator=(const StructSkipper&) = delete;

  // Begins walking a value of type `root`.
  void Start(Protocol protocol, const Limits& limits, FieldType root = FieldType::kStruct);

  // Consumes tokens from `in`. The result's `size` is the number of bytes consumed by this call,
  // whatever the outcome; kDone means the value ended there; kNeedMore carries `need`, the
  // contiguous bytes wanted from in[size]; kError carries `error`.
  Token Skip(std::string_view in);

 private:
  // One open struct or container.
  struct Frame {
    FieldType kind;      // kStruct, kList (also sets) or kMap
    FieldType key;       // maps: key type
    FieldType value;     // list element or map value type
    uint32_t remaining;  // list: elements left; map: keys + values left
    int16_t last_id;     // struct: previous field id (compact deltas)
  };

  // Each state says what the next token is. Transitions:
  //   kValue       -> kBytes (string) | kFieldHeader (struct pushed) | kElement (container
  //                   pushed) | after a scalar: ValueDone()
  //   kBytes       -> kBytes (more to skip) | ValueDone()
  //   kFieldHeader -> kValue | kFieldHeader (compact bool) | STOP: pop, ValueDone()
  //   kElement     -> kValue | no elements left: pop, ValueDone()
  //   ValueDone()  -> kFieldHeader (in a struct) | kElement (in a container) | kDone (root ended)
  enum class State : uint8_t { kValue, kBytes, kFieldHeader, kElement, kDone };

  Token OnValue(std::string_view in);
  Token OnFieldHeader(std::string_view in);
  void OnElement();
  bool Push(Frame frame);
  void ValueDone();

  Protocol protocol_ = Protocol::kBinaryStrict;
  Limits limits_;
  State state_ = State::kDone;
  FieldType value_type_ = FieldType::kStruct;  // kValue: the type of the value that starts next
  uint64_t bytes_left_ = 0;                    // kBytes: string bytes still to skip
  std::vector<Frame> stack_;
};

}  // namespace canarymesh::thrift
