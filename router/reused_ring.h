// A FIFO queue over a power-of-two ring of slots that are reused, not destroyed: a slot keeps
// whatever its last user left (string capacity included), so a queue in steady state never
// allocates, unlike std::deque, which frees and allocates a block every few elements as it
// moves. The ring doubles when full; that invalidates references into it. Not thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace canarymesh::router {

template <typename T>
class ReusedRing {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T& front() { return slots_[head_]; }
  T& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }

  // Appends a slot and returns it as its previous user left it: the caller resets what it uses.
  T& push_back() {
    if (count_ == slots_.size()) Grow();
    T& slot = slots_[(head_ + count_) & (slots_.size() - 1)];
    ++count_;
    return slot;
  }
  void pop_front() {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
  }
  void clear() {
    head_ = 0;
    count_ = 0;
  }

 private:
  void Grow() {
    std::vector<T> bigger(slots_.empty() ? kInitialSlots : slots_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = std::move((*this)[i]);
    slots_.swap(bigger);
    head_ = 0;
  }

  static constexpr size_t kInitialSlots = 8;
  std::vector<T> slots_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace canarymesh::router
