// LocalStateStore: the local backend's hold on its state_dir and the record kept there (what
// runs, local_state.h). Not thread-safe: LocalBackend's mutex is held around every call.
//
// Only one store owns a state_dir at a time (flock on <state_dir>/lock, our pid written into
// it). Taking ownership adopts <state_dir>/local-backend.json as the previous owner left it,
// forgetting pids from another boot; every change is written back with Save().
#pragma once

#include <string>

#include "core/status.h"
#include "scheduler-bridge/local/local_state.h"

namespace canarymesh::bridge {

class LocalStateStore {
 public:
  explicit LocalStateStore(const std::string& state_dir);
  // Saves an unsaved change, then releases state_dir for the next owner; the instances keep
  // running.
  ~LocalStateStore();
  LocalStateStore(const LocalStateStore&) = delete;
  LocalStateStore& operator=(const LocalStateStore&) = delete;

  // Ok once this store owns state_dir; takes it now when it is free and adopts the record.
  // Unavailable while another owner holds it; Internal when the record cannot be read.
  Status TakeOwnership();
  bool owned() const { return lock_fd_ >= 0; }

  LocalState& state() { return state_; }
  const LocalState& state() const { return state_; }
  // A change Save() must still write (the supervisor saves dirty state on its next tick).
  void MarkDirty() { dirty_ = true; }
  bool dirty() const { return dirty_; }
  // Writes the record atomically; on failure it stays dirty, so that the supervisor retries.
  Status Save();

 private:
  Status Adopt();

  const std::string state_dir_;
  const std::string state_path_;
  const std::string lock_path_;
  int lock_fd_ = -1;  // >= 0: we own state_dir
  LocalState state_;
  bool dirty_ = false;
};

}  // namespace canarymesh::bridge
