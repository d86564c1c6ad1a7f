# uproxy_edge.py MODE ARGS...: clients for test_proxy_userspace_edge.sh (backends:
# tests/integ/uproxy_backend.py greets with its name then echoes lines; echo_backend.py
# answers UDP with "NAME <peer>"). Socket operations are bounded by 5 s, waits by 60 s.
#   probe HOST PORT       one direct connect with a 3 s bound: prints "timeout", "refused"
#                         or "open" (tells a SYN-dropping backend from a closed port)
#   keep N HOST PORT FILE N connections held together: prints each backend's name, then
#                         echoes a line on each every 0.5 s (so no idle timeout ends them)
#                         until FILE exists; prints "echo ok" when every one still echoes
#   idle-tcp HOST PORT IDLE_MS
#                         two connections: one silent, one echoing every 0.5 s. Prints
#                         "idle closed after S s" when the proxy ends the silent one (no
#                         earlier than IDLE_MS), then "active survived S s" when the
#                         other still echoes at 2 x IDLE_MS after the silent one closed
#   idle-udp HOST PORT IDLE_MS METRICS TOKEN_FILE
#                         one UDP socket (one source port): a datagram makes a flow; one
#                         every 0.5 s for 2 x IDLE_MS makes no new flow (the proxy's
#                         svcplane_uproxy_udp_flows_total does not move); silent, the flow
#                         is forgotten (udp_flows_active back to what it was) no earlier
#                         than IDLE_MS; the next datagram makes a new flow and is answered.
import os, socket, sys, time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from uproxy_sched import metric  # same folder: the script's own is on sys.path


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def conn(host, port):
    s = socket.create_connection((host, port), timeout=5)
    f = s.makefile("rwb")
    return s, f, f.readline().decode().strip()


def echoes(s, f):
    try:
        f.write(b"ping\n")
        f.flush()
        return f.readline() == b"ping\n"
    except OSError:
        return False


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def probe(host, port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        print("open")
    except socket.timeout:
        print("timeout")
    except ConnectionRefusedError:
        print("refused")


def keep(n, host, port, path):
    held = [conn(host, port) for _ in range(n)]
    for _, _, name in held:
        print(name, flush=True)
    end = time.time() + 90
    while not os.path.exists(path) and time.time() < end:
        for s, f, name in held:
            if not echoes(s, f):
                fail("%s stopped echoing while held" % name)
        time.sleep(0.5)
    print("echo ok" if all(echoes(s, f) for s, f, _ in held) else "echo failed", flush=True)


def idle_tcp(host, port, idle_ms):
    idle = idle_ms / 1000.0
    quiet, _, _ = conn(host, port)
    busy, bf, _ = conn(host, port)
    t0 = time.time()
    quiet.settimeout(0.5)
    closed = None
    while time.time() - t0 < 60:
        try:
            if quiet.recv(1) == b"":
                closed = time.time() - t0
        except socket.timeout:
            pass
        except OSError:  # reset: the proxy closes an idle connection with RST
            closed = time.time() - t0
        if closed is not None:
            break
        if not echoes(busy, bf):
            fail("the busy connection stopped echoing after %.1f s" % (time.time() - t0))
    if closed is None:
        fail("the silent connection is still open after 60 s (idle timeout %.1f s)" % idle)
    if closed < idle * 0.9:
        fail("the silent connection closed after %.1f s, before the idle timeout %.1f s" % (closed, idle))
    print("idle closed after %.1f s" % closed, flush=True)
    while time.time() - t0 < closed + 2 * idle:
        if not echoes(busy, bf):
            fail("the busy connection stopped echoing after %.1f s" % (time.time() - t0))
        time.sleep(0.5)
    print("active survived %.1f s" % (time.time() - t0), flush=True)


def idle_udp(host, port, idle_ms, url, token_file):
    idle = idle_ms / 1000.0
    token = open(token_file).read().strip()
    def total():
        v = metric(url, token, "svcplane_uproxy_udp_flows_total")
        return v if v >= 0 else fail("no svcplane_uproxy_udp_flows_total at " + url)

    def live():
        v = metric(url, token, "svcplane_uproxy_udp_flows_active")
        return v if v >= 0 else fail("no svcplane_uproxy_udp_flows_active at " + url)

    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(1)

    def ask():
        for _ in range(5):
            s.sendto(b"x", (host, port))
            try:
                return s.recvfrom(2048)[0].decode().strip()
            except socket.timeout:
                pass
        fail("no UDP answer")

    live0, total0 = live(), total()
    ask()
    total1 = total()
    if total1 != total0 + 1:
        fail("the first datagram made %d flows, want 1" % (total1 - total0))
    t0 = time.time()
    while True:
        ask()
        t1 = time.time()  # the flow's last datagram
        if t1 - t0 >= 2 * idle:
            break
        time.sleep(0.5)
    if total() != total1:
        fail("datagrams every 0.5 s made new flows: the flow expired while in use")
    while live() > live0 and time.time() - t1 < 60:
        time.sleep(0.2)
    gone = time.time() - t1
    if live() > live0:
        fail("the silent flow is still live after 60 s (idle timeout %.1f s)" % idle)
    if gone < idle * 0.9:
        fail("the flow was forgotten after %.1f s, before the idle timeout %.1f s" % (gone, idle))
    answer = ask()
    if total() != total1 + 1:
        fail("the datagram after the flow expired did not make a new flow")
    print("flow kept while used for %.1f s, forgotten %.1f s after the last datagram; then: %s"
          % (2 * idle, gone, answer), flush=True)


m = sys.argv[1]
if m == "probe":
    probe(sys.argv[2], int(sys.argv[3]))
elif m == "keep":
    keep(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
elif m == "idle-tcp":
    idle_tcp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif m == "idle-udp":
    idle_udp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
else:
    fail("unknown mode " + m)
