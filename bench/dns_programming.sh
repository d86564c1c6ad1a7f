#!/usr/bin/env bash
# Figure: DNS programming latency, from a Service create (the API's reply) to `svcplane
# dns` answering its name, and from its delete to NXDOMAIN, with BACKGROUND other
# Services in the zone (each change rebuilds the whole snapshot: this shows its cost).
#   usage: bench/dns_programming.sh [SAMPLES] [BACKGROUND]
. "$(dirname "$0")/lib.sh"
SAMPLES=${1:-100} BG=${2:-10000}
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
sp_start "$BD/sp"
build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" 16 "$BG" >/dev/null
P=$((20000 + RANDOM % 30000))
build/release/svcplane dns --kubeconfig "$BD/sp/kubeconfig" --listen 127.0.0.1 --port "$P" --workers 1 \
	--dns-upstream 127.0.0.1:9 ${DNS_ARGS:-} >"$BD/dns.out" 2>"$BD/dns.err" &
DNS=$!
trap 'kill -9 $DNS 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 1 100); do grep -q 'zone snapshot' "$BD/dns.err" && break; sleep 0.1; done
echo "background: $BG Services; $(grep -o 'zone snapshot.*' "$BD/dns.err" | head -n1)"
SP_TOKEN=$SP_TOKEN timeout 900 python3 bench/dns_programming.py "$SP_URL" "$SP_CA" "$P" --samples "$SAMPLES" || { tail -n 20 "$BD/dns.err"; exit 1; }
grep -o "zone snapshot.*" "$BD/dns.err" | tail -n 3
