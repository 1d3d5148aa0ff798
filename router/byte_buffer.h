// A contiguous, reusable byte buffer for socket I/O: reads land in its free tail, parsers read
// its filled middle, writes drain its head. Capacity is kept between requests, so a connection
// in steady state never allocates. Hand-written rather than libevent's evbuffer because
// evbuffer_read issues an extra FIONREAD ioctl per read and frees/mallocs chains as they empty.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace canarymesh::router {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t initial_capacity = 0) { Reserve(initial_capacity); }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  const char* data() const { return data_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }

  void Append(const char* p, size_t n) {
    if (n == 0) return;
    Reserve(size() + n);
    std::memcpy(data_.get() + end_, p, n);
    end_ += n;
  }
  void Append(std::string_view s) { Append(s.data(), s.size()); }

  // Writable tail of at least `min` bytes; call Commit(n) after filling n of them.
  char* WritableTail(size_t min, size_t* available) {
    Reserve(size() + min);
    *available = capacity_ - end_;
    return data_.get() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  size_t TailRoom() const { return capacity_ - end_; }

  void Consume(size_t n) {
    begin_ += n;
    if (begin_ >= end_) begin_ = end_ = 0;
  }
  void Clear() { begin_ = end_ = 0; }

  // Ensures room for `total` bytes, sliding data to the front before growing.
  void Reserve(size_t total) {
    if (capacity_ - begin_ >= total) return;
    if (total <= capacity_) {
      std::memmove(data_.get(), data_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
      return;
    }
    size_t cap = capacity_ ? capacity_ : 4096;
    while (cap < total) cap *= 2;
    std::unique_ptr<char[]> fresh(new char[cap]);
    if (size()) std::memcpy(fresh.get(), data_.get() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
    data_ = std::move(fresh);
    capacity_ = cap;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace canarymesh::router
