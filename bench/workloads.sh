#!/usr/bin/env bash
# Figures (issue 14): on a two-node namespace cluster (server with its embedded agent in
# n1, `svcplane agent` in n2), time from `kubectl scale deployment --replicas=N` to N
# Ready pods, and from `kubectl set image` to a completed rollout of N pods (default
# 25%/25% strategy; complete = observedGeneration current, N updated, N available, no
# old pods); then the server's memory (API server + controllers, which run in it) with
# D Deployments of 0 replicas, against the same server started with --disable-controllers.
# Only 198.18.0.0/15 addresses.
#   usage: bench/workloads.sh [N] [D]      the whole set (needs root and the cluster lock)
#          bench/workloads.sh mem [D]      only the memory figure, on loopback, no nodes
set -eu
cd "$(dirname "$0")/.."
MEM_ONLY=
if [ "${1:-}" = mem ]; then
	MEM_ONLY=1
	shift
	set -- 0 "${1:-1000}"
fi
N=${1:-100}
DEPS=${2:-1000}
make -s MODE=release build/release/svcplane
BIN=$PWD/build/release/svcplane
D=$(mktemp -d /tmp/svcplane-wlbench.XXXXXX)
SP= AG=
if [ -z "$MEM_ONLY" ]; then
	exec 9>/run/svcplane-cluster.lock
	flock -w 1800 9
fi
done_() {
	{ kill -9 ${SP:-} ${AG:-}; } 2>/dev/null || true
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null || true
		ip netns delete "$ns" 2>/dev/null || true
	done
	[ -n "$MEM_ONLY" ] || tests/integ/cluster.sh down >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap done_ EXIT
if [ -z "$MEM_ONLY" ]; then
	tests/integ/cluster.sh down >/dev/null 2>&1 || true
	tests/integ/cluster.sh up 2 >/dev/null
fi

start_server() { # start_server DIR [flags]: in n1 (on loopback for mem), sets SP and KUBECONFIG
	local dir=$1
	shift
	mkdir -p "$dir"
	if [ -n "$MEM_ONLY" ]; then
		"$BIN" server --data-dir "$dir" --secure-port 0 --service-cluster-ip-range 198.19.0.0/16 \
			--cluster-cidr 198.18.128.0/17 "$@" >"$dir.out" 2>"$dir.err" &
	else
		nsenter --net=/run/netns/svcp-n1 "$BIN" server --data-dir "$dir" --secure-port 0 --bind-address 198.18.0.11 \
			--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --node-name n1 \
			--node-ip 198.18.0.11 "$@" >"$dir.out" 2>"$dir.err" &
	fi
	SP=$!
	for _ in $(seq 1 200); do grep -q '^kubeconfig:' "$dir.out" 2>/dev/null && break; sleep 0.05; done
	export KUBECONFIG=$dir/kubeconfig
}
ms() { date +%s%3N; }
wait_until() { # wait_until SECONDS CMD...: polls every 0.05 s
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.05
	done
}

if [ -z "$MEM_ONLY" ]; then
start_server "$D/data"
nsenter --net=/run/netns/svcp-n2 "$BIN" agent --kubeconfig "$KUBECONFIG" --node-name n2 --node-ip 198.18.0.12 \
	--data-dir "$D/agent2" >"$D/agent2.out" 2>"$D/agent2.err" &
AG=$!
two_ready() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 2 ]; }
wait_until 60 two_ready

kubectl create deployment bench --image=busybox --replicas=1 -- sleep 3600 >/dev/null
ready_is() { [ "$(kubectl get deploy bench -o jsonpath='{.status.readyReplicas}')" = "$1" ]; }
wait_until 60 ready_is 1
t0=$(ms)
kubectl scale deployment bench --replicas="$N" >/dev/null
wait_until 300 ready_is "$N"
t1=$(ms)
echo "scale 1 -> $N: $((t1 - t0)) ms to $N Ready pods"

complete() {
	local s
	s=$(kubectl get deploy bench -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.updatedReplicas} {.status.availableReplicas} {.status.replicas}')
	[ "$s" = "$(echo "$s" | awk -v n="$N" '{print $1, $1, n, n, n}')" ]
}
t0=$(ms)
kubectl set image deployment/bench busybox=busybox:2 >/dev/null
wait_until 600 complete
t1=$(ms)
echo "set image: $((t1 - t0)) ms to a completed rollout of $N pods"
kubectl scale deployment bench --replicas=0 >/dev/null
gone() { [ "$(kubectl get pods --no-headers 2>/dev/null | grep -c .)" = 0 ]; }
wait_until 300 gone
kill $AG
AG=
kill $SP
wait $SP 2>/dev/null || true
fi

# Memory with DEPS Deployments (0 replicas: a ReplicaSet each, no pods), with and without
# the controllers; the agent is off so only the control plane is counted.
for mode in controllers none; do
	flags=(--disable-agent)
	[ "$mode" = none ] && flags+=(--disable-controllers)
	start_server "$D/mem-$mode" "${flags[@]}"
	base=$(awk '/^VmRSS/ {print $2}' /proc/$SP/status)
	python3 - "$DEPS" <<'PY' | kubectl apply -f - >/dev/null
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d{i}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: d{i}}}}}
  template:
    metadata: {{labels: {{app: d{i}}}}}
    spec: {{containers: [{{name: c, image: busybox, command: [sleep, "3600"]}}]}}""")
PY
	if [ "$mode" = controllers ]; then
		rs_n() { [ "$(kubectl get rs --no-headers | grep -c .)" = "$DEPS" ]; }
		wait_until 300 rs_n
	fi
	sleep 3
	echo "server ($mode) RSS: $base kB idle, $(awk '/^VmRSS/ {print $2}' /proc/$SP/status) kB with $DEPS Deployments"
	kill $SP
	wait $SP 2>/dev/null || true
	SP=
done
