#!/usr/bin/env bash
# bench/uproxy.sh - the userspace proxy mode's figures (bench/RESULTS.md) side by side with
# HAProxy (Debian haproxy, TCP mode, same thread count) in one network namespace on
# loopback, same cores: one long TCP stream (iperf3), request rate with keep-alive and
# new connections per second (wrk against a small HTTP backend: another HAProxy
# answering from memory), added p50/p99 latency over direct access (wrk -c1), and RSS
# per 10,000 idle connections. Each figure is the median of RUNS runs (default 3).
# The proxy runs through bench/uproxy_bench.c (proxy/uproxy.h without nftables: the
# relay, not the redirect, is measured; the redirect costs both the same).
# Usage: bench/uproxy.sh            (needs root, haproxy, wrk, iperf3: scripts/deps.sh bench)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "uproxy bench: needs root (network namespaces)"; exit 0; }
for t in haproxy wrk iperf3 python3; do command -v $t >/dev/null || { echo "uproxy bench: $t missing (scripts/deps.sh bench)"; exit 1; }; done
RUNS=${RUNS:-3}
DUR=${DUR:-5}
LOOPS=${LOOPS:-2}
make -s MODE=release build/release/libsvcplane.a
D=$(mktemp -d /tmp/svcplane-uproxy-bench.XXXXXX)
NS=svcp-ubench-$$
PIDS=()
cleanup() {
	set +e # a kill of a process already gone must not end the cleanup (set -e)
	local p
	exec 7>&- 8>&- 2>/dev/null
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
ip netns exec $NS iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $NS haproxy -f "$D/lb.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
HAPID=$!
mkfifo "$D/in1" "$D/in2"
ip netns exec $NS "$D/ub" rr "$LOOPS" 127.0.0.1:8081 <"$D/in1" >"$D/p1" & PIDS+=($!)
UPID=$!
ip netns exec $NS "$D/ub" rr "$LOOPS" 127.0.0.1:5201 <"$D/in2" >"$D/p2" & PIDS+=($!)
exec 7>"$D/in1" 8>"$D/in2"
for _ in $(seq 1 100); do [ -s "$D/p1" ] && [ -s "$D/p2" ] && break; sleep 0.05; done
UP_HTTP=$(awk '{print $2}' "$D/p1")
UP_IPERF=$(awk '{print $2}' "$D/p2")
for _ in $(seq 1 100); do nx bash -c 'exec 3<>/dev/tcp/127.0.0.1/9081' 2>/dev/null && break; sleep 0.05; done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# iperf3's server refuses a test while it still winds down the previous one: retry.
iperf() {
	local i
	for i in 1 2 3; do
		nx iperf3 -c 127.0.0.1 -p "$1" -t "$DUR" -J 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null && return 0
		sleep 1
	done
}
rps() { nx wrk -t2 -c64 -d"${DUR}s" "$@" | awk '/^Requests\/sec/ {print $2}'; }
lat() { nx wrk -t1 -c1 -d"${DUR}s" --latency "http://127.0.0.1:$1/" | awk -v q="$2" '$1 == q {v=$2; u=v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u); print (u == "ms" ? v * 1000 : u == "s" ? v * 1e6 : v)}'; }
run() { local i; for i in $(seq 1 "$RUNS"); do "$@"; done | median; }
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
printf 'figure\tdirect\tuproxy\thaproxy\tuproxy/haproxy\n'
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"; }
on iperf && row "iperf3 one stream (Gbit/s)" "$(run iperf 5201)" "$(run iperf "$UP_IPERF")" "$(run iperf 9201)"
on rps && row "wrk keep-alive (req/s)" "$(run rps http://127.0.0.1:8081/)" "$(run rps "http://127.0.0.1:$UP_HTTP/")" "$(run rps http://127.0.0.1:9081/)"
on conn && row "wrk new connection per request (conn/s)" "$(run rps -H 'Connection: close' http://127.0.0.1:8081/)" \
	"$(run rps -H 'Connection: close' "http://127.0.0.1:$UP_HTTP/")" "$(run rps -H 'Connection: close' http://127.0.0.1:9081/)"
if on lat; then
d50=$(run lat 8081 50%) d99=$(run lat 8081 99%)
u50=$(run lat "$UP_HTTP" 50%) u99=$(run lat "$UP_HTTP" 99%)
h50=$(run lat 9081 50%) h99=$(run lat 9081 99%)
row "latency p50 (us, wrk -c1)" "$d50" "$u50" "$h50"
row "latency p99 (us, wrk -c1)" "$d99" "$u99" "$h99"
row "added p50 over direct (us)" 0 "$(awk -v a="$u50" -v b="$d50" 'BEGIN {print a - b}')" "$(awk -v a="$h50" -v b="$d50" 'BEGIN {print a - b}')"
row "added p99 over direct (us)" 0 "$(awk -v a="$u99" -v b="$d99" 'BEGIN {print a - b}')" "$(awk -v a="$h99" -v b="$d99" 'BEGIN {print a - b}')"
fi
on rss && row "RSS per 10,000 idle connections (KiB)" "-" "$(idle_rss "$UP_HTTP" "$UPID")" "$(idle_rss 9081 "$HAPID")"
