// Load generator and backend for bench/thrift_bench.sh, on raw epoll sockets (one thread each):
//   thrift_bench_tools server PORT
//       answers framed strict-binary calls of the Echo service (tests/thrift/test.thrift):
//       echo(s) -> REPLY carrying s as field 0, same seqid. Cheap on purpose, so the proxies'
//       costs dominate.
//   thrift_bench_tools load HOST:PORT CONNECTIONS DEPTH SECONDS
//       CONNECTIONS framed binary connections, each with DEPTH calls in flight (pipelined, a new
//       call for each reply), distinct seqids checked on every reply. Prints one line:
//       "calls=N seconds=S calls_per_s=X p50_us=A p99_us=B errors=E".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

uint32_t Be32(const char* p) {
  auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
void PutBe32(std::string& s, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  s.append(b, 4);
}

std::string EchoMessage(uint32_t type, int32_t seqid, int16_t field, const std::string& value) {
  std::string m;
  PutBe32(m, 0x80010000u | type);
  PutBe32(m, 4);
  m += "echo";
  PutBe32(m, static_cast<uint32_t>(seqid));
  m.push_back(11);
  m.push_back(char(field >> 8));
  m.push_back(char(field));
  PutBe32(m, static_cast<uint32_t>(value.size()));
  m += value;
  m.push_back(0);
  std::string framed;
  PutBe32(framed, static_cast<uint32_t>(m.size()));
  return framed + m;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  std::string in, out;
  std::deque<std::pair<int32_t, int64_t>> sent;  // seqid, time
  int32_t next_seqid = 1;
};

bool Flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

int Server(int port) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(lfd, 1024) != 0) {
    std::perror("server: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  epoll_event ev{EPOLLIN, {.ptr = nullptr}};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<epoll_event> events(256);
  char buf[65536];
  while (true) {
    int n = epoll_wait(ep, events.data(), 256, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        int fd;
        while ((fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto* c = new Conn;
          c->fd = fd;
          epoll_event cev{EPOLLIN, {.ptr = c}};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      ssize_t r = read(c->fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(c->fd);
        delete c;
        continue;
      }
      c->in.append(buf, static_cast<size_t>(r));
      size_t pos = 0;
      while (c->in.size() - pos >= 4) {
        uint32_t len = Be32(c->in.data() + pos);
        if (c->in.size() - pos < 4 + len) break;
        std::string reply = c->in.substr(pos, 4 + len);
        reply[7] = 2;  // REPLY
        uint32_t name = Be32(reply.data() + 8);
        size_t field = 4 + 4 + 4 + name + 4;
        if (field + 3 <= reply.size()) reply[field + 2] = 0;  // field 1 -> 0 (the result)
        c->out += reply;
        pos += 4 + len;
      }
      c->in.erase(0, pos);
      Flush(*c);  // a slow client is not this benchmark's concern
    }
  }
}

int Load(const char* target, int connections, int depth, int seconds) {
  std::string host(target);
  int port = std::atoi(host.substr(host.rfind(':') + 1).c_str());
  host = host.substr(0, host.rfind(':'));
  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  int one = 1;
  for (Conn& c : conns) {
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      std::perror("load: connect");
      return 1;
    }
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    epoll_event ev{EPOLLIN, {.ptr = &c}};
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    for (int d = 0; d < depth; ++d) {
      c.sent.emplace_back(c.next_seqid, NowUs());
      c.out += EchoMessage(1, c.next_seqid++, 1, "hello canarymesh");
    }
    Flush(c);
  }
  std::vector<uint32_t> latencies;
  latencies.reserve(1 << 22);
  uint64_t calls = 0, errors = 0;
  const int64_t start = NowUs(), warm_until = start + 1000000,
                end = warm_until + int64_t{seconds} * 1000000;
  std::vector<epoll_event> events(256);
  char buf[65536];
  int64_t now = start;
  while ((now = NowUs()) < end) {
    int n = epoll_wait(ep, events.data(), 256, 100);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      ssize_t r = read(c->fd, buf, sizeof(buf));
      if (r <= 0) {
        std::fprintf(stderr, "load: connection closed by the server\n");
        return 1;
      }
      c->in.append(buf, static_cast<size_t>(r));
      size_t pos = 0;
      now = NowUs();
      while (c->in.size() - pos >= 4) {
        uint32_t len = Be32(c->in.data() + pos);
        if (c->in.size() - pos < 4 + len) break;
        const char* m = c->in.data() + pos + 4;
        uint32_t name = Be32(m + 4);
        int32_t seqid = static_cast<int32_t>(Be32(m + 8 + name));
        bool ok = (Be32(m) & 0xff) == 2 && !c->sent.empty() && c->sent.front().first == seqid;
        if (!ok) ++errors;
        if (!c->sent.empty()) {
          if (now >= warm_until) {
            latencies.push_back(static_cast<uint32_t>(now - c->sent.front().second));
            ++calls;
          }
          c->sent.pop_front();
        }
        c->sent.emplace_back(c->next_seqid, now);
        c->out += EchoMessage(1, c->next_seqid++, 1, "hello canarymesh");
        pos += 4 + len;
      }
      c->in.erase(0, pos);
      Flush(*c);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0u : latencies[static_cast<size_t>(p * (latencies.size() - 1))];
  };
  std::printf("calls=%llu seconds=%d calls_per_s=%.0f p50_us=%u p99_us=%u errors=%llu\n",
              static_cast<unsigned long long>(calls), seconds, static_cast<double>(calls) / seconds,
              pct(0.5), pct(0.99), static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "server") == 0) return Server(std::atoi(argv[2]));
  if (argc == 6 && std::strcmp(argv[1], "load") == 0) {
    return Load(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]));
  }
  std::fprintf(stderr, "usage: %s server PORT | load HOST:PORT CONNECTIONS DEPTH SECONDS\n",
               argv[0]);
  return 2;
}
