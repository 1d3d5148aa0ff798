#!/usr/bin/python3
"""Reads the members of a ServerSet path with kazoo and checks that they are proper Finagle
ServerSet JSON (the ServiceInstance layout), as a Finagle or Twitter-commons reader expects.

Prints one JSON summary line per member; exits 0 when every member is valid and (with
--expect-count) their number matches, 1 otherwise, with the reasons on stderr.
"""
import argparse
import json
import sys

from kazoo.client import KazooClient

STATUSES = {"DEAD", "STARTING", "ALIVE", "STOPPING", "STOPPED", "WARNING"}


def endpoint_problems(node, field):
    if not isinstance(node, dict):
        return [field + ": not an object"]
    problems = []
    if not isinstance(node.get("host"), str) or not node.get("host"):
        problems.append(field + ".host: not a non-empty string")
    port = node.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        problems.append(field + ".port: not an integer in 1..65535")
    return problems


def member_problems(record):
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = endpoint_problems(record.get("serviceEndpoint"), "serviceEndpoint")
    if record.get("status") not in STATUSES:
        problems.append("status: %r is not a ServerSet status" % (record.get("status"),))
    additional = record.get("additionalEndpoints", {})
    if not isinstance(additional, dict):
        problems.append("additionalEndpoints: not an object")
    else:
        for name, node in additional.items():
            problems += endpoint_problems(node, "additionalEndpoints." + name)
    if "shard" in record and (not isinstance(record["shard"], int) or isinstance(record["shard"], bool)):
        problems.append("shard: not an integer")
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        problems.append("metadata: not an object of strings")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zk", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--expect-count", type=int)
    args = parser.parse_args()

    zk = KazooClient(hosts=args.zk, timeout=10.0)
    zk.start(timeout=20)
    failed = False
    names = sorted(n for n in zk.get_children(args.path) if n.startswith("member_"))
    for name in names:
        path = args.path + "/" + name
        raw, stat = zk.get(path)
        try:
            record = json.loads(raw.decode("utf-8"))
        except ValueError as error:
            print("%s: not JSON: %s" % (path, error), file=sys.stderr)
            failed = True
            continue
        problems = member_problems(record)
        if stat.ephemeralOwner == 0:
            problems.append("not an ephemeral node")
        for problem in problems:
            print("%s: %s" % (path, problem), file=sys.stderr)
        failed = failed or bool(problems)
        print(json.dumps({
            "path": path,
            "host": record.get("serviceEndpoint", {}).get("host"),
            "port": record.get("serviceEndpoint", {}).get("port"),
            "status": record.get("status"),
            "shard": record.get("shard"),
            "version": record.get("metadata", {}).get("version"),
            "endpoints": {k: [v.get("host"), v.get("port")]
                          for k, v in record.get("additionalEndpoints", {}).items()},
            "ephemeral": stat.ephemeralOwner != 0,
        }), flush=True)
    if args.expect_count is not None and len(names) != args.expect_count:
        print("expected %d members, found %d" % (args.expect_count, len(names)), file=sys.stderr)
        failed = True
    zk.stop()
    zk.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
