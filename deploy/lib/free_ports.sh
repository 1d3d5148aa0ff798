# Sourced by the project's scripts (quick start, benchmarks, chaos test).
# Prints N distinct loopback ports that were free a moment ago. The sockets are held together
# (so the ports differ) and closed before printing (so the caller can bind them at once).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
ports = [str(s.getsockname()[1]) for s in socks]
for s in socks: s.close()
print(" ".join(ports))' "$1"
}
