#!/usr/bin/env python3
"""proxy_latency.py - network programming latency of the node's Service proxy: from an
EndpointSlice write (its endpoints.kubernetes.io/last-change-trigger-time annotation is
set to the moment of the write, as the endpointslice controller does) to the kernel
holding the change, as the agent's proxy measures it (it logs each sample at debug
level; bench/proxy_latency.sh collects them).

  usage: SP_TOKEN=... proxy_latency.py URL CAFILE [--services N] [--rate PER_S] [--seconds S]

N selector-less Services get one slice each (10 endpoints); then RATE slice updates per
second (each moving one endpoint of a Service, round robin) for S seconds.
"""
import argparse
import datetime
import http.client
import json
import ssl
import sys
import time
import urllib.parse

NS = "default"


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


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def slice_obj(i, gen):
    eps = []
    for k in range(10):
        last = (gen % 200) + 10 if k == 9 else k
        n = i * 10 + last
        eps.append({"addresses": ["198.18.%d.%d" % (100 + n // 250 % 100, n % 250 + 1)],
                    "conditions": {"ready": True}, "nodeName": "npl"})
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
    a = ap.parse_args()
    import os
    api = Api(a.url, os.environ["SP_TOKEN"], a.ca)
    for i in range(a.services):
        api.req("POST", "/api/v1/namespaces/%s/services" % NS,
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s%d" % i},
                 "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        api.req("POST", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS, slice_obj(i, 0))
    time.sleep(2)
    t0 = time.monotonic()
    n = 0
    put = []
    while time.monotonic() - t0 < a.seconds:
        i = n % a.services
        w0 = time.monotonic()
        api.req("PUT", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/s%d-x" % (NS, i), slice_obj(i, n + 1))
        put.append((time.monotonic() - w0) * 1e3)
        n += 1
        nxt = t0 + n / a.rate
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
    print("writes=%d rate=%.1f/s" % (n, n / (time.monotonic() - t0)))
    put.sort()
    if put:
        print("PUT round trip (API write, as the client sees it): p50 %.2f ms p99 %.2f ms"
              % (put[len(put) // 2], put[min(len(put) - 1, int(0.99 * (len(put) - 1) + 0.5))]))
    time.sleep(1)


if __name__ == "__main__":
    main()
