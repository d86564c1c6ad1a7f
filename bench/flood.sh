#!/usr/bin/env bash
# Figure (issue 19): a legitimate client's reachability (share of fresh-connection GETs
# answered 200, and their latency) while an attacker on another loopback address holds
# 2,000 connections that never start TLS, or 1,100 TLS connections sending their head a
# byte a second. Release build, --disable-agent, loopback only, bounded in time.
#   usage: [MODES="none nohello slowloris multi multi-keepalive"] bench/flood.sh [SECONDS] [BINARY]
. "$(dirname "$0")/lib.sh"
S=${1:-30}
BIN=${2:-build/release/svcplane}
ulimit -n 20000
mkdir -p "$BD/sp"
"$BIN" server --data-dir "$BD/sp" --secure-port 0 --disable-agent --service-cluster-ip-range 198.19.0.0/16 \
	--cluster-cidr 198.18.128.0/17 >"$BD/sp.out" 2>"$BD/sp.err" &
SP=$!
for _ in $(seq 1 200); do grep -q kubeconfig "$BD/sp.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$BD/sp.out")
for mode in ${MODES:-none nohello slowloris}; do
	timeout $((S + 60)) python3 bench/flood.py "$PORT" "$BD/sp/pki/ca.crt" "$(cat "$BD/sp/token")" $mode "$S"
	sleep 2
done
echo "server rss_kb=$(rss_kb $SP)"
