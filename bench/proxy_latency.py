#!/usr/bin/env python3
"""proxy_latency.py - network programming latency of the node's Service proxy: from an
EndpointSlice write (its endpoints.kubernetes.io/last-change-trigger-time annotation is
set to the moment of the write, as the endpointslice controller does) to the kernel
holding the change, as the agent's proxy measures it (it logs each sample at debug
level; bench/proxy_latency.sh collects them).

  usage: SP_TOKEN=... proxy_latency.py URL CAFILE [--services N] [--rate PER_S] [--seconds S]
                                        [--trace FILE] [--settle CMD] [--finish CMD]

N selector-less Services get one slice each (10 endpoints); then RATE slice updates per
second (each moving one endpoint of a Service, round robin) for S seconds. With
--settle, the measured phase starts only once the shell command CMD succeeds (polled:
the agent has programmed the set-up, which takes minutes for iptables at 10,000
Services); with --finish, a last Service "fin" is created after the measured phase and
the script waits until CMD succeeds (the agent has programmed it, and so every write
before it: the informer sees writes in order and a sync reads its whole state).
"""
import argparse
import datetime
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

NS = "default"
TARGET_REF = bool(os.environ.get("TARGET_REF"))


class Api:
    def __init__(self, url, token, ca):
        u = urllib.parse.urlparse(url)
        self.c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca),
                                             timeout=30)
        self.h = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                  "Accept": "application/json"}

    def req(self, method, path, body=None):
        self.c.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.h)
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:200]))
        return json.loads(data) if data else None


def cpu_ms(pid):
    """User + system CPU time of a process so far, in ms."""
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def slice_obj(i, gen):
    eps = []
    for k in range(10):
        last = (gen % 200) + 10 if k == 9 else k
        n = i * 10 + last
        ep = {"addresses": ["198.18.%d.%d" % (100 + n // 250 % 100, n % 250 + 1)],
              "conditions": {"ready": True}, "nodeName": "npl"}
        if TARGET_REF:
            # As the endpointslice controller writes them: every endpoint names its Pod.
            ep["targetRef"] = {"kind": "Pod", "namespace": NS, "name": "s%d-pod-%d" % (i, last),
                               "uid": "00000000-0000-4000-8000-%012d" % n}
        eps.append(ep)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "s%d-x" % i, "namespace": NS, "labels": {"kubernetes.io/service-name": "s%d" % i},
                         "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_rfc3339()}},
            "addressType": "IPv4", "endpoints": eps, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("ca")
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--cpu", help="NAME=PID,...: print each process's CPU time per measured write")
    ap.add_argument("--fsync-probe", help="DIR: after the writes, time 300 fdatasyncs of a 4 KB write in DIR "
                    "(the disk alone, at the time of the run)")
    ap.add_argument("--trace", help="write one line per measured PUT: slice name, trigger time, round trip ms")
    ap.add_argument("--settle", default=None)
    ap.add_argument("--finish", default=None)
    a = ap.parse_args()
    api = Api(a.url, os.environ["SP_TOKEN"], a.ca)
    def setup(part):
        # Four connections share the set-up (the Services are not measured).
        c = Api(a.url, os.environ["SP_TOKEN"], a.ca)
        for i in range(part, a.services, 4):
            c.req("POST", "/api/v1/namespaces/%s/services" % NS,
                  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s%d" % i},
                   "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
            c.req("POST", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS, slice_obj(i, 0))
    import threading
    ths = [threading.Thread(target=setup, args=(k,)) for k in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    time.sleep(2)
    procs = [kv.split("=") for kv in a.cpu.split(",")] if a.cpu else []
    # Let the server and the agent finish with the set-up's backlog (at most 60 s): the
    # measured phase starts when they used under 5% of a core for half a second.
    for _ in range(120):
        c0 = sum(cpu_ms(p) for _, p in procs)
        time.sleep(0.5)
        if sum(cpu_ms(p) for _, p in procs) - c0 < 25:
            break
    procs.append(("client", str(os.getpid())))
    cpu0 = [cpu_ms(p) for _, p in procs]
    perf = None
    if os.environ.get("PERF_OUT") and procs:
        # A profile of the measured phase only (bench/proxy_latency.sh PERF_OUT=FILE).
        import signal
        import subprocess
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-o", os.environ["PERF_OUT"], "-p",
                                 ",".join(p for _, p in procs[:-1])], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
    if a.settle:
        print("set-up programmed after %.1f s" % wait_cmd(a.settle), flush=True)
    t0 = time.monotonic()
    n = 0
    put = []
    trace = []
    while time.monotonic() - t0 < a.seconds:
        i = n % a.services
        w0 = time.monotonic()
        body = slice_obj(i, n + 1)
        api.req("PUT", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/s%d-x" % (NS, i), body)
        put.append((time.monotonic() - w0) * 1e3)
        if a.trace:
            trace.append("s%d-x %s %.3f" % (i, body["metadata"]["annotations"][
                "endpoints.kubernetes.io/last-change-trigger-time"], put[-1]))
        n += 1
        nxt = t0 + n / a.rate
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
    print("writes=%d rate=%.1f/s" % (n, n / (time.monotonic() - t0)))
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
    if procs:
        print("CPU per write: " + ", ".join("%s %.2f ms" % (name, (cpu_ms(p) - c) / max(n, 1))
                                           for (name, p), c in zip(procs, cpu0)))
    put.sort()
    if put:
        print("PUT round trip (API write, as the client sees it): p50 %.2f ms p99 %.2f ms"
              % (put[len(put) // 2], put[min(len(put) - 1, int(0.99 * (len(put) - 1) + 0.5))]))
    if a.fsync_probe:
        path = os.path.join(a.fsync_probe, "fsync-probe")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        lat = []
        for k in range(300):
            os.pwrite(fd, b"x" * 4096, (k % 64) * 4096)
            f0 = time.monotonic()
            os.fdatasync(fd)
            lat.append((time.monotonic() - f0) * 1e3)
        os.close(fd)
        os.unlink(path)
        lat.sort()
        print("disk alone (fdatasync of 4 KB, right after): p50 %.2f ms p99 %.2f ms max %.2f ms"
              % (lat[len(lat) // 2], lat[int(0.99 * (len(lat) - 1) + 0.5)], lat[-1]))
    if a.trace:
        with open(a.trace, "w") as f:
            f.write("\n".join(trace) + "\n")
    time.sleep(1)
    if a.finish:
        api.req("POST", "/api/v1/namespaces/%s/services" % NS,
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fin"},
                 "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        fin = slice_obj(a.services, 0)
        fin["metadata"]["name"] = "fin-x"
        fin["metadata"]["labels"]["kubernetes.io/service-name"] = "fin"
        api.req("POST", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS, fin)
        print("every write programmed %.1f s after the last" % wait_cmd(a.finish), flush=True)


def wait_cmd(cmd, bound_s=3600):
    """Polls the shell command cmd every 0.2 s until it succeeds (bounded); seconds waited."""
    t = time.monotonic()
    while subprocess.call(cmd, shell=True) != 0:
        if time.monotonic() - t > bound_s:
            raise RuntimeError("not within %d s: %s" % (bound_s, cmd))
        time.sleep(0.2)
    return time.monotonic() - t


if __name__ == "__main__":
    main()
