"""A Python Thrift server of the Echo service (tests/thrift/test.thrift) for the e2e tests:
python3-thrift's THeader server, which also answers framed/unframed binary and compact clients.
echo(s) returns "<version>|<s>|<x-canary-version THeader header or ->"; echo("fail") raises (a
TApplicationException reply). With --next PORT it is a middle hop: echo() calls `next` itself and
passes on the THeader headers it received, returning "<version>>" + the reply.

Usage: thrift_echo_server.py --gen DIR --version v1 --port P [--next PORT]
"""

import argparse
import sys
import threading


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gen", required=True, help="directory with thrift --gen py output")
    parser.add_argument("--version", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--next", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, args.gen)

    from test import Echo  # noqa: E402 (generated)
    from thrift.protocol import THeaderProtocol
    from thrift.server import TServer
    from thrift.transport import THeaderTransport, TSocket, TTransport

    local = threading.local()

    class Handler:
        def echo(self, s):
            if s == "fail":
                raise RuntimeError("echo failed on purpose")
            # Read now: the frame (and its headers) is read with the message, after process() began.
            iprot = getattr(local, "iprot", None)
            headers = dict(iprot.get_headers()) if hasattr(iprot, "get_headers") else {}
            if args.next:
                sock = TSocket.TSocket("127.0.0.1", args.next)
                protocol = THeaderProtocol.THeaderProtocol(sock, (THeaderTransport.THeaderClientType.HEADERS,))
                for key, value in headers.items():
                    protocol.set_header(key, value)
                client = Echo.Client(protocol)
                sock.open()
                try:
                    return f"{args.version}>" + client.echo(s)
                finally:
                    sock.close()
            seen = headers.get(b"x-canary-version", headers.get("x-canary-version", b"-"))
            if isinstance(seen, bytes):
                seen = seen.decode()
            return f"{args.version}|{s}|{seen}"

        def nothing(self):
            pass

        def ping(self, x):
            pass

    class HeaderAwareProcessor(Echo.Processor):
        """Makes the THeader headers of the call being processed visible to the handler."""

        def process(self, iprot, oprot):
            local.iprot = iprot
            return super().process(iprot, oprot)

    server = TServer.TThreadedServer(
        HeaderAwareProcessor(Handler()),
        TSocket.TServerSocket(host="127.0.0.1", port=args.port),
        TTransport.TTransportFactoryBase(),
        THeaderProtocol.THeaderProtocolFactory(allowed_client_types=tuple(range(5))),
        daemon=True,
    )
    print(f"serving {args.version} on {args.port}", flush=True)
    server.serve()


if __name__ == "__main__":
    main()
