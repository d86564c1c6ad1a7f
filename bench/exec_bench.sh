#!/usr/bin/env bash
# Figures (issue 12): `kubectl exec pod -- true` round trip p50/p99 (WebSocket, and
# SPDY with kubectl 1.29), port-forward throughput against a direct connection to the
# pod (the peer: the same bytes without the API server and agent in the path), and the
# memory each open exec session costs the agent and the API server.
# Two node namespaces from tests/integ/cluster.sh (server in n1, agent in n2, the pod on
# n2); only 198.18.0.0/15 addresses.
#   usage: bench/exec_bench.sh [N execs] [MB] [sessions]
set -eu
cd "$(dirname "$0")/.."
N=${1:-50} MB=${2:-200} S=${3:-20}
make -s MODE=release build/release/svcplane
BIN=$PWD/build/release/svcplane
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
D=$(mktemp -d /tmp/svcplane-execbench.XXXXXX)
exec 9>/run/svcplane-cluster.lock
flock -w 1800 9
PIDS=
done_() {
	{ kill -9 ${SP:-} ${AG:-} $PIDS; wait; } 2>/dev/null || true
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
mkdir -p "$D/data" "$D/www"
nsenter --net=/run/netns/svcp-n1 "$BIN" server --data-dir "$D/data" --secure-port 0 --bind-address 198.18.0.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --node-name n1 --node-ip 198.18.0.11 \
	>"$D/server.out" 2>"$D/server.err" &
SP=$!
for _ in $(seq 1 600); do grep -q '^kubeconfig:' "$D/server.out" 2>/dev/null && break; sleep 0.1; done
export KUBECONFIG=$D/data/kubeconfig
nsenter --net=/run/netns/svcp-n2 "$BIN" agent --kubeconfig "$KUBECONFIG" --node-name n2 --node-ip 198.18.0.12 \
	--data-dir "$D/agent2" >"$D/agent.out" 2>"$D/agent.err" &
AG=$!
head -c $((MB * 1000000)) /dev/zero >"$D/www/big.bin"
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, workingDir: $D/www, command: [python3, -m, http.server, '8080']}
Y
kubectl wait --for=condition=Ready pod/web --timeout=120s >/dev/null
for _ in $(seq 1 100); do kubectl exec web -- true 2>/dev/null && break; sleep 0.2; done

pct() { sort -n | awk '{a[NR]=$1} END {printf "%.1f / %.1f", a[int(NR*0.5+0.5)], a[int(NR*0.99+0.5)]}'; }
rt() { # rt KUBECTL: N round trips in ms
	for _ in $(seq 1 "$N"); do
		local s e; s=$(date +%s%N); "$1" exec web -- true; e=$(date +%s%N)
		echo $(((e - s) / 100000)) | awk '{print $1/10}'
	done
}
echo "exec round trip p50 / p99 ms (kubectl $(kubectl version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'), WebSocket: $(rt kubectl | pct)"
[ -x "$KDIR/kubectl.1.29" ] && echo "exec round trip p50 / p99 ms (kubectl 1.29, SPDY): $(rt "$KDIR/kubectl.1.29" | pct)"
# what kubectl alone costs: a request that needs no exec (get of the same pod)
echo "kubectl get pod web p50 / p99 ms (for scale): $(for _ in $(seq 1 "$N"); do s=$(date +%s%N); kubectl get pod web >/dev/null; e=$(date +%s%N); echo $(((e - s) / 100000)) | awk '{print $1/10}'; done | pct)"

IP=$(kubectl get pod web -o jsonpath='{.status.podIP}')
mbps() { # mbps CMD...: MB/s of CMD's transfer (median of 3)
	for _ in 1 2 3; do
		local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
		echo "$MB $(((e - s) / 1000000))" | awk '{printf "%.0f\n", $1 * 1000 / $2}'
	done | sort -n | sed -n 2p
}
echo "direct to the pod (from node n1's namespace), MB/s: $(mbps nsenter --net=/run/netns/svcp-n1 curl -sS -o /dev/null http://$IP:8080/big.bin)"
for v in default 1.29; do
	K=kubectl; [ $v = default ] || K=$KDIR/kubectl.$v
	: >"$D/pf.$v"
	"$K" port-forward pod/web :8080 >"$D/pf.$v" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 1 100); do grep -q 'Forwarding from 127' "$D/pf.$v" && break; sleep 0.1; done
	LP=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$D/pf.$v" | head -n1)
	echo "port-forward ($v), MB/s: $(mbps curl -sS -o /dev/null http://127.0.0.1:$LP/big.bin)"
done

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
a0=$(rss $AG) s0=$(rss $SP)
for _ in $(seq 1 "$S"); do kubectl exec web -- sleep 60 & PIDS="$PIDS $!"; done
for _ in $(seq 1 100); do [ "$(pgrep -fc 'sleep 60$' || true)" -ge "$S" ] && break; sleep 0.2; done
sleep 1
a1=$(rss $AG) s1=$(rss $SP)
echo "memory per open exec session ($S sessions): agent $(((a1 - a0) / S)) KiB, API server $(((s1 - s0) / S)) KiB (RSS deltas; agent $a0 -> $a1 KiB, server $s0 -> $s1 KiB)"
