#!/usr/bin/env bash
# bench/proxy_latency.sh - network programming latency p50/p99 at RATE changes/s (issue
# 10): a server and an agent (proxy mode nftables, or MODE: iptables) in a network
# namespace of its own, SERVICES Services, slice writes at RATE/s for SECONDS; latency =
# from the slice's trigger time (set at write) to the kernel holding the change, as the
# proxy logs it. The measured phase starts once the agent has programmed the set-up, and
# the run ends once it has programmed every write (a slow backend's backlog is counted,
# not cut off). SVCPLANE_IPTABLES=legacy runs the iptables mode on iptables-legacy.
#   usage: bench/proxy_latency.sh [SERVICES] [RATE] [SECONDS] [MODE]
# SERVER_NICE, CLIENT_NICE: run the server or the writing client at that nice value.
# TARGET_REF=1: every endpoint names a Pod (targetRef), as controller-made slices do.
# TRACE=1: the server logs each write's stages too, and bench/write_path.py prints where
# every write's time went, stage by stage (client, API server, store, watch, agent).
# DATA_ON=DIR: the server's data dir (the SQLite store and its WAL) under DIR, e.g. a tmpfs
# (/dev/shm; /tmp here is the disk), where fsync costs nothing: the figure without the
# disk, our software path alone. The disk's fdatasync probe stays on the disk (/tmp).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "proxy latency bench: needs root (network namespaces)"; exit 0; }
SERVICES=${1:-100} RATE=${2:-100} SECONDS_=${3:-10} MODE=${4:-nftables}
# SVCPLANE_BIN: a binary built elsewhere (an older commit, for before/after runs taken in turns).
BIN=${SVCPLANE_BIN:-build/release/svcplane}
[ -n "${SVCPLANE_BIN:-}" ] || make -s MODE=release build/release/svcplane
# Hold the test cluster's lock: this run's agent and its load never overlap a test
# cluster (both share /run/netns and the machine's 2 cores).
# NO_LOCK=1 runs beside them (figures then include the test clusters' load: say so).
if [ -z "${NO_LOCK:-}" ]; then
	exec 9>/run/svcplane-cluster.lock
	flock -w 900 9 || { echo "proxy latency bench: cluster lock busy"; exit 1; }
fi
if [ -n "${DATA_ON:-}" ]; then
	[ -d "$DATA_ON" ] && [ -w "$DATA_ON" ] || { echo "proxy latency bench: DATA_ON=$DATA_ON: not a writable directory"; exit 1; }
fi
NS=svcp-npl-$$ D=$(mktemp -d /tmp/svcplane-npl.XXXXXX) DD= PID= APID=
trap 'for p in $PID $APID; do kill -9 $p 2>/dev/null; done; ip netns delete $NS 2>/dev/null; rm -rf "$D" ${DD:+"$DD"}' EXIT
# DATA: the server's data dir; on the disk with $D unless DATA_ON puts it elsewhere.
DATA=$D/data
if [ -n "${DATA_ON:-}" ]; then
	DD=$(mktemp -d "$DATA_ON/svcplane-npl.XXXXXX") DATA=$DD/data
fi
echo "server data dir: $DATA ($(stat -f -c %T "$(dirname "$DATA")")), fsync probe: $D ($(stat -f -c %T "$D"))"
ip netns add $NS
ip -n $NS link set lo up
ip -n $NS addr add 198.18.9.1/32 dev lo
SV=
[ -n "${TRACE:-}" ] && SV=-v
(nsenter --net=/run/netns/$NS nice -n "${SERVER_NICE:-0}" "$BIN" server $SV --data-dir "$DATA" --secure-port 0 --disable-agent \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 >"$D/out" 2>"$D/err" &
	echo $! >"$D/pid")
PID=$(cat "$D/pid")
for _ in $(seq 1 200); do grep -q kubeconfig "$D/out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$D/out")
# The agent alone in its own process, so its memory is its own.
(nsenter --net=/run/netns/$NS "$BIN" agent -v --kubeconfig "$DATA/kubeconfig" --node-name npl \
	--node-ip 198.18.9.1 --data-dir "$D/agent" --cluster-cidr 198.18.128.0/17 --proxy-mode "$MODE" \
	>"$D/aout" 2>"$D/aerr" & echo $! >"$D/apid")
APID=$(cat "$D/apid")
for _ in $(seq 1 100); do grep -q 'agent: node npl' "$D/aerr" 2>/dev/null && break; sleep 0.1; done
# Settled: every set-up Service's slice programmed (one sample each); the count of
# samples then is where the measured phase's start in the log.
L="network programming latency"
SP_TOKEN=$(cat "$DATA/token") nsenter --net=/run/netns/$NS nice -n "${CLIENT_NICE:-0}" python3 bench/proxy_latency.py "https://127.0.0.1:$PORT" \
	"$DATA/pki/ca.crt" --services "$SERVICES" --rate "$RATE" --seconds "$SECONDS_" ${TRACE:+--trace "$D/ctrace"} \
	--cpu "server=$PID,agent=$APID" --fsync-probe "$D" \
	--settle "n=\$(grep -c '$L' '$D/aerr'); [ \$n -ge $SERVICES ] && echo \$n >'$D/l0'" \
	--finish "grep -q 'default/fin $L' '$D/aerr'" | tee "$D/py"
# Only the samples of the measured phase (after the set-up's, without the last "fin").
L0=$(cat "$D/l0")
grep "$L" "$D/aerr" | tail -n +"$((L0 + 1))" | grep -v "default/fin $L" >"$D/phase"
grep -oE "$L [0-9.]+ ms" "$D/phase" | awk '{print $4}' | sort -n >"$D/lat"
# The agent's own part: from the watch event's arrival to the kernel's ack.
grep -oE 'event to kernel [0-9.]+ ms' "$D/phase" | awk '{print $4}' | sort -n >"$D/evk"
grep -oE 'queued [0-9.]+, sync [0-9.]+, cpu [0-9.]+' "$D/phase" | tr -d , | awk '{print $2, $4, $6}' >"$D/qs"
[ -n "${KEEP_LOG:-}" ] && cp "$D/aerr" "$KEEP_LOG"
[ -n "${TRACE:-}" ] && { python3 bench/write_path.py "$D/ctrace" "$D/err" "$D/aerr" || true; }
[ -n "${KEEP_LOG:-}" ] && [ -n "${TRACE:-}" ] && cp "$D/err" "$KEEP_LOG.server" && cp "$D/ctrace" "$KEEP_LOG.client"
python3 - "$D/lat" "$MODE" "$SERVICES" "$RATE" "$D/evk" <<'PY'
import sys
v = [float(x) for x in open(sys.argv[1]) if x.strip()]
e = [float(x) for x in open(sys.argv[5]) if x.strip()]
if not v:
    print("no samples"); sys.exit(1)
p = lambda v, q: v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]
print("%s: %d Services, %s changes/s: network programming latency p50 %.2f ms p99 %.2f ms max %.2f ms (%d samples)"
      % (sys.argv[2], int(sys.argv[3]), sys.argv[4], p(v, 0.5), p(v, 0.99), v[-1], len(v)))
if e:
    print("  of which the agent (watch event to kernel): p50 %.2f ms p99 %.2f ms max %.2f ms" % (p(e, 0.5), p(e, 0.99), e[-1]))
qs = [l.split() for l in open(sys.argv[5].replace("evk", "qs")) if l.strip()]
if qs:
    q = sorted(float(a) for a, b, c in qs)
    s = sorted(float(b) for a, b, c in qs)
    c = sorted(float(c) for a, b, c in qs)
    print("    waiting for the sync thread p50 %.2f p99 %.2f ms; the sync p50 %.2f p99 %.2f ms (its CPU p50 %.2f p99 %.2f ms)"
          % (p(q, 0.5), p(q, 0.99), p(s, 0.5), p(s, 0.99), p(c, 0.5), p(c, 0.99)))
PY
echo "agent RSS: $(awk '/^VmRSS/ {print $2}' /proc/$APID/status) kB, server RSS: $(awk '/^VmRSS/ {print $2}' /proc/$PID/status) kB"
