#!/usr/bin/env bash
# bench/ha_failover.sh - two figures of issue 16 (bench/RESULTS.md): how long until the
# standby server's controller manager takes over after the leading server is SIGKILLed,
# and how long until a node's agent, connected to that server, follows changes again
# through the other one.
#
# Usage: bench/ha_failover.sh [RUNS] [LEASE RENEW RETRY]   (default: 5 runs, 15s 10s 2s:
#        kube-controller-manager's defaults)
#
# A four-node namespace cluster (tests/integ/cluster.sh, under the machine's cluster
# lock), release build: etcd (one member) in n2, server A in n3, server B in n4 (both on
# that etcd, one token), and `svcplane agent --server L,S` in n1, so it starts on the
# leader L. Each run, at t0: SIGKILL of L, then a Service is created through S at once.
#   takeover  = the Lease kube-system/kube-controller-manager names S's identity
#               (polled every 100 ms through S), minus t0;
#   reconnect = the new Service's cluster IP is in n1's nftables ruleset (polled every
#               50 ms), minus t0: the agent noticed, moved to S, resumed its watches from
#               its last resourceVersion, and its proxy programmed the change.
# Then L restarts (as the standby) and the agent restarts with the new order. Prints each
# run, then the median and min / max of both.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "ha failover bench: needs root (network namespaces)"; exit 0; }
command -v etcd >/dev/null || { echo "ha failover bench: etcd not installed (scripts/deps.sh)"; exit 1; }
RUNS=${1:-5} LEASE=${2:-15s} RENEW=${3:-10s} RETRY=${4:-2s}
make -s MODE=release build/release/svcplane || exit 1
SP=$(readlink -f build/release/svcplane)
CL=tests/integ/cluster.sh
D=$(mktemp -d /tmp/svcplane-habench.XXXXXX)
ETCD= AGENT=
declare -A SRV
done_() {
	for p in $ETCD $AGENT ${SRV[A]:-} ${SRV[B]:-}; do kill -9 "$p" 2>/dev/null; done
	pkill -9 -f "$D/" 2>/dev/null
	$CL down >/dev/null 2>&1
	rm -rf "$D"
}
exec 9>/run/svcplane-cluster.lock
flock -w 1800 9 || { echo "no cluster lock"; exit 1; }
trap done_ EXIT
$CL down >/dev/null 2>&1
$CL up 4 >/dev/null || exit 1
(nsenter --net=/run/netns/svcp-n2 etcd --name e --data-dir "$D/etcd" --listen-client-urls http://198.18.0.12:2379 \
	--advertise-client-urls http://198.18.0.12:2379 --listen-peer-urls http://198.18.0.12:2380 \
	--initial-advertise-peer-urls http://198.18.0.12:2380 --initial-cluster e=http://198.18.0.12:2380 \
	>"$D/etcd.log" 2>&1 & echo $! >"$D/etcd.pid")
ETCD=$(cat "$D/etcd.pid")
for _ in $(seq 1 300); do curl -sf -m 1 http://198.18.0.12:2379/health | grep -q true && break; sleep 0.1; done
head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$D/token"
declare -A IP=([A]=198.18.0.13 [B]=198.18.0.14) NS=([A]=svcp-n3 [B]=svcp-n4)
now() { date +%s.%N; }
ms() { awk "BEGIN{printf \"%d\", ($2 - $1) * 1000}"; }
start_srv() { # start_srv A|B: waits until it serves; its identity goes to $D/X.id
	local x=$1
	: >"$D/$x.out"
	(nsenter --net=/run/netns/${NS[$x]} "$SP" server --data-dir "$D/$x" --bind-address "${IP[$x]}" --secure-port 6443 \
		--disable-agent --datastore-endpoint etcd://198.18.0.12:2379 --token-file "$D/token" \
		--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 \
		--leader-elect-lease-duration "$LEASE" --leader-elect-renew-deadline "$RENEW" --leader-elect-retry-period "$RETRY" \
		>"$D/$x.out" 2>"$D/$x.err" & echo $! >"$D/$x.pid")
	SRV[$x]=$(cat "$D/$x.pid")
	for _ in $(seq 1 600); do grep -q '^kubeconfig:' "$D/$x.out" 2>/dev/null && break; sleep 0.1; done
	for _ in $(seq 1 100); do
		sed -nE 's/.*leader election: candidate ([^ ]+) for Lease.*/\1/p' "$D/$x.err" >"$D/$x.id"
		[ -s "$D/$x.id" ] && break
		sleep 0.1
	done
}
K() { kubectl --kubeconfig "$D/A/kubeconfig" --server "https://${IP[$1]}:6443" "${@:2}"; }
holder() { K "$1" get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
start_srv A
for _ in $(seq 1 300); do [ "$(holder A)" = "$(cat "$D/A.id")" ] && break; sleep 0.1; done
start_srv B
L=A S=B
TK=() RC=()
for run in $(seq 1 "$RUNS"); do
	[ -n "$AGENT" ] && { kill -9 "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	(nsenter --net=/run/netns/svcp-n1 "$SP" agent --server "https://${IP[$L]}:6443,https://${IP[$S]}:6443" \
		--token-file "$D/token" --ca-file "$D/A/pki/ca.crt" --node-name n1 --node-ip 198.18.0.11 \
		--data-dir "$D/agent" --disable-dns >>"$D/agent.out" 2>>"$D/agent.err" & echo $! >"$D/agent.pid")
	AGENT=$(cat "$D/agent.pid")
	# The agent follows changes through L: a Service made now shows in n1's rules.
	K "$L" create service clusterip "warm-$run" --tcp=80 >/dev/null
	wip=$(K "$L" get svc "warm-$run" -o jsonpath='{.spec.clusterIP}')
	for _ in $(seq 1 600); do ip netns exec svcp-n1 nft list ruleset 2>/dev/null | grep -q "$wip" && break; sleep 0.05; done
	[ "$(holder "$L")" = "$(cat "$D/$L.id")" ] || { echo "run $run: $L does not lead; skipped"; continue; }
	t0=$(now)
	kill -9 "${SRV[$L]}"
	K "$S" create service clusterip "after-$run" --tcp=80 >/dev/null
	aip=$(K "$S" get svc "after-$run" -o jsonpath='{.spec.clusterIP}')
	ta= tt=
	for _ in $(seq 1 1200); do
		[ -z "$ta" ] && ip netns exec svcp-n1 nft list ruleset 2>/dev/null | grep -q "$aip" && ta=$(now)
		[ -z "$tt" ] && [ "$(holder "$S")" = "$(cat "$D/$S.id")" ] && tt=$(now)
		[ -n "$ta" ] && [ -n "$tt" ] && break
		sleep 0.05
	done
	r=$([ -n "$ta" ] && ms "$t0" "$ta" || echo timeout) t=$([ -n "$tt" ] && ms "$t0" "$tt" || echo timeout)
	echo "run $run: killed server $L; takeover by $S after $t ms; agent reconnected after $r ms"
	[ -n "$tt" ] && TK+=("$t")
	[ -n "$ta" ] && RC+=("$r")
	start_srv "$L"
	x=$L L=$S S=$x
done
stats() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {if (NR) printf "median %d ms (min %d, max %d, %d runs)", v[int((NR+1)/2)], v[1], v[NR], NR; else printf "no runs"}'; }
echo "takeover (lease $LEASE, renew $RENEW, retry $RETRY): $(stats "${TK[@]}")"
echo "agent reconnect: $(stats "${RC[@]}")"
