#!/usr/bin/env bash
# Figures for cluster DNS (issue 11): queries/s on one server core and latency for
# cluster names, with dnsperf on the other core, beside Knot DNS and NSD serving the same
# A records as a static zone; the forwarded and cached path beside Unbound and dnsmasq;
# and the DNS server's memory for N Services.
#   usage: bench/dns_bench.sh [N] [SECONDS] [ROUNDS]
# Everything on loopback. Every server runs at once, idle but for the one being measured;
# each is pinned to core 0 (every thread of every process: taskset -a), dnsperf to core 1.
# The servers take turns for ROUNDS rounds, so load from elsewhere on the machine hits
# them alike, and the medians are reported. Server CPU per query is read from /proc
# (utime + stime of all its processes): the figure least disturbed by a busy machine.
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
SECS=${2:-10}
ROUNDS=${3:-3}
for b in dnsperf knotd nsd unbound dnsmasq; do
	command -v $b >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q dnsperf knot nsd unbound dnsmasq-base >/dev/null
done
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
PIDS=()
dns_cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; bench_cleanup; }
trap dns_cleanup EXIT
port() { echo $((20000 + RANDOM % 30000)); }
# answers PORT NAME: waits (10 s at most) until the server on PORT answers NAME.
answers() { for _ in $(seq 1 100); do dig +short +time=1 -p "$1" @127.0.0.1 "$2" | grep -q . && return 0; sleep 0.1; done; echo "no answer for $2 on port $1"; return 1; }
# A process and all its descendants (NSD answers in a grandchild).
tree() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; }
# utime + stime (fields 14, 15; counted after the ")" that ends the command name, which
# may hold spaces: "nsd: main").
cpu_ticks() { local p s=0; for p in $(tree "$1"); do s=$((s + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0))); done; echo $s; }
pin() { local c; for c in $(tree "$1"); do taskset -a -cp 0 "$c" >/dev/null; done; }
# measure PID PORT QUERYFILE: one max-rate run, then latency at a fixed rate both sides
# sustain (no queueing) from dnsperf -v. Prints "qps cpu_us_per_query p50_ms p99_ms".
measure() {
	local pid=$1 p=$2 qf=$3 t0 t1 out hz
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$pid")
	out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$p" -d "$qf" -l "$SECS" -c 8 -q 500 2>&1)
	t1=$(cpu_ticks "$pid")
	local lat
	lat=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$p" -d "$qf" -l 3 -c 4 -Q 20000 -v 2>/dev/null | python3 -c '
import sys
v = sorted(float(l.split()[-1]) for l in sys.stdin if l.startswith(">") and l.split()[-1].replace(".", "", 1).isdigit())
print("%.3f %.3f" % (v[len(v)//2]*1e3, v[int(len(v)*0.99)]*1e3) if v else "nan nan")')
	echo "$out" | python3 -c "
import re, sys
t = sys.stdin.read()
qps = float(re.search(r'Queries per second: +([0-9.]+)', t).group(1))
done = int(re.search(r'Queries completed: +([0-9]+)', t).group(1))
print('%.0f %.2f $lat' % (qps, ($t1 - $t0) / $hz / max(done, 1) * 1e6))"
}

# --- svcplane: the API with N Services, `svcplane dns` on one worker; its forwarded
# path's upstream is a dnsmasq authoritative for ext.test (TTL 3600).
sp_start "$BD/sp"
UP_PORT=$(port) SPD_PORT=$(port)
python3 -c "
for i in range(1000): print('198.18.%d.%d ext-%d.ext.test' % (8 + i // 250, 1 + i % 250, i))" >"$BD/ext.hosts"
dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$BD/ext.hosts" --local=/ext.test/ --local-ttl=3600 \
	--listen-address=127.0.0.1 --bind-interfaces --port="$UP_PORT" --cache-size=0 >"$BD/up.log" 2>&1 &
PIDS+=($!)
build/release/svcplane dns --kubeconfig "$BD/sp/kubeconfig" --listen 127.0.0.1 --port "$SPD_PORT" --workers 1 \
	--dns-upstream "127.0.0.1:$UP_PORT" >"$BD/spdns.out" 2>"$BD/spdns.err" &
SPD=$!
PIDS+=($SPD)
answers "$SPD_PORT" kubernetes.default.svc.cluster.local
RSS0=$(rss_kb $SPD)
T0=$(date +%s.%N)
build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" 16 "$N" >/dev/null
for _ in $(seq 1 600); do dig +short +time=1 -p "$SPD_PORT" @127.0.0.1 "bench-$((N - 1)).default.svc.cluster.local" | grep -q . && break; sleep 0.1; done
T1=$(date +%s.%N)
sleep 1
RSS1=$(rss_kb $SPD)
echo "svcplane dns memory: rss_kb empty=$RSS0 with_${N}_services=$RSS1 delta_kb=$((RSS1 - RSS0)) (creates + programming took $(python3 -c "print(round($T1-$T0,1))") s)"
python3 -c "
import random
n = $N
q = ['bench-%d.default.svc.cluster.local A' % i for i in range(n)]
random.seed(1); random.shuffle(q)
open('$BD/q.cluster', 'w').write('\n'.join(q) + '\n')
f = ['ext-%d.ext.test A' % (i % 1000) for i in range(n)]
random.shuffle(f)
open('$BD/q.fwd', 'w').write('\n'.join(f) + '\n')"

# --- the same A records as a static zone (SOA, NS, N A records).
{
	echo '$ORIGIN cluster.local.'
	echo '$TTL 5'
	echo '@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5'
	echo '@ NS ns.dns.cluster.local.'
	echo 'ns.dns A 198.19.0.10'
	python3 -c "
for i in range($N): print('bench-%d.default.svc A 198.19.%d.%d' % (i, 1 + i // 250, 1 + i % 250))"
} >"$BD/cluster.local.zone"

KP=$(port)
mkdir -p "$BD/knot"
cat >"$BD/knot/knot.conf" <<K
server:
    listen: 127.0.0.1@$KP
    rundir: $BD/knot
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $BD/knot
log:
  - target: stderr
    any: warning
zone:
  - domain: cluster.local
    file: $BD/cluster.local.zone
K
knotd -c "$BD/knot/knot.conf" >"$BD/knot.log" 2>&1 &
KD=$!
PIDS+=($KD)
answers "$KP" bench-1.default.svc.cluster.local
echo "knot memory: rss_kb=$(rss_kb $KD)"

NP=$(port)
mkdir -p "$BD/nsd"
cat >"$BD/nsd/nsd.conf" <<K
server:
    ip-address: 127.0.0.1@$NP
    server-count: 1
    username: ""
    zonesdir: "$BD"
    database: ""
    pidfile: "$BD/nsd/nsd.pid"
    xfrdfile: "$BD/nsd/xfrd.state"
    zonelistfile: "$BD/nsd/zone.list"
    rrl-ratelimit: 0
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: cluster.local.zone
K
nsd -d -c "$BD/nsd/nsd.conf" >"$BD/nsd.log" 2>&1 &
ND=$!
PIDS+=($ND)
answers "$NP" bench-1.default.svc.cluster.local
echo "nsd memory: rss_kb=$(for p in $(tree $ND); do rss_kb $p; done | awk '{s+=$1} END {print s}') (all processes)"

# --- the forwarded path from cache: Unbound and dnsmasq forwarding to the same upstream
# ("test." is one of Unbound's built-in local zones: turned off here).
UBP=$(port)
cat >"$BD/unbound.conf" <<K
server:
    interface: 127.0.0.1@$UBP
    port: $UBP
    num-threads: 1
    username: ""
    chroot: ""
    directory: "$BD"
    pidfile: "$BD/unbound.pid"
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    use-syslog: no
    logfile: ""
    verbosity: 0
    domain-insecure: "ext.test"
    local-zone: "test." nodefault
    module-config: "iterator"
forward-zone:
    name: "ext.test"
    forward-addr: 127.0.0.1@$UP_PORT
remote-control:
    control-enable: no
K
unbound -d -c "$BD/unbound.conf" >"$BD/unbound.log" 2>&1 &
UD=$!
PIDS+=($UD)
answers "$UBP" ext-1.ext.test || cat "$BD/unbound.log"
DMP=$(port)
dnsmasq --no-daemon --no-resolv --no-hosts --server="127.0.0.1#$UP_PORT" --listen-address=127.0.0.1 --bind-interfaces \
	--port="$DMP" --cache-size=10000 >"$BD/dm.log" 2>&1 &
DM=$!
PIDS+=($DM)
answers "$DMP" ext-1.ext.test

# name pid port queryfile, in the order of the turns.
CASES=("svcplane|$SPD|$SPD_PORT|$BD/q.cluster" "knot|$KD|$KP|$BD/q.cluster" "nsd|$ND|$NP|$BD/q.cluster"
	"svcplane-fwd|$SPD|$SPD_PORT|$BD/q.fwd" "unbound-fwd|$UD|$UBP|$BD/q.fwd" "dnsmasq-fwd|$DM|$DMP|$BD/q.fwd")
for c in "${CASES[@]}"; do
	IFS='|' read -r name pid p qf <<<"$c"
	pin "$pid"
	# warm-up: the forwarders' caches fill, every server's pages are touched
	taskset -c 1 dnsperf -s 127.0.0.1 -p "$p" -d "$qf" -n 1 -c 4 -q 200 >/dev/null 2>&1 || true
done
: >"$BD/results"
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CASES[@]}"; do
		IFS='|' read -r name pid p qf <<<"$c"
		res=$(measure "$pid" "$p" "$qf")
		echo "round $r $name: qps cpu_us/q p50_ms p99_ms = $res"
		echo "$name $res" >>"$BD/results"
	done
done
echo "medians over $ROUNDS rounds (${SECS} s max-rate runs; latency at 20k q/s):"
python3 - "$BD/results" <<'P'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *v = line.split()
    rows.setdefault(name, []).append([float(x) for x in v])
med = {n: [statistics.median(c) for c in zip(*v)] for n, v in rows.items()}
for n, (qps, cpu, p50, p99) in med.items():
    print("%-14s qps=%-7.0f cpu_us/q=%-5.2f p50_ms=%.3f p99_ms=%.3f" % (n, qps, cpu, p50, p99))
s = med.get("svcplane")
for peer in ("knot", "nsd"):
    if s and peer in med:
        print("svcplane/%s: qps %.2f, cpu per query %.2f" % (peer, s[0] / med[peer][0], s[1] / med[peer][1]))
s = med.get("svcplane-fwd")
for peer in ("unbound-fwd", "dnsmasq-fwd"):
    if s and peer in med:
        print("svcplane-fwd/%s: qps %.2f, cpu per query %.2f" % (peer, s[0] / med[peer][0], s[1] / med[peer][1]))
P
