#!/usr/bin/python3
"""Discovery benchmark: how fast and how small canarymesh is with Finagle ServerSets in ZooKeeper.

One command starts its own ZooKeeper (Debian's 3.8, as tests/integration/zk_server.cc does), an
always-on HTTP backend (bench/discovery_backend.py: one listening socket per member address, all
on 127.x.y.z loopback addresses and one free port) and canarymesh proxies (process handling in
bench/discovery_harness.py; everything is stopped and removed at exit), then measures:

  ttr-small   time to routable with one discovered service: create an ephemeral sequential member
              of a fresh version vK, then hammer the proxy with `x-canary-version: ttr=vK` until
              the first 200 (503 until the proxy knows vK). Clock: from kazoo create() returning
              to the first 200 read by the client. Also the reverse (delete() -> first 503).
  sync        500 services x 20 members already in ZooKeeper; proxy started; time until
              /admin/services shows every service synced with all 20 live instances.
  rss         VmRSS/VmHWM of that proxy after sync, after requests to every version of one
              service, and after requests to every version of every service.
  ttr-scale   the time-to-routable trials again, on the proxy holding the 10,000 members.
  absorb      a fresh proxy with the 500 services synced empty; 10,000 members then created
              (interleaved across services); time until /admin/services shows them all.

Sync and absorb are observed through the watcher's publish lines in the proxy's log (at the
default info level; else by polling /metrics member counts every --admin-poll-ms), then one
/admin/services call confirms the route table (polling /admin/services itself would cost the proxy
0.1-0.6 s of CPU per call at 10,000 instances); time to routable is measured on the request path. Writes bench/results/discovery-<UTC>.{md,json}; prints the
markdown table. Exit status: 0 when the run completed (targets missed are reported, not fatal),
1 on a harness failure.

Example: bench/discovery_bench.py --trials 200 --services 500 --members-per-service 20
"""

import argparse
import collections
import datetime as dt
import importlib.util
import json
import logging
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

# python3-kazoo is installed for Debian's /usr/bin/python3; a pyenv python3 first in PATH lacks it.
if importlib.util.find_spec("kazoo") is None and sys.executable != "/usr/bin/python3" \
        and os.path.exists("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing the harness
from discovery_harness import (  # noqa: E402
    REAPER, SCALE_GROUP, TTR_GROUP, Backend, HarnessError, HttpConn, PerfRecorder, Proxy, ZooKeeper,
    log, member_address, thread_cpu, wait_services)

ROOT = Path(__file__).resolve().parent.parent
TARGET_TTR_P99_MS = 50.0
TARGET_RSS_MB = 64.0


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through finally blocks, then REAPER's atexit


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


# ---------------------------------------------------------------------------------------------
# Request path

def request_bytes(service, header, version):
    return (f"GET / HTTP/1.1\r\nHost: {service}\r\n{header}: {service}={version}\r\n\r\n").encode()


def member_data(ip, port, version):
    return json.dumps({"serviceEndpoint": {"host": ip, "port": port},
                       "additionalEndpoints": {"http": {"host": ip, "port": port}},
                       "status": "ALIVE", "metadata": {"version": version}}).encode()


def run_ttr(zk, proxy, backend_port, service, path, trials, first_idx, version_prefix,
            poll_interval_s, trial_timeout_s):
    """Time-to-routable trials; returns a dict of samples (ms) and counters."""
    conn = HttpConn(proxy.listen_port)
    routable, unroutable, create_ms, requests_per_trial, since_start = [], [], [], [], []
    unexpected = collections.Counter()
    timeouts = 0
    wrong_backend = 0
    for k in range(trials):
        proxy.check_alive()
        version = f"{version_prefix}{k}"
        ip = member_address(TTR_GROUP, first_idx + k)
        req = request_bytes(service, "x-canary-version", version)
        status, _ = conn.request(req)
        if status != 503:
            unexpected[f"before-create:{status}"] += 1
        c0 = time.perf_counter()
        znode = zk.create(path + "/member_", member_data(ip, backend_port, version),
                          ephemeral=True, sequence=True)
        t0 = time.perf_counter()
        create_ms.append((t0 - c0) * 1000)
        since_start.append(round(t0 - proxy.started_at, 3))
        n = 0
        while True:
            status, body = conn.request(req)
            now = time.perf_counter()
            n += 1
            if status == 200:
                routable.append((now - t0) * 1000)
                if body.decode().strip() != f"{ip}:{backend_port}":
                    wrong_backend += 1
                break
            if status != 503:
                unexpected[str(status)] += 1
            if now - t0 > trial_timeout_s:
                timeouts += 1
                break
            if poll_interval_s:
                time.sleep(poll_interval_s)
        requests_per_trial.append(n)
        # Take it away again and time that too; the next trial starts from a quiet proxy.
        zk.delete(znode)
        t0 = time.perf_counter()
        while True:
            status, _ = conn.request(req)
            now = time.perf_counter()
            if status == 503:
                unroutable.append((now - t0) * 1000)
                break
            if status != 200:
                unexpected[f"after-delete:{status}"] += 1
            if now - t0 > trial_timeout_s:
                timeouts += 1
                break
            if poll_interval_s:
                time.sleep(poll_interval_s)
    conn.close()
    return {"routable_ms": routable, "unroutable_ms": unroutable, "create_ms": create_ms,
            "requests_per_trial": requests_per_trial, "trial_start_s": since_start, "timeouts": timeouts,
            "wrong_backend": wrong_backend, "unexpected_status": dict(unexpected)}


def send_traffic(proxy, services, versions, per_version, connections):
    """`per_version` override requests to every version of every given service, rotating over
    `connections` client connections (the kernel spreads those over the workers, so a version
    is usually recorded by several workers, as under real traffic); status counts."""
    conns = [HttpConn(proxy.listen_port) for _ in range(connections)]
    statuses = collections.Counter()
    sent = 0
    for name in services:
        for v in versions:
            req = request_bytes(name, "x-canary-version", v)
            for _ in range(per_version):
                status, _ = conns[sent % connections].request(req)
                sent += 1
                statuses[status] += 1
    for c in conns:
        c.close()
    return dict(statuses)


# ---------------------------------------------------------------------------------------------
# ZooKeeper writes


def create_members(zk, items, batch):
    """items: (parent path, data) pairs; async creates, `batch` in flight; returns seconds."""
    t0 = time.perf_counter()
    for i in range(0, len(items), batch):
        pending = [zk.create_async(p + "/member_", d, ephemeral=True, sequence=True)
                   for p, d in items[i:i + batch]]
        for a in pending:
            a.get(timeout=120)
    return time.perf_counter() - t0


def ensure_paths(zk, paths, batch=500):
    for parent in sorted({os.path.dirname(p) for p in paths}):
        zk.ensure_path(parent)
    for i in range(0, len(paths), batch):
        pending = [zk.create_async(p) for p in paths[i:i + batch] if not zk.exists(p)]
        for a in pending:
            a.get(timeout=60)


# ---------------------------------------------------------------------------------------------
# Reporting


def pct(samples, q):
    """Nearest-rank percentile."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    rank = max(1, int(-(-q * len(s) // 100)))  # ceil(q/100 * n)
    return s[min(rank, len(s)) - 1]


def dist(samples):
    return {"n": len(samples), "p50": pct(samples, 50), "p90": pct(samples, 90),
            "p99": pct(samples, 99), "max": max(samples) if samples else float("nan")}


def fmt_dist(d):
    return f"{d['p50']:.1f} / {d['p90']:.1f} / {d['p99']:.1f} / {d['max']:.1f} ms (n={d['n']})"


def mb(kb):
    return kb / 1024.0


def fmt_mem(m):
    if not m:
        return "n/a"
    return f"{mb(m['VmRSS']):.1f} MB RSS / {mb(m['VmHWM']):.1f} MB HWM ({m.get('fds', '?')} fds)"


def git_state():
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU {model}, Linux {platform.release()}"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------------------------
# Main


def find_binary(arg):
    if arg:
        return str(Path(arg).resolve())
    for c in ("build-dbench/canarymesh", "build/canarymesh"):
        if (ROOT / c).exists():
            return str(ROOT / c)
    raise HarnessError("canarymesh binary not found; pass --canarymesh PATH")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200, help="time-to-routable trials per run")
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--members-per-service", type=int, default=20)
    ap.add_argument("--versions-per-service", type=int, default=2)
    ap.add_argument("--canarymesh", help="proxy binary (default build-dbench/, then build/)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--phases", default="ttr-small,sync,rss,ttr-scale,absorb",
                    help="comma-separated subset of ttr-small,sync,rss,ttr-scale,absorb")
    ap.add_argument("--requests-per-version", type=int, default=4,
                    help="rss phase: override requests per version of every service")
    ap.add_argument("--client-connections", type=int, default=8,
                    help="rss phase: client connections the requests rotate over")
    ap.add_argument("--poll-interval-ms", type=float, default=0.0,
                    help="pause between time-to-routable probe requests (0 = back to back)")
    ap.add_argument("--admin-poll-ms", type=float, default=100.0,
                    help="poll interval for /admin/services (and /metrics when the proxy log is not at info)")
    ap.add_argument("--batch", type=int, default=500, help="kazoo async creates in flight")
    ap.add_argument("--order", choices=("interleaved", "grouped"), default="interleaved",
                    help="absorb: create member j of every service before member j+1, or "
                         "all of one service before the next")
    ap.add_argument("--proxy-log-level", default="info")
    ap.add_argument("--timeout", type=float, default=600.0, help="per wait, seconds")
    ap.add_argument("--perf", default="",
                    help="comma-separated phases (sync, ttr-scale, absorb) to record the proxy in "
                         "with `perf record -e cpu-clock`; a flat profile goes into the results "
                         "(perf is given 1 s to attach, which then shows in the sync upper bound)")
    ap.add_argument("--proxy-set", action="append", default=[], metavar="KEY=JSON",
                    help="override a proxy config field, e.g. limits.max_idle_upstream_per_instance=0")
    ap.add_argument("--proxy-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment for the proxies, e.g. MALLOC_ARENA_MAX=1")
    ap.add_argument("--proxy-wrapper", default="",
                    help="command prefix for the proxies, e.g. 'heaptrack -o /tmp/cm'")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs (logs) for debugging")
    ap.add_argument("--out", help="results file stem (default bench/results/discovery-<UTC>)")
    args = ap.parse_args()

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - {"ttr-small", "sync", "rss", "ttr-scale", "absorb"}
    if unknown:
        ap.error(f"unknown phases: {sorted(unknown)}")
    if ("rss" in phases or "ttr-scale" in phases) and "sync" not in phases:
        ap.error("rss and ttr-scale run on the proxy that the sync phase starts")
    REAPER.keep_dirs = args.keep
    perf_phases = {p.strip() for p in args.perf.split(",") if p.strip()}
    for item in args.proxy_set:
        key, _, value = item.partition("=")
        try:
            Proxy.overrides[key] = json.loads(value)
        except ValueError:
            Proxy.overrides[key] = value
    Proxy.env = dict(item.split("=", 1) for item in args.proxy_env)
    Proxy.wrapper = shlex.split(args.proxy_wrapper)
    binary = find_binary(args.canarymesh)
    logging.basicConfig(level=logging.WARNING)

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_stem = Path(args.out) if args.out else ROOT / "bench" / "results" / f"discovery-{stamp}"
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    cmdline = "bench/discovery_bench.py " + " ".join(sys.argv[1:])
    built = dt.datetime.fromtimestamp(os.path.getmtime(binary), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results = {"command": cmdline, "machine": machine(), "canarymesh": binary,
               "binary_built": built, "git": git_state(), "started_utc": stamp,
               "args": vars(args), "loadavg": {}}

    S, M, V = args.services, args.members_per_service, args.versions_per_service
    names = [f"svc{i:04d}" for i in range(S)]
    versions = [f"v{j + 1}" for j in range(V)]
    scale_paths = {n: f"/bench/scale/{n}" for n in names}
    ttr_path = "/bench/ttr"

    def svc_config(name, path):
        return {"name": name, "hosts": [name], "serverset": {"path": path, "endpoint": "http"}}

    scale_services = [svc_config(n, scale_paths[n]) for n in names] + [svc_config("ttr", ttr_path)]

    # Member j of service i: version v(1 + j % V), address index i*M + j.
    def scale_items(order):
        items = []
        pairs = ([(i, j) for j in range(M) for i in range(S)] if order == "interleaved"
                 else [(i, j) for i in range(S) for j in range(M)])
        for i, j in pairs:
            ip = member_address(SCALE_GROUP, i * M + j)
            items.append((scale_paths[names[i]], (ip, versions[j % V])))
        return items

    try:
        log(f"machine: {results['machine']}; load {loadavg()}; binary {binary} ({results['git']})")
        zk_server = ZooKeeper()
        zk_server.start()
        log(f"zookeeper on {zk_server.connect}")
        ttr_runs = sum(p in phases for p in ("ttr-small", "ttr-scale"))
        addresses = [member_address(TTR_GROUP, k) for k in range(args.trials * ttr_runs)]
        if {"sync", "absorb"} & set(phases):
            addresses += [member_address(SCALE_GROUP, k) for k in range(S * M)]
        backend = Backend(addresses)
        backend.start()
        log(f"backend: {len(addresses)} listening sockets on port {backend.port}")
        zk = zk_server.client()
        ensure_paths(zk, [ttr_path] + list(scale_paths.values()))

        def resolve(items):
            return [(p, member_data(ip, backend.port, v)) for p, (ip, v) in items]

        ttr_idx = 0
        if "ttr-small" in phases:
            results["loadavg"]["ttr-small"] = loadavg()
            proxy = Proxy(binary, "small", zk_server.connect, [svc_config("ttr", ttr_path)],
                          args.workers, args.proxy_log_level)
            proxy.start()
            proxy.wait_ready()
            wait_services(proxy, ["ttr"], 0, args.timeout, 0.05)
            log(f"ttr-small: {args.trials} trials")
            cpu0 = proxy.cpu()
            r = run_ttr(zk, proxy, backend.port, "ttr", ttr_path, args.trials, ttr_idx, "s",
                        args.poll_interval_ms / 1000, 30)
            r["proxy_cpu_s"] = proxy.cpu() - cpu0
            ttr_idx += args.trials
            r["memory"] = proxy.memory()
            results["ttr_small"] = r
            log(f"ttr-small: routable {fmt_dist(dist(r['routable_ms']))}; "
                f"unroutable {fmt_dist(dist(r['unroutable_ms']))}; {fmt_mem(r['memory'])}")
            proxy.stop()

        if "sync" in phases:
            results["loadavg"]["sync"] = loadavg()
            items = resolve(scale_items("grouped"))
            secs = create_members(zk, items, args.batch)
            log(f"sync: created {len(items)} members in {secs:.2f}s")
            results["sync_create_s"] = secs
            proxy = Proxy(binary, "scale", zk_server.connect, scale_services, args.workers,
                          args.proxy_log_level)
            zk_requests_before = zk_server.requests_received()
            proxy.start()
            ready_s = proxy.wait_ready()
            # After ready: perf -p follows only the threads that exist when it attaches.
            perf = PerfRecorder(proxy, "sync", "sync" in perf_phases)
            w = wait_services(proxy, names, M, args.timeout, args.admin_poll_ms / 1000)
            perf.finish(results)
            sync = {"ready_s": ready_s, "synced_s": w["done"] - proxy.started_at,
                    "synced_lower_s": w["lower"] - proxy.started_at, "wait": w,
                    "cpu_s": proxy.cpu(), "publishes_logged": proxy.count_log(r"serverset svc\d+: ")}
            # Reads may go on after everything is routable (a second full re-read was seen):
            # wait for ZooKeeper to go quiet so later phases start from an idle watcher.
            quiet = zk_server.wait_quiet(args.timeout)
            sync["zk_quiet_s"] = time.perf_counter() - proxy.started_at if quiet else None
            sync["zk_requests_until_quiet"] = quiet - zk_requests_before if quiet else None
            sync["memory"] = proxy.memory()
            results["sync"] = sync
            log(f"sync: ready {ready_s:.2f}s, synced {sync['synced_lower_s']:.2f}-{sync['synced_s']:.2f}s, "
                f"proxy CPU {sync['cpu_s']:.1f}s; ZooKeeper quiet after {sync['zk_quiet_s'] or -1:.1f}s, "
                f"{sync['zk_requests_until_quiet']} requests; {fmt_mem(sync['memory'])}; /admin/services "
                f"{w['admin_poll_s'] * 1000:.0f} ms, /metrics {w['metrics_poll_s'] * 1000:.0f} ms per call")

            if "rss" in phases:
                results["loadavg"]["rss"] = loadavg()
                rss = {"after_sync": sync["memory"]}
                rss["statuses_one_service"] = send_traffic(proxy, names[:1], versions,
                                                           args.requests_per_version,
                                                           args.client_connections)
                time.sleep(0.5)
                rss["after_one_service"] = proxy.memory()
                before = thread_cpu(proxy.pid)
                rss["statuses_all"] = send_traffic(proxy, names, versions, args.requests_per_version,
                                                   args.client_connections)
                after = thread_cpu(proxy.pid)
                # Per-version latency histograms are allocated per worker that records the
                # version, so how the kernel spread the client connections matters: record it.
                rss["worker_cpu_during_traffic_s"] = {k: round(after.get(k, 0) - v, 2) for k, v in before.items()}
                rss["workers_that_served"] = sum(1 for v in rss["worker_cpu_during_traffic_s"].values() if v > 0)
                time.sleep(1.0)
                rss["after_all_services"] = proxy.memory()
                rss["metrics_rss_bytes"] = proxy.metric("process_resident_memory_bytes")
                rss["upstream_connections_opened"] = proxy.metric("canarymesh_upstream_connections_total")
                results["rss"] = rss
                log(f"rss: one service {fmt_mem(rss['after_one_service'])}; all services "
                    f"{fmt_mem(rss['after_all_services'])}; statuses {rss['statuses_all']}; "
                    f"worker CPU during traffic {rss['worker_cpu_during_traffic_s']}")

            if "ttr-scale" in phases:
                results["loadavg"]["ttr-scale"] = loadavg()
                wait_services(proxy, ["ttr"], 0, args.timeout, 0.05)
                log(f"ttr-scale: {args.trials} trials with {S * M} members loaded")
                perf = PerfRecorder(proxy, "ttr-scale", "ttr-scale" in perf_phases)
                cpu0 = proxy.cpu()
                r = run_ttr(zk, proxy, backend.port, "ttr", ttr_path, args.trials, ttr_idx, "L",
                            args.poll_interval_ms / 1000, 60)
                r["proxy_cpu_s"] = proxy.cpu() - cpu0
                perf.finish(results)
                ttr_idx += args.trials
                r["memory"] = proxy.memory()
                results["ttr_scale"] = r
                log(f"ttr-scale: routable {fmt_dist(dist(r['routable_ms']))}; "
                    f"unroutable {fmt_dist(dist(r['unroutable_ms']))}")
            proxy.stop()
            zk.stop()
            zk.close()  # the session's ephemeral members go with it
            zk = zk_server.client()
            wait_gone = time.monotonic() + 60
            while any(zk.get_children(p) for p in list(scale_paths.values())[:5]):
                if time.monotonic() > wait_gone:
                    raise HarnessError("members of the closed session are still there")
                time.sleep(0.1)

        if "absorb" in phases:
            results["loadavg"]["absorb"] = loadavg()
            proxy = Proxy(binary, "absorb", zk_server.connect, scale_services, args.workers,
                          args.proxy_log_level)
            proxy.start()
            proxy.wait_ready()
            wait_services(proxy, names, 0, args.timeout, args.admin_poll_ms / 1000)
            time.sleep(1.0)
            absorb = {"memory_empty": proxy.memory(), "order": args.order}
            items = resolve(scale_items(args.order))
            perf = PerfRecorder(proxy, "absorb", "absorb" in perf_phases)
            cpu0 = proxy.cpu()
            t0 = time.perf_counter()
            created_s = create_members(zk, items, args.batch)
            t_created = time.perf_counter()
            w = wait_services(proxy, names, M, args.timeout, args.admin_poll_ms / 1000)
            absorb.update({"create_s": created_s, "absorbed_s": w["done"] - t0,
                           "absorbed_lower_s": w["lower"] - t0,
                           "lag_after_last_create_s": w["done"] - t_created, "wait": w,
                           "proxy_cpu_s": proxy.cpu() - cpu0,
                           "publishes_logged": proxy.count_log(r"serverset svc\d+: ") - S})
            perf.finish(results)
            time.sleep(1.0)
            absorb["memory"] = proxy.memory()
            results["absorb"] = absorb
            log(f"absorb: created in {created_s:.2f}s, all routable after {absorb['absorbed_s']:.2f}s "
                f"(lag {absorb['lag_after_last_create_s']:.2f}s), proxy CPU {absorb['proxy_cpu_s']:.1f}s, "
                f"{absorb['publishes_logged']} publishes; {fmt_mem(absorb['memory'])}")
            proxy.stop()
        zk.stop()
        zk.close()
    except HarnessError as e:
        log(f"FAILED: {e}")
        results["error"] = str(e)
        write_results(results, out_stem, args)
        return 1
    finally:
        results["finished_loadavg"] = loadavg()
        REAPER.cleanup()

    write_results(results, out_stem, args)
    return 0


def write_results(results, out_stem, args):
    rows = []

    def verdict(ok):
        return "pass" if ok else "**FAIL**"

    for key, label in (("ttr_small", "1 service"), ("ttr_scale", f"{args.services} services, "
                                                                   f"{args.services * args.members_per_service} members loaded")):
        r = results.get(key)
        if not r:
            continue
        d = dist(r["routable_ms"])
        extra = ""
        if r["timeouts"] or r["wrong_backend"] or r["unexpected_status"]:
            extra = (f"; timeouts {r['timeouts']}, wrong backend {r['wrong_backend']}, "
                     f"unexpected {r['unexpected_status']}")
        extra += (f"; proxy CPU {r['proxy_cpu_s'] * 1000 / (2 * args.trials):.1f} ms per member "
                  f"change (incl. serving ~{sum(r['requests_per_trial']) / max(1, args.trials):.0f} probe requests/trial)")
        ok = d["p99"] <= TARGET_TTR_P99_MS and not r["timeouts"] and len(r["routable_ms"]) == args.trials
        rows.append((f"Time to routable, {label} (p50 / p90 / p99 / max)", f"p99 ≤ {TARGET_TTR_P99_MS:.0f} ms",
                     fmt_dist(d) + extra, verdict(ok)))
        rows.append((f"Time to unroutable after delete, {label}", "—", fmt_dist(dist(r["unroutable_ms"])), ""))
    sync = results.get("sync")
    total = args.services * args.members_per_service
    if sync:
        rows.append((f"Sync at start: {total} members / {args.services} services (from exec)",
                     "—", f"{sync['synced_lower_s']:.2f}–{sync['synced_s']:.2f} s (ready {sync['ready_s']:.2f} s; "
                          f"proxy CPU {sync['cpu_s']:.1f} s)", ""))
        if sync.get("zk_quiet_s"):
            rows.append(("ZooKeeper traffic after start until quiet", "—",
                         f"{sync['zk_requests_until_quiet']} requests over {sync['zk_quiet_s']:.1f} s "
                         f"(includes the quiet-detection window of 2 s)", ""))
    absorb = results.get("absorb")
    if absorb:
        rows.append((f"Absorb {total} creations after start ({absorb['order']})", "—",
                     f"{absorb['absorbed_lower_s']:.2f}–{absorb['absorbed_s']:.2f} s (creating took {absorb['create_s']:.2f} s; "
                     f"lag {absorb['lag_after_last_create_s']:.2f} s; proxy CPU {absorb['proxy_cpu_s']:.1f} s; "
                     f"{absorb['publishes_logged']} host-set publishes)", ""))
    rss = results.get("rss")
    if sync:
        m = sync["memory"]
        rows.append((f"RSS after sync ({total} members)", f"≤ {TARGET_RSS_MB:.0f} MB", fmt_mem(m),
                     verdict(mb(m["VmHWM"]) <= TARGET_RSS_MB)))
    if rss:
        m = rss["after_one_service"]
        rows.append(("RSS + requests to 1 service's versions", "", fmt_mem(m), ""))
        m = rss["after_all_services"]
        rows.append((f"RSS + {args.requests_per_version} requests to every version of every service "
                     f"(over {args.client_connections} client connections; "
                     f"{rss.get('upstream_connections_opened') or 0:.0f} upstream connections opened; "
                     f"{rss.get('workers_that_served', '?')} of {args.workers} workers served them)",
                     f"≤ {TARGET_RSS_MB:.0f} MB", fmt_mem(m) + f" (statuses {rss['statuses_all']})",
                     verdict(mb(m["VmHWM"]) <= TARGET_RSS_MB)))
    if absorb:
        rows.append((f"RSS baseline: {args.services} services, 0 members", "", fmt_mem(absorb["memory_empty"]), ""))
        rows.append((f"RSS after absorbing {total} members", f"≤ {TARGET_RSS_MB:.0f} MB", fmt_mem(absorb["memory"]),
                     verdict(mb(absorb["memory"]["VmHWM"]) <= TARGET_RSS_MB)))
    if results.get("ttr_small", {}).get("memory"):
        rows.append(("RSS baseline: 1 service after its trials", "", fmt_mem(results["ttr_small"]["memory"]), ""))

    lines = [f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']} (shared; load averages per phase: {results['loadavg']}, "
             f"at end {results.get('finished_loadavg')})  ",
             f"canarymesh: `{results['canarymesh']}` built {results['binary_built']} (repo at {results['git']} "
             f"when run), workers {args.workers}; "
             f"{args.versions_per_service} versions per service; time to routable measured on the "
             f"request path (kazoo create() returned -> first 200 with the override header), "
             f"sync/absorb: the watcher's publish lines in the proxy log (else /metrics every "
             f"{args.admin_poll_ms:.0f} ms), then /admin/services to confirm the route table; shown as "
             f"last-publish–confirmed.",
             "",
             "| Measurement | Target | Result | Verdict |",
             "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if results.get("error"):
        lines += ["", f"**Run failed:** {results['error']}"]
    table = "\n".join(lines) + "\n"
    print(table)
    with open(str(out_stem) + ".md", "w") as f:
        f.write(table)
        for phase, reports in results.get("perf", {}).items():
            for sort, report_lines in reports.items():
                f.write(f"\nperf, {phase} phase, cpu-clock samples by {sort}:\n\n```\n"
                        + "\n".join(report_lines) + "\n```\n")
    with open(str(out_stem) + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"results: {out_stem}.md, {out_stem}.json")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
