#!/usr/bin/python3
"""Plays Finagle/Twitter-commons instances with kazoo, a ZooKeeper client canarymesh did not write.

Creates one ephemeral sequential member_ znode per --member, holding ServerSet JSON in the
ServiceInstance layout, prints "ready <znode> ..." and keeps the session open until stdin closes;
then closes the session, which makes ZooKeeper delete the members.

  --member host=10.0.0.3,port=9090,status=ALIVE,version=v2,http=8080,shard=0
"""
import argparse
import json
import sys

from kazoo.client import KazooClient


def instance(spec):
    fields = dict(item.split("=", 1) for item in spec.split(","))
    host = fields["host"]
    record = {
        "serviceEndpoint": {"host": host, "port": int(fields["port"])},
        "additionalEndpoints": {},
        "status": fields.get("status", "ALIVE"),
    }
    for name in ("http", "thrift", "admin"):
        if name in fields:
            record["additionalEndpoints"][name] = {"host": host, "port": int(fields[name])}
    if "shard" in fields:
        record["shard"] = int(fields["shard"])
    if "version" in fields:
        record["metadata"] = {"version": fields["version"]}
    return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zk", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--member", action="append", default=[])
    args = parser.parse_args()

    zk = KazooClient(hosts=args.zk, timeout=10.0)
    zk.start(timeout=20)
    created = []
    for spec in args.member:
        data = json.dumps(instance(spec)).encode("utf-8")
        created.append(zk.create(args.path + "/member_", data, ephemeral=True, sequence=True,
                                 makepath=True))
    print("ready " + " ".join(created), flush=True)
    sys.stdin.read()  # until the test closes our stdin
    zk.stop()
    zk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
