#!/usr/bin/env python3
"""endpoint_latency.py - figures of issue 4 (python3 standard library only).

  1. Time from a pod status write (PATCH .../pods/NAME/status flipping its Ready
     condition) to the updated EndpointSlice reaching a watcher, p50/p99, with
     SERVICES Services of PODS pods each (namespace epbench-a). The same for the
     legacy Endpoints object, and for the pod's own MODIFIED event (the bare watch
     path, for scale).
  2. Bytes written per single-pod change on a BIG-endpoint Service (namespace
     epbench-b): every Endpoints / EndpointSlice object that arrives on the watches
     between the pod write and quiet, its compact JSON size summed, and how many
     slices / Endpoints objects were written.

  usage: SP_TOKEN=... endpoint_latency.py URL CAFILE [--services N] [--pods N] [--samples N]
                             [--big N] [--big-samples N] [--gap-ms N] [--threads N] [--seed N]

  Samples are sequential: one flip, wait (bounded, 5 s) for its slice and Endpoints
  events, then a pause of gap..2*gap ms before the next one. After set-up, one probe pod
  is flipped and flipped back (bounded) so the controller's queue is drained before
  sampling starts; how long that took is reported.
"""
import argparse
import http.client
import ipaddress
import os
import json
import random
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

NS_A = "epbench-a"
NS_B = "epbench-b"
NODE = "epbench-node"
POD_NET = ipaddress.ip_network("198.18.128.0/17")
WAIT_S = 5.0  # bound on waiting for one change to show up


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Api:
    def __init__(self, url, token, ca):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 443
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca)
        self.local = threading.local()

    def conn(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def req(self, method, path, body=None, ctype="application/json"):
        """One request on this thread's keep-alive connection: (status, parsed body or None)."""
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        hdr = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            hdr["Content-Type"] = ctype
        for attempt in range(3):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = self.conn()
            try:
                c.request(method, path, body=data, headers=hdr)
                r = c.getresponse()
                raw = r.read()
                try:
                    obj = json.loads(raw) if raw else None
                except ValueError:
                    obj = {"raw": raw[:300].decode("utf-8", "replace")}
                return r.status, obj
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt == 2:
                    raise
                time.sleep(0.1)

    def must(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        st, obj = self.req(method, path, body, ctype)
        if st not in ok:
            raise RuntimeError("%s %s: %s %s" % (method, path, st, json.dumps(obj)[:300]))
        return obj


def pod_ip(i):
    return str(POD_NET.network_address + 1 + i)


def pod_obj(name, app):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "bench", "ports": [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]}}


def ready_patch(ready, ip=None):
    st = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        st.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
    return {"status": st}


def svc_obj(name, app):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def parallel(api, threads, items, fn, what):
    t0 = time.monotonic()
    errs = []
    with ThreadPoolExecutor(threads) as ex:
        for r in ex.map(lambda it: _safe(fn, it), items):
            if r:
                errs.append(r)
    log("setup: %s: %d in %.1f s%s" % (what, len(items), time.monotonic() - t0,
                                        (", %d errors, first: %s" % (len(errs), errs[0])) if errs else ""))
    if len(errs) > len(items) // 100:
        raise RuntimeError("too many setup errors")


def _safe(fn, it):
    try:
        fn(it)
        return None
    except Exception as e:  # noqa: BLE001 - reported by parallel()
        return str(e)[:300]


class Watcher:
    """Streams watches, records arrival times (time.monotonic()) of Ready transitions per
    pod address in slices and Endpoints, per pod name in pods, and a log of every
    Endpoints/EndpointSlice event (time, kind, namespace, name, type, compact size)."""

    def __init__(self, api, rv):
        self.api = api
        self.cv = threading.Condition()
        self.slice_ready = {}   # ip -> (t, ready) of the last transition seen in a slice
        self.ep_ready = {}      # ip -> (t, ready) in an Endpoints object
        self.pod_ready = {}     # ns/name -> (t, ready) from the pod watch
        self.events = []        # (t, kind, ns, name, type, bytes)
        self.stop = False
        self.errors = []
        self.threads = []
        for path, fn in (("/apis/discovery.k8s.io/v1/endpointslices", self.on_slice),
                         ("/api/v1/endpoints", self.on_ep),
                         ("/api/v1/namespaces/%s/pods" % NS_A, self.on_pod)):
            t = threading.Thread(target=self.run, args=(path, fn, rv), daemon=True)
            t.start()
            self.threads.append(t)

    def run(self, path, fn, rv):
        reconnects = 0
        while not self.stop and reconnects < 20:
            c = self.api.conn(timeout=3600)
            try:
                c.request("GET", "%s?watch=true&resourceVersion=%s&timeoutSeconds=3600" % (path, rv),
                          headers={"Authorization": "Bearer " + self.api.token, "Accept": "application/json"})
                r = c.getresponse()
                if r.status != 200:
                    self.errors.append("watch %s: HTTP %d %s" % (path, r.status, r.read()[:200]))
                    return
                while not self.stop:
                    line = r.readline()
                    t = time.monotonic()
                    if not line:
                        break
                    if not line.strip():
                        continue
                    ev = json.loads(line)
                    obj = ev.get("object") or {}
                    if ev.get("type") == "ERROR":
                        self.errors.append("watch %s: ERROR event %s" % (path, json.dumps(obj)[:200]))
                        break
                    rv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if ev.get("type") == "BOOKMARK":
                        continue
                    fn(t, ev["type"], obj)
            except Exception as e:  # noqa: BLE001
                if not self.stop:
                    self.errors.append("watch %s: %s" % (path, e))
            finally:
                c.close()
            reconnects += 1
            if not self.stop:
                self.errors.append("watch %s: stream ended, re-watching from %s" % (path, rv))

    def _log(self, t, kind, typ, obj):
        md = obj.get("metadata", {})
        size = len(json.dumps(obj, separators=(",", ":")).encode())
        self.events.append((t, kind, md.get("namespace", ""), md.get("name", ""), typ, size))

    def _set(self, table, key, t, ready):
        cur = table.get(key)
        if cur is None or cur[1] != ready:
            table[key] = (t, ready)
            return True
        return False

    def on_slice(self, t, typ, obj):
        with self.cv:
            self._log(t, "EndpointSlice", typ, obj)
            if typ == "DELETED":
                return
            for ep in obj.get("endpoints") or []:
                r = bool((ep.get("conditions") or {}).get("ready"))
                for a in ep.get("addresses") or []:
                    self._set(self.slice_ready, a, t, r)
            self.cv.notify_all()

    def on_ep(self, t, typ, obj):
        with self.cv:
            self._log(t, "Endpoints", typ, obj)
            if typ == "DELETED":
                return
            for ss in obj.get("subsets") or []:
                for a in ss.get("addresses") or []:
                    self._set(self.ep_ready, a.get("ip"), t, True)
                for a in ss.get("notReadyAddresses") or []:
                    self._set(self.ep_ready, a.get("ip"), t, False)
            self.cv.notify_all()

    def on_pod(self, t, typ, obj):
        md = obj.get("metadata", {})
        r = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in (obj.get("status") or {}).get("conditions") or [])
        with self.cv:
            self._set(self.pod_ready, md.get("namespace", "") + "/" + md.get("name", ""), t, r)
            self.cv.notify_all()

    def wait(self, table, key, ready, deadline):
        """Arrival time of the transition of key to ready, or None at the deadline."""
        with self.cv:
            while True:
                cur = table.get(key)
                if cur is not None and cur[1] == ready:
                    return cur[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def quiet(self, ns, since_idx, quiet_s, deadline):
        """Waits until no Endpoints/EndpointSlice event of ns arrived for quiet_s (bounded)."""
        while time.monotonic() < deadline:
            with self.cv:
                last = max([e[0] for e in self.events[since_idx:] if e[2] == ns] or [0])
            if time.monotonic() - last >= quiet_s:
                return True
            time.sleep(0.02)
        return False


def pct(v, p):
    if not v:
        return float("nan")
    s = sorted(v)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def settle(api, ns, want_ready, want_svcs, limit_s):
    """Waits until the slices of ns hold want_ready ready endpoints of want_svcs Services."""
    t0 = time.monotonic()
    while True:
        lst = api.must("GET", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns)
        items = lst.get("items") or []
        ready = sum(1 for s in items for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))
        svcs = {(s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") for s in items}
        if ready == want_ready and len(svcs) == want_svcs:
            log("setup: %s settled: %d slices, %d ready endpoints, %.1f s after the last write" %
                (ns, len(items), ready, time.monotonic() - t0))
            return lst
        if time.monotonic() - t0 > limit_s:
            raise RuntimeError("%s did not settle in %d s: %d slices, %d ready endpoints, %d services" %
                               (ns, limit_s, len(items), ready, len(svcs)))
        time.sleep(0.5)


def flip(api, w, ns, name, ip, ready, want_ep, ep_wait=WAIT_S):
    """Flips one pod's Ready to `ready`; returns (slice_ms, endpoints_ms, pod_ms), None for a miss."""
    t0 = time.monotonic()
    api.must("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name), ready_patch(ready),
             "application/merge-patch+json", ok=(200,))
    ts = w.wait(w.slice_ready, ip, ready, t0 + WAIT_S)
    te = w.wait(w.ep_ready, ip, ready, t0 + ep_wait) if want_ep else None
    tp = w.wait(w.pod_ready, ns + "/" + name, ready, t0 + 0.5) if ns == NS_A else None
    ms = lambda t: (t - t0) * 1000.0 if t is not None else None  # noqa: E731
    return ms(ts), ms(te), ms(tp)


def drain(api, w, ns, probe, limit_s=300):
    """Flips the probe pod to not ready and back, each waited for up to limit_s: the
    controller has then worked through whatever set-up left in its queue."""
    name, _, ip = probe
    for r in (False, True):
        t0 = time.monotonic()
        api.must("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name), ready_patch(r),
                 "application/merge-patch+json", ok=(200,))
        t = w.wait(w.slice_ready, ip, r, t0 + limit_s)
        if t is None:
            raise RuntimeError("%s: probe pod %s ready=%s not in a slice after %d s" % (ns, name, r, limit_s))
        log("setup: %s: probe flip ready=%s reached a slice watcher after %.2f s (controller backlog)" %
            (ns, r, t - t0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("ca")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=10)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--big", type=int, default=5000)
    ap.add_argument("--big-samples", type=int, default=30)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap-ms", type=float, default=100)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    token = os.environ.get("SP_TOKEN", "")
    if not token:
        sys.exit("SP_TOKEN is not set")
    api = Api(a.url, token, a.ca)
    t_start = time.monotonic()

    for ns in (NS_A, NS_B):
        api.must("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                 ok=(200, 201, 409))
    api.must("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}},
             ok=(200, 201, 409))

    # ---- part 1: SERVICES x PODS; pods (and their status) first, then the Services ----
    n = a.services * a.pods
    pods_a = [("s%d-p%d" % (i, j), "s%d" % i, pod_ip(i * a.pods + j)) for i in range(a.services) for j in range(a.pods)]
    parallel(api, a.threads, pods_a,
             lambda p: api.must("POST", "/api/v1/namespaces/%s/pods" % NS_A, pod_obj(p[0], p[1])), "create pods")
    parallel(api, a.threads, pods_a,
             lambda p: api.must("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (NS_A, p[0]),
                                ready_patch(True, p[2]), "application/merge-patch+json", ok=(200,)), "pod status")
    parallel(api, a.threads, list(range(a.services)),
             lambda i: api.must("POST", "/api/v1/namespaces/%s/services" % NS_A, svc_obj("s%d" % i, "s%d" % i)),
             "create services")
    lst = settle(api, NS_A, n, a.services, 240)
    rv = lst["metadata"]["resourceVersion"]
    w = Watcher(api, rv)
    time.sleep(0.5)
    drain(api, w, NS_A, pods_a[0])

    ready = {p[0]: True for p in pods_a}
    lat_s, lat_e, lat_p, miss_s, miss_e = [], [], [], 0, 0
    lost = set()
    t1 = time.monotonic()
    for k in range(a.samples):
        if time.monotonic() - t1 > 300:
            log("part 1: stopped after %d samples (300 s bound)" % k)
            break
        for _ in range(100):
            name, _, ip = rnd.choice(pods_a)
            if name not in lost:
                break
        ready[name] = not ready[name]
        s, e, p = flip(api, w, NS_A, name, ip, ready[name], True)
        if s is None:
            miss_s += 1
            lost.add(name)
            log("part 1: sample %d: pod %s ready=%s: no slice event within %.0f s" % (k, name, ready[name], WAIT_S))
        else:
            lat_s.append(s)
        if e is None:
            miss_e += 1
            lost.add(name)
            log("part 1: sample %d: pod %s ready=%s: no Endpoints event within %.0f s" % (k, name, ready[name], WAIT_S))
        else:
            lat_e.append(e)
        if p is not None:
            lat_p.append(p)
        time.sleep((a.gap_ms + rnd.random() * a.gap_ms) / 1000.0)
    print("endpointslice latency services=%d pods=%d samples=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f missed=%d" %
          (a.services, n, len(lat_s), pct(lat_s, 50), pct(lat_s, 99), max(lat_s or [float("nan")]), miss_s),
          flush=True)
    print("endpoints latency services=%d pods=%d samples=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f missed=%d" %
          (a.services, n, len(lat_e), pct(lat_e, 50), pct(lat_e, 99), max(lat_e or [float("nan")]), miss_e),
          flush=True)
    print("pod watch latency (same writes, for scale) samples=%d p50_ms=%.2f p99_ms=%.2f" %
          (len(lat_p), pct(lat_p, 50), pct(lat_p, 99)), flush=True)

    # ---- part 2: one Service over BIG pods ----
    pods_b = [("big-p%d" % j, "big", pod_ip(n + j)) for j in range(a.big)]
    parallel(api, a.threads, pods_b,
             lambda p: api.must("POST", "/api/v1/namespaces/%s/pods" % NS_B, pod_obj(p[0], p[1])), "create big pods")
    parallel(api, a.threads, pods_b,
             lambda p: api.must("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (NS_B, p[0]),
                                ready_patch(True, p[2]), "application/merge-patch+json", ok=(200,)), "big pod status")
    api.must("POST", "/api/v1/namespaces/%s/services" % NS_B, svc_obj("big", "big"))
    lst = settle(api, NS_B, a.big, 1, 240)
    drain(api, w, NS_B, pods_b[0])
    nslices = len(lst.get("items") or [])
    ep = api.must("GET", "/api/v1/namespaces/%s/endpoints/big" % NS_B)
    in_ep = {x.get("ip") for ss in ep.get("subsets") or [] for x in (ss.get("addresses") or []) +
             (ss.get("notReadyAddresses") or [])}
    log("part 2: %d slices; Endpoints holds %d addresses; annotations %s" %
        (nslices, len(in_ep), json.dumps(ep.get("metadata", {}).get("annotations") or {})))
    # let the watcher drain the set-up events, then measure each flip from write to quiet
    w.quiet(NS_B, 0, 0.5, time.monotonic() + 30)
    ready = {p[0]: True for p in pods_b}
    per = []  # (slices_written, slice_bytes, eps_written, ep_bytes, slice_ms, ep_ms)
    for k in range(a.big_samples):
        name, _, ip = rnd.choice(pods_b)
        ready[name] = not ready[name]
        with w.cv:
            idx = len(w.events)
        s, e, _ = flip(api, w, NS_B, name, ip, ready[name], ip in in_ep, ep_wait=1.0)
        w.quiet(NS_B, idx, 0.3, time.monotonic() + 5)
        with w.cv:
            evs = [x for x in w.events[idx:] if x[2] == NS_B]
        sl = [x for x in evs if x[1] == "EndpointSlice"]
        eps = [x for x in evs if x[1] == "Endpoints"]
        per.append((len({x[3] for x in sl}), sum(x[5] for x in sl), len(eps), sum(x[5] for x in eps), s, e,
                    len(sl)))
        if s is None:
            log("part 2: sample %d: pod %s ready=%s: no slice event within %.0f s" % (k, name, ready[name], WAIT_S))
        time.sleep((a.gap_ms + rnd.random() * a.gap_ms) / 1000.0)
    if per:
        med = lambda i: pct([x[i] for x in per], 50)  # noqa: E731
        mean = lambda i: sum(x[i] for x in per) / len(per)  # noqa: E731
        mx = lambda i: max(x[i] for x in per)  # noqa: E731
        tot = [x[1] + x[3] for x in per]
        lat = [x[4] for x in per if x[4] is not None]
        print("single-pod change on %d-endpoint service: changes=%d slices=%d slices_written=%d (max %d, slice writes max %d) "
              "endpoints_written=%.2f (max %d) bytes_written=%d (mean; max %d) slice_p50_ms=%.1f slice_max_ms=%.1f" %
              (a.big, len(per), nslices, med(0), mx(0), mx(6), mean(2), mx(2), sum(tot) / len(tot), max(tot),
               pct(lat, 50), max(lat or [float("nan")])), flush=True)
        print("single-pod change on %d-endpoint service, EndpointSlices only: slices_written=%d (max %d) "
              "bytes_written=%d (mean; max %d)" % (a.big, med(0), mx(0), mean(1), mx(1)), flush=True)
        late = [x[5] for x in per if x[5] is not None]
        print("single-pod change on %d-endpoint service, Endpoints object (legacy; %d of %d addresses kept, over-capacity): "
              "endpoints_written=%.2f (max %d; %d of %d changes wrote it) bytes_written=%d (mean; max %d, %d per write)" %
              (a.big, len(in_ep), a.big, mean(2), mx(2), sum(1 for x in per if x[2]), len(per), mean(3), mx(3),
               (sum(x[3] for x in per) / max(1, sum(x[2] for x in per)))), flush=True)
    w.stop = True
    for err in w.errors:
        log("watcher: " + err)
    log("total %.1f s" % (time.monotonic() - t_start))


if __name__ == "__main__":
    main()
