#!/usr/bin/env python3
"""rbac_latency.py - request latency of one keep-alive HTTPS client, as the admin (group
system:masters: no RBAC evaluation) or as a certificate user (RBAC evaluated).

usage: rbac_latency.py PORT CA PATH N (--token T | --cert CRT KEY)
GETs PATH N times on one connection after 50 warm-up requests; every answer must be 200.
Prints "p50_ms p99_ms mean_ms". Loopback only, bounded by N.
"""
import http.client, ssl, statistics, sys, time

port, ca, path, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
headers = {}
if sys.argv[5] == "--token":
    headers["Authorization"] = "Bearer " + sys.argv[6]
else:
    ctx.load_cert_chain(sys.argv[6], sys.argv[7])
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
lat = []
for i in range(n + 50):
    t = time.perf_counter()
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("status %d on %s" % (r.status, path))
    if i >= 50:
        lat.append((time.perf_counter() - t) * 1000)
lat.sort()
print("%.3f %.3f %.3f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)], statistics.mean(lat)))
