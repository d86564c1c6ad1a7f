#!/usr/bin/env bash
# bench/uproxy.sh - the userspace proxy mode's figures (bench/RESULTS.md) side by side with
# HAProxy (Debian haproxy, TCP mode, same thread count) in one network namespace on
# loopback, same cores: one long TCP stream (iperf3), request rate with keep-alive and
# new connections per second at 64 and 8 clients (wrk against a small HTTP backend: another HAProxy
# answering from memory), added p50/p99 latency over direct access (wrk -c1), and RSS
# per 10,000 idle connections. Each figure is the median of RUNS rounds (default 3); a
# round measures direct, uproxy and HAProxy back to back (rotating the order), and the
# last column is the median of the rounds' uproxy/HAProxy ratios.
# The proxy runs through bench/uproxy_bench.c (proxy/uproxy.h without nftables: the
# relay, not the redirect, is measured; the redirect costs both the same). The HTTP
# service port declares appProtocol http (its listener waits for the client's first
# bytes). HAProxy's frontend keeps its default: its own `bind ... defer-accept` was
# measured no faster at -c64 and 0.87x at -c8 (bench/RESULTS.md).
# CPU budget: every process of the bench (clients, backends, proxies) runs in one cpu
# cgroup. During the wrk rate rows (BUDGET_ROWS, default "rps conn") it may use CPUS
# cores (default 1; cfs quota) with the highest weight, so each target gets the same
# CPU whatever else the machine runs: without it, on a machine shared with other
# people's test suites, a round's rate measured the scheduler's sharing (per-round
# ratios 0.63-2.65). The other rows run without a quota at about the weight their
# threads had outside. CPUS=0: no cgroup at all (every row as before).
# Usage: bench/uproxy.sh            (needs root, haproxy, wrk, iperf3: scripts/deps.sh bench)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "uproxy bench: needs root (network namespaces)"; exit 0; }
for t in haproxy wrk iperf3 python3; do command -v $t >/dev/null || { echo "uproxy bench: $t missing (scripts/deps.sh bench)"; exit 1; }; done
RUNS=${RUNS:-3}
DUR=${DUR:-5}
LOOPS=${LOOPS:-2}
CPUS=${CPUS:-1}
BUDGET_ROWS=${BUDGET_ROWS:-rps conn}
make -s MODE=release build/release/libsvcplane.a
D=$(mktemp -d /tmp/svcplane-uproxy-bench.XXXXXX)
NS=svcp-ubench-$$
PIDS=()
# The bench's cpu cgroup (v1 cpu controller or v2 with cpu enabled), or none.
CG=
if [ "$CPUS" != 0 ]; then
	if [ -w /sys/fs/cgroup/cpu/cgroup.procs ] && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
		CG=/sys/fs/cgroup/cpu/svcp-ubench-$$ CGROOT=/sys/fs/cgroup/cpu CGV=1
	elif grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		CG=/sys/fs/cgroup/svcp-ubench-$$ CGROOT=/sys/fs/cgroup CGV=2
	else
		echo "uproxy bench: no writable cpu cgroup: rates without a CPU budget" >&2
	fi
fi
cleanup() {
	set +e # a kill of a process already gone must not end the cleanup (set -e)
	local p
	exec 7>&- 8>&- 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns delete $NS 2>/dev/null
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		echo $$ >"$CGROOT/cgroup.procs"
		for _ in $(seq 1 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	fi
	rm -rf "$D"
}
trap cleanup EXIT
# budget on|off: the cgroup's quota and weight for the rows that follow.
budget() {
	[ -n "$CG" ] || return 0
	local n; n=$(wc -l <"$CG/$([ $CGV = 1 ] && echo tasks || echo cgroup.threads)")
	if [ "$1" = on ]; then
		if [ $CGV = 1 ]; then
			echo 10000 >"$CG/cpu.cfs_period_us"; echo $((CPUS * 10000)) >"$CG/cpu.cfs_quota_us"; echo 262144 >"$CG/cpu.shares"
		else echo "$((CPUS * 10000)) 10000" >"$CG/cpu.max"; echo 10000 >"$CG/cpu.weight"; fi
	else
		if [ $CGV = 1 ]; then
			echo -1 >"$CG/cpu.cfs_quota_us"; echo $((n * 1024 < 262144 ? n * 1024 : 262144)) >"$CG/cpu.shares"
		else echo "max 10000" >"$CG/cpu.max"; echo $((n * 100 < 10000 ? n * 100 : 10000)) >"$CG/cpu.weight"; fi
	fi
}
if [ -n "$CG" ] && ! { mkdir "$CG" && echo $$ >"$CG/cgroup.procs"; } 2>/dev/null; then
	echo "uproxy bench: cannot use a cpu cgroup: rates without a CPU budget" >&2
	rmdir "$CG" 2>/dev/null || true
	CG=
fi # else every process started from here on is in it
gcc -std=gnu17 -D_GNU_SOURCE -O2 -Isrc -o "$D/ub" bench/uproxy_bench.c build/release/libsvcplane.a \
	$(pkg-config --cflags --libs jansson libnftables libnftnl libnetfilter_conntrack libmnl openssl libcurl) -pthread -lm
ip netns add $NS
ip -n $NS link set lo up
nx() { ip netns exec $NS "$@"; }
ulimit -n "$(ulimit -Hn)"

# Backends: HTTP answered from memory on :8081, iperf3 on :5201.
cat >"$D/be.cfg" <<EOF
global
	maxconn 9000
	nbthread 1
defaults
	mode http
	timeout client 60s
	timeout server 60s
	timeout connect 5s
frontend be
	bind 127.0.0.1:8081
	http-request return status 200 content-type text/plain string "ok"
EOF
cat >"$D/lb.cfg" <<EOF
global
	maxconn 9000
	nbthread $LOOPS
defaults
	mode tcp
	timeout client 60s
	timeout server 60s
	timeout connect 5s
frontend http
	bind 127.0.0.1:9081
	default_backend http
backend http
	server s1 127.0.0.1:8081
frontend iperf
	bind 127.0.0.1:9201
	default_backend iperf
backend iperf
	server s1 127.0.0.1:5201
EOF
# Started as `ip netns exec` itself (never through a shell function, whose subshell's pid
# $! would be): ip netns exec execs the program, so $! is the program's pid.
ip netns exec $NS haproxy -f "$D/be.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
BEPID=$!
ip netns exec $NS iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $NS haproxy -f "$D/lb.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
HAPID=$!
mkfifo "$D/in1" "$D/in2"
APP_PROTOCOL=http ip netns exec $NS "$D/ub" rr "$LOOPS" 127.0.0.1:8081 <"$D/in1" >"$D/p1" & PIDS+=($!)
UPID=$!
ip netns exec $NS "$D/ub" rr "$LOOPS" 127.0.0.1:5201 <"$D/in2" >"$D/p2" & PIDS+=($!)
UPID2=$!
exec 7>"$D/in1" 8>"$D/in2"
for _ in $(seq 1 100); do [ -s "$D/p1" ] && [ -s "$D/p2" ] && break; sleep 0.05; done
UP_HTTP=$(awk '{print $2}' "$D/p1")
UP_IPERF=$(awk '{print $2}' "$D/p2")
for _ in $(seq 1 100); do nx bash -c 'exec 3<>/dev/tcp/127.0.0.1/9081' 2>/dev/null && break; sleep 0.05; done

# iperf3's server refuses a test while it still winds down the previous one: retry.
# CPU time (utime + stime, every thread) of the proxy serving target $1 (d: none), in
# clock ticks: on a machine whose load moves rates by 2x, the CPU a proxy spends per
# connection or per byte is the steadier figure (bench/RESULTS.md).
TCK=$(getconf CLK_TCK)
proxy_pid() { case $1 in u) [ "${2:-}" = iperf ] && echo "$UPID2" || echo "$UPID" ;; h) echo "$HAPID" ;; esac; }
ticks() { if [ -n "$1" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
# iperf PORT PID: Gbit/s and the PID's CPU ms per GB moved. iperf3's server refuses a
# test while it still winds down the previous one: retry.
iperf() {
	local i c0 out
	for i in 1 2 3; do
		c0=$(ticks "$2")
		out=$(nx iperf3 -c 127.0.0.1 -p "$1" -t "$DUR" -J 2>/dev/null |
			python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print(e["bits_per_second"]/1e9, e["bytes"])' 2>/dev/null) &&
			{ echo "$out $(($(ticks "$2") - c0))" | awk -v t="$TCK" '{printf "%s %.1f\n", $1, $3 * 1000 / t / ($2 / 1e9)}'; return 0; }
		sleep 1
	done
}
# rps PID WRK-ARGS...: requests/s, the PID's CPU us per request, and the whole path's:
# wrk (this shell's waited-for children: wrk is the only one that ends meanwhile) plus
# the HTTP backend plus the PID.
kids() { awk '{print $16 + $17}' /proc/$$/stat; }
rps() {
	local pid=$1 c0 b0 k0 c1 b1 k1; shift
	c0=$(ticks "$pid") b0=$(ticks "$BEPID") k0=$(kids)
	nx wrk -t2 -c"${CONNS:-64}" -d"${DUR}s" "$@" >"$D/wrk.out"
	k1=$(kids) c1=$(ticks "$pid") b1=$(ticks "$BEPID")
	awk -v c=$((c1 - c0)) -v a=$((c1 - c0 + b1 - b0 + k1 - k0)) -v t="$TCK" '/requests in/ {n = $1} /^Requests\/sec/ {r = $2} END {printf "%s %.1f %.1f\n", r, (n > 0 ? c * 1e6 / t / n : 0), (n > 0 ? a * 1e6 / t / n : 0)}' "$D/wrk.out"
}
lat() { nx wrk -t1 -c1 -d"${DUR}s" --latency "http://127.0.0.1:$1/" | awk '$1 == "50%" || $1 == "99%" {v=$2; u=v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u); r[$1] = (u == "ms" ? v * 1000 : u == "s" ? v * 1e6 : v)} END {print r["50%"], r["99%"]}'; }
# The three targets of each figure: d(irect), u(proxy), h(aproxy).
http_port() { case $1 in d) echo 8081 ;; u) echo "$UP_HTTP" ;; h) echo 9081 ;; esac; }
iperf_port() { case $1 in d) echo 5201 ;; u) echo "$UP_IPERF" ;; h) echo 9201 ;; esac; }
f_iperf() { iperf "$(iperf_port "$1")" "$(proxy_pid "$1" iperf)"; }
f_rps() { rps "$(proxy_pid "$1")" "http://127.0.0.1:$(http_port "$1")/"; }
f_conn() { rps "$(proxy_pid "$1")" -H 'Connection: close' "http://127.0.0.1:$(http_port "$1")/"; }
f_conn8() { CONNS=8 f_conn "$1"; }
f_lat() { lat "$(http_port "$1")"; }
# trio FN: RUNS rounds; each round measures the three targets back to back, in an order
# that rotates (the machine's load drifts: a round's three figures share it). Prints
# "d u h r" per column of FN's output: the medians and the median of the rounds' u/h.
trio() {
	local i t order=(d u h)
	rm -f "$D"/t.*
	for i in $(seq 1 "$RUNS"); do
		for t in "${order[@]}"; do "$1" "$t" >>"$D/t.$t"; done
		order=("${order[@]:1}" "${order[0]}")
	done
	[ -z "${VERBOSE:-}" ] || paste -d' ' "$D/t.d" "$D/t.u" "$D/t.h" | sed "s/^/$1 round: /" >&2
	paste -d' ' "$D/t.d" "$D/t.u" "$D/t.h" | awk -v k="$(awk '{print NF; exit}' "$D/t.d")" '
		function med(a, n,  i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }; return a[int((n + 1) / 2)] }
		{ for (c = 1; c <= k; c++) { d[c, NR] = $c; u[c, NR] = $(c + k); h[c, NR] = $(c + 2 * k); r[c, NR] = ($(c + 2 * k) > 0 ? $(c + k) / $(c + 2 * k) : 0) } }
		END { for (c = 1; c <= k; c++) { for (i = 1; i <= NR; i++) { x[i] = d[c, i] } ; md = med(x, NR)
			for (i = 1; i <= NR; i++) { x[i] = u[c, i] } ; mu = med(x, NR)
			for (i = 1; i <= NR; i++) { x[i] = h[c, i] } ; mh = med(x, NR)
			for (i = 1; i <= NR; i++) { x[i] = r[c, i] } ; printf "%s %s %s %.2f\n", md, mu, mh, med(x, NR) } }'
}
rss_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status))); done; echo $s; }
# The container's hard limit on open files is 20,000, so HAProxy refuses a maxconn that
# could not fit and 10,000 proxied connections (20,000 descriptors) do not fit either:
# IDLE connections are held (default 4,000) and the growth is scaled to 10,000.
IDLE=${IDLE:-4000}
idle_rss() { # idle_rss PORT PID...: RSS growth (KiB) of PIDs per 10,000 open connections
	local port=$1; shift
	local before; before=$(rss_kb "$@")
	ip netns exec $NS python3 - "$port" "$D/held" "$IDLE" <<'PY' &
import socket, sys, time, os
s = []
for _ in range(int(sys.argv[3])):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10); s.append(c)
open(sys.argv[2], "w").close()
time.sleep(30)
PY
	local cp=$!
	for _ in $(seq 1 600); do [ -e "$D/held" ] && break; sleep 0.1; done
	sleep 1
	local after; after=$(rss_kb "$@")
	kill $cp 2>/dev/null; wait $cp 2>/dev/null; rm -f "$D/held"
	echo $(((after - before) * 10000 / IDLE))
}

ONLY=${ONLY:-iperf rps conn lat rss}
on() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
printf 'figure\tdirect\tuproxy\thaproxy\tuproxy/haproxy (median of rounds)\n'
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"; }
trow() { local name=$1 d u h r; shift; read -r d u h r && row "$name" "$d" "$u" "$h" "$r"; }
two() { # two FN ROW1 ROW2 [ROW3]: the columns of FN's figures as rows
	trio "$1" >"$D/two"
	sed -n 1p "$D/two" | trow "$2"
	sed -n 2p "$D/two" | awk '{$1 = "-"; print}' | trow "$3"
	[ -z "${4:-}" ] || sed -n 3p "$D/two" | trow "$4"
}
inbudget() { case " $BUDGET_ROWS " in *" $1 "*) budget on ;; *) budget off ;; esac; }
[ -z "$CG" ] || echo "CPU budget: $CPUS core(s) for the rows $BUDGET_ROWS (cgroup v$CGV)"
on iperf && inbudget iperf && two f_iperf "iperf3 one stream (Gbit/s)" "  proxy CPU per GB moved (ms)"
on rps && inbudget rps && two f_rps "wrk keep-alive (req/s)" "  proxy CPU per request (us)" "  path CPU per request: wrk + backend + proxy (us)"
on conn && inbudget conn && two f_conn "wrk -c64 new connection per request (conn/s)" "  proxy CPU per connection (us)" "  path CPU per connection: wrk + backend + proxy (us)"
on conn && two f_conn8 "wrk -c8 new connection per request (conn/s)" "  proxy CPU per connection (us)" "  path CPU per connection: wrk + backend + proxy (us)"
if on lat; then
	inbudget lat
	trio f_lat >"$D/lat"
	read -r d50 u50 h50 r50 <"$D/lat"
	read -r d99 u99 h99 r99 < <(sed -n 2p "$D/lat")
	row "latency p50 (us, wrk -c1)" "$d50" "$u50" "$h50" "$r50"
	row "latency p99 (us, wrk -c1)" "$d99" "$u99" "$h99" "$r99"
	row "added p50 over direct (us)" - "$(awk -v a="$u50" -v b="$d50" 'BEGIN {print a - b}')" "$(awk -v a="$h50" -v b="$d50" 'BEGIN {print a - b}')" -
fi
if on rss; then
	inbudget rss
	ru=$(idle_rss "$UP_HTTP" "$UPID") rh=$(idle_rss 9081 "$HAPID")
	row "RSS per 10,000 idle connections (KiB)" - "$ru" "$rh" "$(awk -v a="$ru" -v b="$rh" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
fi
