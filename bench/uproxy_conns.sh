#!/usr/bin/env bash
# bench/uproxy_conns.sh - tens of thousands of concurrent idle TCP connections through the
# userspace proxy's relay, side by side with HAProxy (Debian haproxy, mode tcp), on the
# same 2 cores, in one network namespace on loopback (bench/RESULTS.md, "Userspace
# proxy: 30,000 concurrent connections").
#
# This container's hard limit on open files is 20,000 per process and cannot be raised
# (no CAP_SYS_RESOURCE), and a proxied connection costs a relay two descriptors, so one
# process holds at most ~9,990: the CONNS connections (default 30,000) go through SHARDS
# (default 4) relay processes of one loop each, and as many HAProxy processes of one
# thread each (maxconn 9000), to SHARDS backends (127.0.0.(10+i):8000, a python process
# each: greets every connection with "hi\n", holds it, closes on EOF), round robin. Clients: SHARDS python processes,
# each from its own source address 127.0.0.(20+i), CONNS/SHARDS connections to its
# shard, each reading the greeting (a connection counts only once it reached a backend).
#
# For each proxy: RSS of its processes before and while holding (growth per 10,000),
# its CPU while holding them idle, and PROBE new connections (connect, greeting, close,
# one after another over the shards) before and at that load: successes, rate, p50/p99.
# Then the relay's own limit handling: a relay started with a soft limit of 1024 raises
# it to the hard limit itself (/proc/PID/limits), and one relay driven past its
# descriptors (OVER connections, default 10,400, where ~9,990 fit) keeps serving what it
# holds, does not spin while accepts are paused, and serves new connections again once
# clients close.
# Usage: bench/uproxy_conns.sh      (needs root, haproxy, python3: scripts/deps.sh bench)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "uproxy_conns bench: needs root (network namespaces)"; exit 0; }
for t in haproxy python3; do command -v $t >/dev/null || { echo "uproxy_conns bench: $t missing (scripts/deps.sh bench)"; exit 1; }; done
CONNS=${CONNS:-30000}
SHARDS=${SHARDS:-4}
PROBE=${PROBE:-2000}
OVER=${OVER:-10400}
PER=$((CONNS / SHARDS))
make -s MODE=release build/release/libsvcplane.a
D=$(mktemp -d /tmp/svcplane-uconns-bench.XXXXXX)
NS=svcp-uconns-$$
PIDS=()
cleanup() {
	set +e
	local p
	exec 7>&- 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns delete $NS 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
gcc -std=gnu17 -D_GNU_SOURCE -O2 -Isrc -o "$D/ub" bench/uproxy_bench.c build/release/libsvcplane.a \
	$(pkg-config --cflags --libs jansson libnftables libnftnl libnetfilter_conntrack libmnl openssl libcurl) -pthread -lm
ip netns add $NS
ip -n $NS link set lo up
nx() { ip netns exec $NS "$@"; }
ulimit -n "$(ulimit -Hn)"

cat >"$D/be.py" <<'PY'
# be.py ADDR PORT: greets each connection with "hi\n", holds it, closes it on EOF.
import resource, selectors, socket, sys
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(4096); ls.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(ls, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        if k.fileobj is ls:
            for _ in range(256):
                try: c, _ = ls.accept()
                except (BlockingIOError, OSError): break
                try: c.send(b"hi\n")
                except OSError: c.close(); continue
                c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        else:
            try: d = k.fileobj.recv(4096)
            except OSError: d = b""
            if not d: sel.unregister(k.fileobj); k.fileobj.close()
PY
cat >"$D/hold.py" <<'PY'
# hold.py PORT SRC N OUT [GIVEUP]: N connections from SRC, each reading the greeting
# (10 s bound; GIVEUP consecutive failures end the attempt); writes "ok failed" to OUT,
# then holds them until killed.
import os, resource, socket, sys, time
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
port, src, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
giveup = int(sys.argv[5]) if len(sys.argv) > 5 else n
held, bad, run = [], 0, 0
for _ in range(n):
    s = socket.socket(); s.settimeout(10 if giveup == n else 1)
    try:
        s.bind((src, 0)); s.connect(("127.0.0.1", port))
        if s.recv(3) != b"hi\n": raise OSError("no greeting")
        held.append(s); run = 0
    except OSError:
        s.close(); bad += 1; run += 1
        if run >= giveup: break
with open(out + ".tmp", "w") as f: f.write("%d %d\n" % (len(held), bad))
os.rename(out + ".tmp", out)
while True: time.sleep(3600)
PY
cat >"$D/probe.py" <<'PY'
# probe.py N PORT...: N new connections one after another over the ports (connect, read
# the greeting, close; 5 s bound): prints "ok failed conn/s p50_us p99_us".
import socket, sys, time
n, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
lat, bad, t0 = [], 0, time.time()
for i in range(n):
    t = time.time()
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect(("127.0.0.1", ports[i % len(ports)]))
        if s.recv(3) != b"hi\n": raise OSError("no greeting")
        lat.append((time.time() - t) * 1e6)
    except OSError:
        bad += 1
    s.close()
el = time.time() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0
print("%d %d %.0f %.0f %.0f" % (len(lat), bad, n / el, q(0.5), q(0.99)))
PY

# Backends on 127.0.0.(10+i):8000 (bench/uproxy_bench.c gives every endpoint one port).
BE_EPS=()
for i in $(seq 1 "$SHARDS"); do
	BE_EPS+=("127.0.0.$((10 + i)):8000")
	ip netns exec $NS python3 "$D/be.py" "127.0.0.$((10 + i))" 8000 & PIDS+=($!)
done
mkfifo "$D/in"
exec 7<>"$D/in"
# Relays: each started with a soft limit of 1024, to see it raise its own.
U_PIDS=() U_PORTS=()
for i in $(seq 1 "$SHARDS"); do
	ip netns exec $NS bash -c 'ulimit -Sn 1024; exec "$@"' - "$D/ub" rr 1 "${BE_EPS[@]}" <"$D/in" >"$D/u$i.port" & PIDS+=($!)
	U_PIDS+=($!)
done
H_PIDS=() H_PORTS=()
for i in $(seq 1 "$SHARDS"); do
	{
		printf 'global\n\tmaxconn 9000\n\tnbthread 1\ndefaults\n\tmode tcp\n\ttimeout client 10m\n\ttimeout server 10m\n\ttimeout connect 5s\n'
		printf 'frontend f\n\tbind 127.0.0.1:%d\n\tdefault_backend b\nbackend b\n\tbalance roundrobin\n' $((9100 + i))
		for e in "${BE_EPS[@]}"; do printf '\tserver s%s %s\n' "${e//[.:]/_}" "$e"; done
	} >"$D/h$i.cfg"
	ip netns exec $NS haproxy -f "$D/h$i.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
	H_PIDS+=($!) H_PORTS+=($((9100 + i)))
done
for i in $(seq 1 "$SHARDS"); do
	for _ in $(seq 1 200); do [ -s "$D/u$i.port" ] && break; sleep 0.05; done
	U_PORTS+=("$(awk '{print $2}' "$D/u$i.port")")
done
for e in "${BE_EPS[@]}" "${U_PORTS[@]/#/127.0.0.1:}" "${H_PORTS[@]/#/127.0.0.1:}"; do
	for _ in $(seq 1 200); do nx bash -c "exec 3<>/dev/tcp/${e%:*}/${e#*:}" 2>/dev/null && break; sleep 0.05; done
done

TCK=$(getconf CLK_TCK)
rss_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status))); done; echo $s; }
ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done; echo $s; }
nofile() { awk '/^Max open files/ {print $4 "/" $5}' "/proc/$1/limits"; }

# measure NAME PORTS... -- PIDS...: one proxy's figures, as "key=value" lines.
measure() {
	local name=$1 ports=() pids=() i hp=()
	shift
	while [ "$1" != -- ]; do ports+=("$1"); shift; done
	shift
	pids=("$@")
	nx python3 "$D/probe.py" 200 "${ports[@]}" >/dev/null # warm-up: pools, free lists
	local rss0 idle
	rss0=$(rss_kb "${pids[@]}")
	idle=$(nx python3 "$D/probe.py" "$PROBE" "${ports[@]}")
	local t0=$SECONDS
	rm -f "$D"/held.*
	for i in $(seq 1 "$SHARDS"); do
		ip netns exec $NS python3 "$D/hold.py" "${ports[$((i - 1))]}" "127.0.0.$((20 + i))" "$PER" "$D/held.$i" & hp+=($!)
	done
	for i in $(seq 1 "$SHARDS"); do
		for _ in $(seq 1 6000); do [ -e "$D/held.$i" ] && break; sleep 0.1; done
	done
	local fill=$((SECONDS - t0)) ok=0 bad=0 a b
	for i in $(seq 1 "$SHARDS"); do read -r a b <"$D/held.$i" && ok=$((ok + a)) bad=$((bad + b)); done
	sleep 2 # the last greetings' bookkeeping settles; RSS is read once, not asserted
	local rss1 c0 c1 est load
	rss1=$(rss_kb "${pids[@]}")
	est=$(nx ss -Htn state established '( sport = :8000 )' | wc -l)
	c0=$(ticks "${pids[@]}")
	sleep 5
	c1=$(ticks "${pids[@]}")
	load=$(nx python3 "$D/probe.py" "$PROBE" "${ports[@]}")
	kill "${hp[@]}" 2>/dev/null
	wait "${hp[@]}" 2>/dev/null || true
	echo "name=$name"
	echo "held=$ok failed=$bad fill_s=$fill backend_established=$est"
	echo "rss_before_kib=$rss0 rss_held_kib=$rss1 per10k_kib=$(((rss1 - rss0) * 10000 / (ok > 0 ? ok : 1)))"
	echo "cpu_idle_ms_per_s=$(awk -v c=$((c1 - c0)) -v t="$TCK" 'BEGIN {printf "%.1f", c * 1000 / t / 5}')"
	echo "probe_idle=$idle"
	echo "probe_load=$load"
	# wait for the backends to see the clients' closes (bounded)
	for _ in $(seq 1 300); do
		[ "$(nx ss -Htn state established | wc -l)" -lt 100 ] && break
		sleep 0.2
	done
}

echo "# $(date -u +%F) kernel $(uname -r), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# CONNS=$CONNS SHARDS=$SHARDS PROBE=$PROBE; probe = 'ok failed conn/s p50_us p99_us'"
echo "# relay open-file limit (soft/hard), started with soft 1024: $(nofile "${U_PIDS[0]}")"
measure uproxy "${U_PORTS[@]}" -- "${U_PIDS[@]}"
measure haproxy "${H_PORTS[@]}" -- "${H_PIDS[@]}"

# The relay past its descriptors: OVER connections to relay 1 (2 descriptors each).
[ "$OVER" -gt 0 ] || exit 0
rm -f "$D/over"
c0=$(ticks "${U_PIDS[0]}")
ip netns exec $NS python3 "$D/hold.py" "${U_PORTS[0]}" 127.0.0.40 "$OVER" "$D/over" 20 &
OP=$!
for _ in $(seq 1 6000); do [ -e "$D/over" ] && break; sleep 0.1; done
read -r ook obad <"$D/over"
c1=$(ticks "${U_PIDS[0]}")
sleep 3
c2=$(ticks "${U_PIDS[0]}")
alive=$(kill -0 "${U_PIDS[0]}" 2>/dev/null && echo yes || echo no)
kill $OP; wait $OP 2>/dev/null || true
after=
for _ in $(seq 1 50); do
	after=$(nx python3 "$D/probe.py" 200 "${U_PORTS[0]}")
	[ "${after%% *}" = 200 ] && break
	sleep 0.2
done
echo "name=over_limit"
echo "attempted_up_to=$OVER held=$ook failed_before_giving_up=$obad relay_alive=$alive"
echo "cpu_ms_per_s_while_full=$(awk -v c=$((c2 - c1)) -v t="$TCK" 'BEGIN {printf "%.1f", c * 1000 / t / 3}') cpu_ms_filling=$(awk -v c=$((c1 - c0)) -v t="$TCK" 'BEGIN {printf "%.0f", c * 1000 / t}')"
echo "probe_after_close=$after"
