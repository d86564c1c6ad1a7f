# uproxy_sched.py KIND ARGS...: checks one scheduler of the userspace proxy against its
# definition with real connections (backends: tests/integ/uproxy_backend.py, which greets
# each connection with its name), in a way every other scheduler would fail. Prints
# "ok DETAIL" and exits 0, or "FAIL WHY" and exits 1. Every socket operation is bounded
# by 5 s, every wait by 60 s.
#
#   rr HOST PORT N
#       N connections one after another take exact turns: the sequence has the period of
#       the backend count and no backend twice in a row (lc/sed/nq keep to the first idle
#       one, random repeats, dh/sh/mh keep one).
#   least HOST PORT METRICS_URL TOKEN_FILE          (lc, sed and nq: with weight 1, as
#       Kubernetes endpoints have, all three pick the backend with the fewest active
#       connections, the first idle one first)
#       9 connections held together spread 3 per backend; the 6 not on the first one's
#       backend X are closed (waiting for the proxy's connections_active gauge to say so);
#       6 more held then go 3 and 3 to the two idle backends and none to X (rr: 2 each).
#   random HOST PORT N
#       N (>= 60) connections one after another reach every backend at least N/12 times
#       and repeat a backend back to back at least once (rr never does).
#   sh|mh HOST PORT SRCS BPORT BACKENDS
#       from each source address of SRCS (comma-separated), two connections reach exactly
#       the backend the definition computes for that source (sh: bucket
#       hash_32(saddr) of a 256-entry table filled with the backends in address order;
#       mh: Maglev's table of 65537 slots built from the backends' address|port, slot by
#       a hash of saddr, as src/proxy/sched.c). BACKENDS: ip=name,... (BPORT: their port).
#       The sources must map to more than one backend (else the check tells nothing).
#   dh PORT DSTS SRCS BPORT BACKENDS
#       from the first source to each destination address of DSTS, and from every source
#       to the first destination, each connection reaches the backend of bucket
#       ntohl(daddr) * 2654435761 of the destination (sh would follow the source). Several
#       destinations must map to more than one backend.
import ipaddress, os, socket, ssl, sys, time, urllib.request

M64 = (1 << 64) - 1
MH_SIZE = 65537


def conn(host, port, src=None):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    f = s.makefile("rwb")
    return s, f, f.readline().decode().strip()


def name_of(host, port, src=None):
    s, f, name = conn(host, port, src)
    f.close()
    s.close()
    return name


def echoes(s, f):
    f.write(b"ping\n")
    f.flush()
    return f.readline() == b"ping\n"


def done(ok, msg):
    print(("ok " if ok else "FAIL ") + msg, flush=True)
    sys.exit(0 if ok else 1)


def counts(names):
    c = {}
    for n in names:
        c[n] = c.get(n, 0) + 1
    return dict(sorted(c.items()))


# ---- the definitions, as src/proxy/sched.c implements IPVS's and Maglev's ----


def fnv1a(data, h):
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def mix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def backends(spec):
    """ip=name,... -> [(packed ip, name)] in address order (the proxy's list order)."""
    out = []
    for item in spec.split(","):
        ip, name = item.split("=")
        out.append((ipaddress.ip_address(ip), name))
    out.sort(key=lambda t: t[0])
    return [(ip.packed, name) for ip, name in out]


def sh_pick(bes, src):
    bucket = ((int(ipaddress.ip_address(src)) * 0x61C88647) & 0xFFFFFFFF) >> 24
    return bes[bucket % len(bes)][1]


def dh_pick(bes, dst):
    bucket = (int(ipaddress.ip_address(dst)) * 2654435761) & 0xFF
    return bes[bucket % len(bes)][1]


def mh_table(bes, port):
    def dh(ip, seed):
        return mix64(fnv1a(port.to_bytes(2, sys.byteorder), fnv1a(ip, seed)))

    n = len(bes)
    off = [dh(ip, 0xCBF29CE484222325) % MH_SIZE for ip, _ in bes]
    skip = [dh(ip, 0x84222325CBF29CE4) % (MH_SIZE - 1) + 1 for ip, _ in bes]
    nxt = [0] * n
    tab = [-1] * MH_SIZE
    filled = 0
    while filled < MH_SIZE:
        for i in range(n):
            if filled >= MH_SIZE:
                break
            while True:
                c = (off[i] + nxt[i] * skip[i]) % MH_SIZE
                nxt[i] += 1
                if tab[c] < 0:
                    break
            tab[c] = i
            filled += 1
    return tab


def mh_pick(bes, tab, src):
    h = mix64(fnv1a(ipaddress.ip_address(src).packed, 0xCBF29CE484222325))
    return bes[tab[h % MH_SIZE]][1]


# ---- the checks ----


def check_rr(host, port, n):
    names = [name_of(host, port) for _ in range(n)]
    k = len(set(names))
    turns = k > 1 and all(names[i] == names[i - k] for i in range(k, n)) and len(set(names[:k])) == k
    done(turns, "%d connections in exact turns over %d backends: %s" % (n, k, " ".join(names)))


def metric(url, token, name):
    """The value of metric name on the agent's /metrics at url (bearer token), or -1."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
    return -1


def active(url, token):
    return metric(url, token, "svcplane_uproxy_connections_active")


def wait_active(url, token, want):
    end, now = time.time() + 60, -1
    while time.time() < end:
        now = active(url, token)
        if now == want:
            break
        time.sleep(0.2)
    return now


def check_least(host, port, url, token_file):
    token = open(token_file).read().strip()
    # Connections of earlier checks the proxy has not seen close yet would count.
    now = wait_active(url, token, 0)
    if now != 0:
        done(False, "the proxy still counts %d active connections before the check" % now)
    held = [conn(host, port) for _ in range(9)]
    first = counts(n for _, _, n in held)
    if sorted(first.values()) != [3, 3, 3]:
        done(False, "9 held connections should spread 3 per backend, got %s" % first)
    x = held[0][2]
    keep = [h for h in held if h[2] == x]
    for s, f, n in held:
        if n != x:
            f.close()
            s.close()
    now = wait_active(url, token, len(keep))
    if now != len(keep):
        done(False, "the proxy still counts %d active connections, want %d" % (now, len(keep)))
    more = [conn(host, port) for _ in range(6)]
    got = counts(n for _, _, n in more)
    want = sorted(v for k, v in first.items() if k != x)
    ok = x not in got and len(got) == 2 and sorted(got.values()) == want
    ok = ok and all(echoes(s, f) for s, f, _ in keep + more)
    done(ok, "with %s holding 3, 6 new held connections went %s (want 3 to each idle backend, none to %s)"
         % (x, got, x))


def check_random(host, port, n):
    names = [name_of(host, port) for _ in range(n)]
    c = counts(names)
    repeats = sum(1 for i in range(1, n) if names[i] == names[i - 1])
    ok = len(c) >= 3 and min(c.values()) >= n // 12 and repeats > 0
    done(ok, "%d connections: %s, %d back-to-back repeats" % (n, c, repeats))


def check_src(kind, host, port, srcs, bport, spec):
    bes = backends(spec)
    tab = mh_table(bes, bport) if kind == "mh" else None
    want = {s: (mh_pick(bes, tab, s) if tab else sh_pick(bes, s)) for s in srcs}
    if len(set(want.values())) < 2:
        done(False, "the test's sources all map to one backend: pick other addresses")
    bad = []
    for s in srcs:
        got = [name_of(host, port, s) for _ in range(2)]
        if got != [want[s]] * 2:
            bad.append("%s: want %s got %s" % (s, want[s], " ".join(got)))
    done(not bad, "; ".join(bad) if bad else "%d sources each on its computed backend (%s)"
         % (len(srcs), counts(want.values())))


def check_dh(port, dsts, srcs, bport, spec):
    bes = backends(spec)
    want = {d: dh_pick(bes, d) for d in dsts}
    if len(dsts) > 1 and len(set(want.values())) < 2:
        done(False, "the test's destinations all map to one backend: pick other addresses")
    bad = []
    tries = [(srcs[0], d) for d in dsts for _ in range(2)] + [(s, dsts[0]) for s in srcs[1:]]
    for s, d in tries:
        got = name_of(d, port, s)
        if got != want[d]:
            bad.append("%s -> %s: want %s got %s" % (s, d, want[d], got))
    done(not bad, "; ".join(bad) if bad else "%d connections each on its destination's backend (%s)"
         % (len(tries), counts(want.values())))


def main(a):
    kind = a[0]
    if kind == "rr":
        check_rr(a[1], int(a[2]), int(a[3]))
    elif kind == "least":
        check_least(a[1], int(a[2]), a[3], a[4])
    elif kind == "random":
        check_random(a[1], int(a[2]), int(a[3]))
    elif kind in ("sh", "mh"):
        check_src(kind, a[1], int(a[2]), a[3].split(","), int(a[4]), a[5])
    elif kind == "dh":
        check_dh(int(a[1]), a[2].split(","), a[3].split(","), int(a[4]), a[5])
    else:
        done(False, "unknown check " + kind)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (OSError, ValueError, IndexError) as e:
        done(False, "%s: %s" % (type(e).__name__, e))
