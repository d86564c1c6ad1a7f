#!/usr/bin/env bash
# Figure (issue 5): pod start to Ready (p50/p99) for N pods without probes on one node,
# and the resident memory of the agent (the server's embedded agent and, separately, a
# `svcplane agent` process) with N pods running. One node namespace from
# tests/integ/cluster.sh; only 198.18.0.0/15 addresses.
#   usage: bench/pod_start.sh [N] [burst|serial]
set -eu
cd "$(dirname "$0")/.."
N=${1:-100}
MODE=${2:-burst}
make -s MODE=release build/release/svcplane
BIN=$PWD/build/release/svcplane
D=$(mktemp -d /tmp/svcplane-podbench.XXXXXX)
exec 9>/run/svcplane-cluster.lock
flock -w 600 9 || { echo "pod_start: the cluster lock is busy (another test cluster is up)"; exit 1; }
done_() {
	{ kill -9 ${SP:-} ${AG:-}; } 2>/dev/null || true
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null || true
		ip netns delete "$ns" 2>/dev/null || true
	done
	tests/integ/cluster.sh down >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap done_ EXIT
tests/integ/cluster.sh down >/dev/null 2>&1 || true
tests/integ/cluster.sh up 2 >/dev/null
mkdir -p "$D/data" "$D/agent"
nsenter --net=/run/netns/svcp-n1 "$BIN" server --data-dir "$D/data" --secure-port 0 --bind-address 198.18.0.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --disable-agent >"$D/server.out" 2>"$D/server.err" &
SP=$!
for _ in $(seq 1 200); do grep -q '^kubeconfig:' "$D/server.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$D/server.out" | head -n1)
nsenter --net=/run/netns/svcp-n2 "$BIN" agent --kubeconfig "$D/data/kubeconfig" --node-name n2 --node-ip 198.18.0.12 \
	--data-dir "$D/agent" >"$D/agent.out" 2>"$D/agent.err" &
AG=$!
for _ in $(seq 1 200); do
	curl -s --cacert "$D/data/pki/ca.crt" -H "Authorization: Bearer $(cat "$D/data/token")" \
		"https://198.18.0.11:$PORT/api/v1/nodes/n2" | grep -q podCIDR && break
	sleep 0.05
done
echo "agent idle: rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/$AG/status)"
python3 bench/pod_start.py "https://198.18.0.11:$PORT" "$(cat "$D/data/token")" "$D/data/pki/ca.crt" n2 "$N" "$MODE"
sleep 3 # steady state: the agent trims its heap a second after the last pod change
echo "agent with $N pods: rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/$AG/status) pss_kb=$(awk '/^Pss:/ {print $2}' /proc/$AG/smaps_rollup)"
