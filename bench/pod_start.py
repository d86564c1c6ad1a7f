#!/usr/bin/env python3
"""Pod start to Ready: creates N pods (no probes; `sleep` from the host) bound to one
node and measures, per pod, the time from sending the create to a watcher seeing
Ready=True with a podIP. Prints p50/p99. Standard library only.
MODE burst (default) sends all creates back to back; serial waits for each pod to be
Ready before creating the next, so each figure is one pod's own latency.
usage: pod_start.py URL TOKEN CAFILE NODE N [burst|serial]"""
import json, ssl, sys, threading, time, urllib.request

url, token, ca, node, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
mode = sys.argv[6] if len(sys.argv) > 6 else "burst"
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
sent, ready = {}, {}
lock = threading.Lock()

def req(method, path, body=None):
    r = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None, method=method, headers=hdr)
    return json.load(urllib.request.urlopen(r, context=ctx, timeout=30))

rv = req("GET", "/api/v1/namespaces/default/pods")["metadata"]["resourceVersion"]

def watch():
    r = urllib.request.Request(url + "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%s&timeoutSeconds=120" % rv, headers=hdr)
    for line in urllib.request.urlopen(r, context=ctx, timeout=130):
        ev = json.loads(line)
        o = ev["object"]
        name = o["metadata"]["name"]
        st = o.get("status", {})
        ok = st.get("podIP") and any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions", []))
        if ok:
            with lock:
                if name not in ready:
                    ready[name] = time.monotonic()
                    if len(ready) == n:
                        return

t = threading.Thread(target=watch, daemon=True)
t.start()
time.sleep(0.3)
for i in range(n):
    name = "bench-%d" % i
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "none", "command": ["sleep", "3600"]}]}}
    sent[name] = time.monotonic()
    req("POST", "/api/v1/namespaces/default/pods", body)
    if mode == "serial":
        d = time.monotonic() + 10
        while name not in ready and time.monotonic() < d:
            time.sleep(0.001)
deadline = time.monotonic() + 120
while time.monotonic() < deadline and len(ready) < n:
    time.sleep(0.05)
lat = sorted((ready[k] - sent[k]) * 1000 for k in ready)
if not lat:
    print("pod start: no pod became ready"); sys.exit(1)
print("pod start to Ready (%s): pods=%d ready=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" %
      (mode, n, len(lat), lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]))
