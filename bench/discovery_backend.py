#!/usr/bin/python3
"""Always-on HTTP/1.1 backend for bench/discovery_bench.py: one process, one epoll loop, one
listening socket per loopback address given (all on the same port), so that thousands of
ServerSet members can each be a distinct, reachable host:port without thousands of processes.

Every response is 200 with the body "<local ip>:<port>\n", so the caller can check which member
the proxy routed to. Keep-alive and pipelining are supported; request bodies (Content-Length only)
are skipped.

Usage: discovery_backend.py --port P --addresses FILE   (FILE: one IPv4 loopback address a line)
Prints "ready <port> <count>" on stdout once every socket listens, "bind-failed <addr>" and exits 3
if the port is taken on some address. Stops on SIGTERM/SIGINT or when stdin closes.
"""
import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import sys


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Conn:
    __slots__ = ("sock", "inbuf", "outbuf", "reply")

    def __init__(self, sock, reply):
        self.sock = sock
        self.inbuf = b""
        self.outbuf = b""
        self.reply = reply


def parse_requests(conn):
    """Consumes complete requests from conn.inbuf; returns (replies, close_after)."""
    replies = 0
    close = False
    while True:
        end = conn.inbuf.find(b"\r\n\r\n")
        if end < 0:
            return replies, close
        head = conn.inbuf[:end].lower()
        body_len = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                try:
                    body_len = int(line.split(b":", 1)[1].strip())
                except ValueError:
                    return replies, True
            elif line.startswith(b"connection:") and b"close" in line:
                close = True
        if len(conn.inbuf) < end + 4 + body_len:
            return replies, close
        conn.inbuf = conn.inbuf[end + 4 + body_len:]
        replies += 1
        if close:
            return replies, True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--addresses", required=True)
    args = parser.parse_args()
    raise_fd_limit()
    with open(args.addresses) as f:
        addresses = [line.strip() for line in f if line.strip()]

    sel = selectors.DefaultSelector()
    listeners = []
    for addr in addresses:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, args.port))
        except OSError as e:
            print(f"bind-failed {addr} {e}", flush=True)
            sys.exit(3 if e.errno == errno.EADDRINUSE else 4)
        s.listen(128)
        s.setblocking(False)
        body = f"{addr}:{args.port}\n".encode()
        reply = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
        sel.register(s, selectors.EVENT_READ, ("listen", reply))
        listeners.append(s)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    os.set_blocking(0, False)
    sel.register(0, selectors.EVENT_READ, ("stdin", None))
    print(f"ready {args.port} {len(listeners)}", flush=True)

    def close(conn):
        sel.unregister(conn.sock)
        conn.sock.close()

    while not stop:
        for key, mask in sel.select(timeout=0.5):
            kind, data = key.data
            if kind == "listen":
                while True:
                    try:
                        c, _ = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:  # EMFILE and friends: leave it in the backlog
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn = Conn(c, data)
                    sel.register(c, selectors.EVENT_READ, ("conn", conn))
            elif kind == "stdin":
                try:
                    if not os.read(0, 4096):
                        stop.append(1)
                except BlockingIOError:
                    pass
            else:
                conn = data
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = conn.sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        chunk = None
                    except OSError:
                        close(conn)
                        continue
                    if chunk == b"":
                        close(conn)
                        continue
                    if chunk:
                        conn.inbuf += chunk
                        n, close_after = parse_requests(conn)
                        conn.outbuf += conn.reply * n
                        if close_after:
                            conn.inbuf = b""
                            try:
                                conn.sock.sendall(conn.outbuf)
                            except OSError:
                                pass
                            close(conn)
                            continue
                if conn.outbuf:
                    try:
                        sent = conn.sock.send(conn.outbuf)
                        conn.outbuf = conn.outbuf[sent:]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        close(conn)
                        continue
                    sel.modify(conn.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbuf else 0),
                               ("conn", conn))
    for s in listeners:
        s.close()


if __name__ == "__main__":
    main()
