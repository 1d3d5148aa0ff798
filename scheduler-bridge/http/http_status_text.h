// Small helper shared by the engine backends: the same Status with a prefix ("marathon: ",
// "kubernetes: ") on its message, so every error says which engine it came from.
// Thread-safe: a pure function.
#pragma once

#include <string>

#include "core/status.h"

namespace canarymesh::bridge {

inline Status PrefixedStatus(const std::string& prefix, const Status& status) {
  std::string text = prefix + status.message();
  switch (status.code()) {
    case Status::Code::kOk:
      return status;
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(text);
    case Status::Code::kNotFound:
      return Status::NotFound(text);
    case Status::Code::kUnavailable:
      return Status::Unavailable(text);
    case Status::Code::kIoError:
      return Status::IoError(text);
    case Status::Code::kInternal:
      return Status::Internal(text);
  }
  return Status::Internal(text);
}

}  // namespace canarymesh::bridge
