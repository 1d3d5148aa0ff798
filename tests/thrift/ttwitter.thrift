// Finagle's TTwitter structs, transcribed for the tests by field id and type from
// twitter/finagle finagle-thrift/src/main/thrift/tracing.thrift (commit 19c6763), so that the
// tests produce TTwitter bytes with the real Apache Thrift library. Span is cut down to a few
// of its fields: the codec only skips it.
namespace cpp cmtest.ttwitter

struct Annotation {
  1: i64 timestamp
  2: string value
}

struct Span {
  1: i64 trace_id
  3: string name
  4: i64 id
  5: optional i64 parent_id
  6: list<Annotation> annotations
  9: bool debug
}

struct ClientId {
  1: string name
}

struct RequestContext {
  1: binary key
  2: binary value
}

struct Delegation {
  1: string src
  2: string dst
}

struct RequestHeader {
  1: i64 trace_id
  2: i64 span_id
  3: optional i64 parent_span_id
  5: optional bool sampled
  6: optional ClientId client_id
  7: optional i64 flags
  8: list<RequestContext> contexts
  9: optional string dest
  10: optional list<Delegation> delegations
  11: optional i64 trace_id_high
}

struct ResponseHeader {
  1: list<Span> spans
  2: list<RequestContext> contexts
}

struct ConnectionOptions {
}

struct UpgradeReply {
}

// RequestHeader as a later Finagle might send it: a field this codec does not know, which an
// edit of the contexts must carry through unchanged.
struct RequestHeaderWithFuture {
  1: i64 trace_id
  2: i64 span_id
  8: list<RequestContext> contexts
  9: optional string dest
  40: optional map<string, list<i32>> future_field
}
