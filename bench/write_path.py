#!/usr/bin/env python3
"""write_path.py - where an EndpointSlice write's time goes on its way to the kernel
(bench/proxy_latency.sh with TRACE=1): joins, per write, the client's record (trigger
time, PUT round trip), the API server's debug trace of the request (api: PUT ... committed
at ...) and the agent's network programming sample (proxy: ... trigger T), then prints
p50/p99 of every stage and what the slowest writes spent their time on.

  usage: write_path.py CLIENT_TRACE SERVER_LOG AGENT_LOG

Stages of one write, in order (they add up to the end-to-end latency):
  client send     trigger time set -> the server has the request head (Python's JSON and
                  TLS, loopback, the server's connection thread waking)
  before store    head -> store_txn called (body, auth, decode, validation, admission,
                  managedFields, the JSON dump for the store)
  store queue     store_txn -> the writer takes its group (waiting behind another group's
                  commit, a compaction pass or a WAL checkpoint)
  commit          the group's INSERTs and COMMIT (the fsync of the WAL; apart: the COMMIT)
  watch           commit -> the agent's informer handed the event to the proxy (the watch
                  threads waking, encoding, TLS, the agent's informer reading and parsing)
  agent wait      the event -> the proxy's sync thread taking it
  agent sync      the model of the changed Service and the nft commit
The PUT's answer (wake, answer) runs beside the watch and is printed apart, and so is
"less the COMMIT": each write's end to end minus its own COMMIT, the path as if the fsync
took nothing (a write queued behind another group's slow COMMIT still counts that wait).
"""
import datetime
import re
import sys


def epoch(rfc):
    return datetime.datetime.strptime(rfc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else float("nan")


SRV = re.compile(r"api: PUT \S*/endpointslices/(\S+) (\d+) in ([0-9.]+) ms: before the store ([0-9.]+), "
                 r"store queue ([0-9.]+), commit ([0-9.]+) \(group of (\d+)(?:, COMMIT ([0-9.]+))?\), wake ([0-9.]+), "
                 r"answer ([0-9.]+); committed at ([0-9.]+)")
AGT = re.compile(r"proxy: \S+ network programming latency ([0-9.]+) ms \(event to kernel ([0-9.]+) ms: "
                 r"queued ([0-9.]+), sync ([0-9.]+), cpu ([0-9.]+); trigger (\S+)\)")


def main():
    client = [l.split() for l in open(sys.argv[1]) if l.strip()]
    srv = {}
    for l in open(sys.argv[2], errors="replace"):
        m = SRV.search(l)
        if m:
            srv.setdefault(m.group(1), []).append(m)
    agt = {}
    for l in open(sys.argv[3], errors="replace"):
        m = AGT.search(l)
        if m:
            agt[m.group(6)] = m
    rows = []
    for name, trig, rtt in client:
        q = srv.get(name)
        a = agt.get(trig)
        if not q or not a:
            continue
        s = q.pop(0)
        t = epoch(trig)
        before, queue, commit = float(s.group(4)), float(s.group(5)), float(s.group(6))
        committed = float(s.group(11))
        head = committed - (before + queue + commit) / 1e3
        total, evk = float(a.group(1)), float(a.group(2))
        event = t + (total - evk) / 1e3
        rows.append({
            "end to end": total,
            "client send": (head - t) * 1e3,
            "before store": before,
            "store queue": queue,
            "commit": commit,
            "watch": (event - committed) * 1e3,
            "agent wait": float(a.group(3)),
            "agent sync": float(a.group(4)),
            "(PUT round trip)": float(rtt),
            "(server total)": float(s.group(3)),
            "(group size)": float(s.group(7)),
            "(COMMIT, fsync)": float(s.group(8) or 0),
            "(less the COMMIT)": total - float(s.group(8) or 0),
        })
    if not rows:
        print("write path: no samples joined")
        return 1
    keys = list(rows[0].keys())
    print("write path, %d writes joined: stage p50 / p99 / max ms" % len(rows))
    for k in keys:
        v = [r[k] for r in rows]
        print("  %-18s %8.2f %8.2f %8.2f" % (k, pct(v, 0.5), pct(v, 0.99), max(v)))
    stages = keys[1:8]
    cut = pct([r["end to end"] for r in rows], 0.99)
    slow = [r for r in rows if r["end to end"] >= min(cut, 10.0)]
    print("writes over %.1f ms end to end: %d; their mean ms per stage and how often each was the largest:"
          % (min(cut, 10.0), len(slow)))
    for k in stages:
        if slow:
            mean = sum(r[k] for r in slow) / len(slow)
            top = sum(1 for r in slow if max(stages, key=lambda s: r[s]) == k)
            print("  %-18s mean %7.2f  largest in %d" % (k, mean, top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
