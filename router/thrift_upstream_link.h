// A client connection's hold on an upstream Thrift connection that outlives one read: an
// intrusive list node the upstream connection clears when its socket closes, so that a holder
// never keeps a pointer to a connection the pool has freed. No allocation; worker-thread only.
#pragma once

namespace canarymesh::router {

class ThriftUpstreamConnection;

class ThriftUpstreamLink {
 public:
  ThriftUpstreamLink() = default;
  ~ThriftUpstreamLink() { Reset(); }
  ThriftUpstreamLink(const ThriftUpstreamLink&) = delete;
  ThriftUpstreamLink& operator=(const ThriftUpstreamLink&) = delete;

  // The connection held, or null (never held, reset, or its socket closed).
  ThriftUpstreamConnection* get() const { return upstream_; }
  // Holds `upstream` (null: holds nothing).
  void Reset(ThriftUpstreamConnection* upstream = nullptr);

 private:
  friend class ThriftUpstreamConnection;
  ThriftUpstreamConnection* upstream_ = nullptr;
  ThriftUpstreamLink* prev_ = nullptr;
  ThriftUpstreamLink* next_ = nullptr;
};

}  // namespace canarymesh::router
