// Loopback sockets for tests: free ports, port reservations, listeners that accept or never do.
// Every test helper that needs a port or a listening socket takes it from here.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>

namespace canarymesh::testing {

// A loopback port that was free a moment ago (bound to port 0, read, closed), or 0.
uint16_t PickFreePort();

// Reserves a loopback port: bound with SO_REUSEADDR and SO_REUSEPORT but never listening, so a
// proxy under test can bind it too while nothing else takes it. Returns the fd (close it once
// the proxy listens) and the port in *port.
int ReservePort(uint16_t* port);

// A socket bound to 127.0.0.1 on a fresh port (*port), listening with `backlog` when it is 0 or
// more, only bound (connects are refused) when it is negative. Returns the fd, or -1.
// `receive_buffer` > 0: SO_RCVBUF, set before listening so accepted sockets start with it.
int ListenLoopback(uint16_t* port, int backlog, int receive_buffer = 0);

// Whether something accepts connections on 127.0.0.1:port now.
bool Accepting(uint16_t port);

}  // namespace canarymesh::testing
