#!/usr/bin/env python3
"""dns_programming.py - time from a Service create (the API's 201) to the DNS server
answering its name, and from the Service's delete to NXDOMAIN (python3 standard library).

  usage: SP_TOKEN=... dns_programming.py URL CAFILE DNSPORT [--samples N]

Each sample: POST a Service dnsprog-<i> in namespace default, then ask
dnsprog-<i>.default.svc.cluster.local A over UDP on 127.0.0.1:DNSPORT every 0.2 ms
until the answer carries its cluster IP (bounded, 30 s); then DELETE it and ask until
NXDOMAIN. Prints p50/p99/max of both, in ms.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import statistics
import struct
import sys
import time
import urllib.parse


def query(sock, port, name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    sock.sendto(q, ("127.0.0.1", port))
    # Replies to earlier (timed-out) questions may still arrive: skip them.
    while True:
        try:
            r, _ = sock.recvfrom(4096)
        except socket.timeout:
            return None
        if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
            break
    rcode = r[3] & 0xF
    ancount = struct.unpack(">H", r[6:8])[0]
    ip = None
    if ancount and len(r) >= 4:
        ip = socket.inet_ntoa(r[-4:])
    return rcode, ip


def wait(sock, port, name, want_rcode, want_ip):
    t0 = time.monotonic()
    qid = 1
    while time.monotonic() - t0 < 30:
        qid = (qid + 1) & 0xFFFF
        r = query(sock, port, name, qid)
        if r and r[0] == want_rcode and (want_ip is None or r[1] == want_ip):
            return (time.monotonic() - t0) * 1e3
        time.sleep(0.0002)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("ca")
    ap.add_argument("port", type=int)
    ap.add_argument("--samples", type=int, default=100)
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    ctx = ssl.create_default_context(cafile=a.ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
    hdr = {"Authorization": "Bearer " + os.environ["SP_TOKEN"], "Content-Type": "application/json"}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.05)
    add, rm = [], []
    for i in range(a.samples):
        name = "dnsprog-%d" % i
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"ports": [{"port": 80}]}}
        conn.request("POST", "/api/v1/namespaces/default/services", json.dumps(body), hdr)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 201:
            sys.exit("create %s: %d %s" % (name, resp.status, data))
        fq = name + ".default.svc.cluster.local"
        ms = wait(sock, a.port, fq, 0, data["spec"]["clusterIP"])
        if ms is None:
            sys.exit("%s never answered" % fq)
        add.append(ms)
        conn.request("DELETE", "/api/v1/namespaces/default/services/" + name, None, hdr)
        resp = conn.getresponse()
        resp.read()
        ms = wait(sock, a.port, fq, 3, None)
        if ms is None:
            sys.exit("%s never became NXDOMAIN" % fq)
        rm.append(ms)
    for what, v in (("create -> answered", add), ("delete -> NXDOMAIN", rm)):
        v.sort()
        print("%s: p50_ms=%.2f p99_ms=%.2f max_ms=%.2f n=%d" % (
            what, statistics.median(v), v[min(len(v) - 1, int(len(v) * 0.99))], v[-1], len(v)))


if __name__ == "__main__":
    main()
