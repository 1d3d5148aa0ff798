#include "tests/thrift/real_thrift.h"

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/protocol/THeaderProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/THeaderTransport.h>

#include <memory>

namespace canarymesh::thrift::testing {

using apache::thrift::TApplicationException;
using apache::thrift::protocol::T_BINARY_PROTOCOL;
using apache::thrift::protocol::T_CALL;
using apache::thrift::protocol::T_COMPACT_PROTOCOL;
using apache::thrift::protocol::T_EXCEPTION;
using apache::thrift::protocol::T_ONEWAY;
using apache::thrift::protocol::T_REPLY;
using apache::thrift::protocol::TBinaryProtocolT;
using apache::thrift::protocol::TCompactProtocolT;
using apache::thrift::protocol::THeaderProtocol;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::THeaderTransport;
using apache::thrift::transport::TMemoryBuffer;
using apache::thrift::transport::TTransport;

namespace {

std::shared_ptr<TProtocol> MakeProtocol(Protocol protocol, std::shared_ptr<TTransport> t) {
  switch (protocol) {
    case Protocol::kBinaryStrict:
      return std::make_shared<TBinaryProtocolT<TTransport>>(t);
    case Protocol::kBinaryLax:  // neither reads nor writes the version word
      return std::make_shared<TBinaryProtocolT<TTransport>>(t, 0, 0, false, false);
    case Protocol::kCompact:
      return std::make_shared<TCompactProtocolT<TTransport>>(t);
  }
  return nullptr;
}

// Service result classes (Echo_*_result) cannot be copied: each writer builds its own.
template <typename Result>
void WriteReply(TProtocol& p, const std::string& name, int32_t seqid, const Result& result) {
  p.writeMessageBegin(name, T_REPLY, seqid);
  result.write(&p);
  p.writeMessageEnd();
}

cmtest::Inner MakeInner(int32_t a) {
  cmtest::Inner inner;
  inner.a = a;
  inner.__set_b("inner-" + std::to_string(a));
  inner.flags = {true, false, true};
  inner.d = a * 0.5;
  return inner;
}

cmtest::Node MakeTree(int depth) {
  cmtest::Node root;
  root.value = depth;
  cmtest::Node* at = &root;
  for (int i = 1; i < depth; ++i) {
    at->kids.resize(1);
    at = &at->kids[0];
    at->value = depth - i;
  }
  return root;
}

}  // namespace

std::vector<WireFormat> AllFormats() {
  std::vector<WireFormat> formats;
  for (Transport t : {Transport::kUnframed, Transport::kFramed}) {
    for (Protocol p : {Protocol::kBinaryStrict, Protocol::kBinaryLax, Protocol::kCompact}) {
      formats.push_back(WireFormat{t, p});
    }
  }
  formats.push_back(WireFormat{Transport::kHeader, Protocol::kBinaryStrict});
  formats.push_back(WireFormat{Transport::kHeader, Protocol::kCompact});
  return formats;
}

std::string FormatName(const WireFormat& format) {
  return std::string(TransportName(format.transport)) + "/" +
         std::string(ProtocolName(format.protocol));
}

std::string Encode(const WireFormat& format, const Writer& write, const HeaderMap& headers) {
  auto memory = std::make_shared<TMemoryBuffer>();
  if (format.transport == Transport::kHeader) {
    auto protocol = std::make_shared<THeaderProtocol>(
        memory, format.protocol == Protocol::kCompact ? T_COMPACT_PROTOCOL : T_BINARY_PROTOCOL);
    for (const auto& [k, v] : headers) protocol->setHeader(k, v);
    write(*protocol);
    protocol->getTransport()->flush();
  } else if (format.transport == Transport::kFramed) {
    auto framed = std::make_shared<TFramedTransport>(memory);
    write(*MakeProtocol(format.protocol, framed));
    framed->flush();
  } else {
    write(*MakeProtocol(format.protocol, memory));
  }
  return memory->getBufferAsString();
}

Writer EchoCall(int32_t seqid, const std::string& s) {
  return [=](TProtocol& p) {
    p.writeMessageBegin("echo", T_CALL, seqid);
    cmtest::Echo_echo_pargs args;
    args.s = &s;
    args.write(&p);
    p.writeMessageEnd();
  };
}

Writer EchoReply(int32_t seqid, const std::string& s) {
  return [=](TProtocol& p) {
    cmtest::Echo_echo_result r;
    r.success = s;
    r.__isset.success = true;
    WriteReply(p, "echo", seqid, r);
  };
}

Writer EchoOops(int32_t seqid, const std::string& why) {
  return [=](TProtocol& p) {
    cmtest::Echo_echo_result r;
    r.oops.why = why;
    r.oops.code = 42;
    r.__isset.oops = true;
    WriteReply(p, "echo", seqid, r);
  };
}

Writer EchoGone(int32_t seqid) {
  return [=](TProtocol& p) {
    cmtest::Echo_echo_result r;
    r.gone.reason = "gone";
    r.__isset.gone = true;
    WriteReply(p, "echo", seqid, r);
  };
}

Writer NothingReply(int32_t seqid) {
  return [=](TProtocol& p) { WriteReply(p, "nothing", seqid, cmtest::Echo_nothing_result()); };
}

Writer PingOneway(int32_t seqid, int32_t x) {
  return [=](TProtocol& p) {
    p.writeMessageBegin("ping", T_ONEWAY, seqid);
    cmtest::Echo_ping_pargs args;
    args.x = &x;
    args.write(&p);
    p.writeMessageEnd();
  };
}

Writer MirrorCall(int32_t seqid) {
  return [=](TProtocol& p) {
    cmtest::Blob blob = RichBlob();
    p.writeMessageBegin("mirror", T_CALL, seqid);
    cmtest::Echo_mirror_pargs args;
    args.b = &blob;
    args.write(&p);
    p.writeMessageEnd();
  };
}

Writer TreeCall(int32_t seqid, int depth) {
  return [=](TProtocol& p) {
    cmtest::Node tree = MakeTree(depth);
    p.writeMessageBegin("tree", T_CALL, seqid);
    cmtest::Echo_tree_pargs args;
    args.n = &tree;
    args.write(&p);
    p.writeMessageEnd();
  };
}

Writer AppException(const std::string& name, int32_t seqid,
                    TApplicationException::TApplicationExceptionType type,
                    const std::string& message) {
  return [=](TProtocol& p) {
    p.writeMessageBegin(name, T_EXCEPTION, seqid);
    TApplicationException(type, message).write(&p);
    p.writeMessageEnd();
  };
}

Writer WithStruct(const std::function<void(TProtocol&)>& header, const Writer& message) {
  return [=](TProtocol& p) {
    header(p);
    message(p);
  };
}

Writer UpgradeCall() {
  return [](TProtocol& p) {
    p.writeMessageBegin("__can__finagle__trace__v3__", T_CALL, 0);
    cmtest::ttwitter::ConnectionOptions().write(&p);
    p.writeMessageEnd();
  };
}

cmtest::Blob RichBlob() {
  cmtest::Blob b;
  b.b = -7;
  b.s = -300;
  b.i = 1 << 20;
  b.l = -(int64_t{1} << 40);
  b.d = 3.25;
  b.t = true;
  b.f = false;
  b.text = "hello";
  b.raw = std::string("\0\x01\xff\x80", 4);
  b.lms = {{{"a", {1, 2, 3}}, {"b", {}}}, {}, {{"c", {-1}}}};
  b.deep = {{1, {MakeInner(1), MakeInner(2)}}, {-5, {}}};
  b.tags = {"x", "y", "z"};
  b.inner = MakeInner(9);
  b.cube = {{{1, 2}, {}}, {{3}}, {}};
  b.by_name = {{"one", MakeInner(1)}};
  b.bools = std::vector<bool>(20, true);  // over 14 elements: compact's long list header
  b.weights = {{true, 1.5}, {false, -2.0}};
  b.far_field = 123456;
  return b;
}

cmtest::ttwitter::RequestHeader FullRequestHeader() {
  cmtest::ttwitter::RequestHeader h;
  h.trace_id = 0x1122334455667788;
  h.span_id = -2;
  h.__set_parent_span_id(77);
  h.__set_sampled(true);
  cmtest::ttwitter::ClientId client;
  client.name = "web-frontend";
  h.__set_client_id(client);
  h.__set_flags(6);
  cmtest::ttwitter::RequestContext deadline, other;
  deadline.key = "com.twitter.finagle.Deadline";
  deadline.value = std::string("\0\0\0\x01\0\0\0\x02", 8);
  other.key = "x-canary-version";
  other.value = "user=v1";
  h.contexts = {deadline, other};
  h.__set_dest("/s/user");
  cmtest::ttwitter::Delegation d;
  d.src = "/s/user";
  d.dst = "/srv/user-v2";
  h.__set_delegations({d});
  h.__set_trace_id_high(99);
  return h;
}

cmtest::ttwitter::ResponseHeader SomeResponseHeader() {
  cmtest::ttwitter::ResponseHeader h;
  cmtest::ttwitter::Span span;
  span.trace_id = 1;
  span.name = "echo";
  cmtest::ttwitter::Annotation a;
  a.timestamp = 12345;
  a.value = "sr";
  span.annotations = {a, a};
  h.spans = {span};
  return h;
}

ReadBack Decode(const WireFormat& format, const std::string& bytes, const Reader& body,
                const Reader& prefix) {
  auto memory = std::make_shared<TMemoryBuffer>();
  memory->write(reinterpret_cast<const uint8_t*>(bytes.data()),
                static_cast<uint32_t>(bytes.size()));
  ReadBack out;
  std::shared_ptr<TProtocol> protocol;
  std::shared_ptr<THeaderProtocol> header;
  if (format.transport == Transport::kHeader) {
    header = std::make_shared<THeaderProtocol>(memory);
    protocol = header;
  } else if (format.transport == Transport::kFramed) {
    protocol = MakeProtocol(format.protocol, std::make_shared<TFramedTransport>(memory));
  } else {
    protocol = MakeProtocol(format.protocol, memory);
  }
  if (prefix) prefix(*protocol);
  protocol->readMessageBegin(out.name, out.type, out.seqid);
  if (body) body(*protocol);
  protocol->readMessageEnd();
  if (header) {
    out.headers = header->getHeaders();
    out.frame_seqid =
        std::dynamic_pointer_cast<THeaderTransport>(header->getTransport())->getSequenceNumber();
  }
  out.unread = memory->available_read();
  return out;
}

}  // namespace canarymesh::thrift::testing
