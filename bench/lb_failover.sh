#!/usr/bin/env bash
# bench/lb_failover.sh - LoadBalancer failover time (bench/RESULTS.md, issue 18): the
# owner of a LoadBalancer address is killed, how long until a client on the same
# layer-2 segment makes a new connection again.
#
# Usage: bench/lb_failover.sh [RUNS] [LEASE_SECONDS]   (default: 20 runs, Lease 2 s)
#
# A three-node namespace cluster (tests/integ/cluster.sh, under the machine's cluster
# lock): the server with its embedded agent in n1, agents in n2 and n3, release build,
# backends on n1 and n2, Service "web" with loadBalancerIP 198.18.0.245 (MetalLB's order
# puts n3 first, n2 second) and a client namespace on the bridge. Each run: SIGKILL of
# n3's agent and n3's link down at t0 (the owner node going away), then the client
# connects every 50 ms (TCP connect with a 50 ms timeout, then an HTTP GET answered by a
# backend) until one succeeds: that time is the figure. Then n3's link and agent come
# back, and the next run waits until the client's neighbour entry shows n3's MAC
# again (n3 took the address back: its gratuitous ARP arrived) and a request succeeds.
# Prints each run's milliseconds, then p50 / p99 / min / max; and the takeover's delay
# after the Lease expired: n2's "lb: announcing" log line minus (n3's last renewTime +
# the duration), both on this machine's clock.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lb failover bench: needs root (network namespaces)"; exit 0; }
RUNS=${1:-20} LEASE=${2:-2}
make -s MODE=release build/release/svcplane || exit 1
SP=$(readlink -f build/release/svcplane)
CL=tests/integ/cluster.sh
D=$(mktemp -d /tmp/svcplane-lbbench.XXXXXX)
C=svcp-lbclient
SERVER= A2= A3=
done_() {
	for p in $SERVER $A2 $A3; do kill -9 "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
		ip netns delete "$ns" 2>/dev/null
	done
	pkill -9 -f "$D/" 2>/dev/null
	ip netns delete $C 2>/dev/null
	$CL down >/dev/null 2>&1
	for m in $(awk -v d="$D/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
	rm -rf "$D"
}
exec 9>/run/svcplane-cluster.lock
flock -w 1800 9 || { echo "no cluster lock"; exit 1; }
trap done_ EXIT
$CL down >/dev/null 2>&1
$CL up 3 >/dev/null || exit 1
ip netns add $C && ip link add svcp-vlb type veth peer name eth0 netns $C && ip link set svcp-vlb master svcp-br0 up &&
	ip -n $C addr add 198.18.0.100/24 dev eth0 && ip -n $C link set eth0 up && ip -n $C link set lo up || exit 1

(nsenter --net=/run/netns/svcp-n1 "$SP" server --data-dir "$D/data" --secure-port 0 --bind-address 198.18.0.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --loadbalancer-ip-pool 198.18.0.240/28 \
	--node-name n1 --node-ip 198.18.0.11 --disable-dns --node-lease-duration "$LEASE" >"$D/server.out" 2>"$D/server.err" &
	echo $! >"$D/server.pid")
SERVER=$(cat "$D/server.pid")
for _ in $(seq 1 600); do grep -q '^kubeconfig:' "$D/server.out" 2>/dev/null && break; sleep 0.1; done
export KUBECONFIG=$D/data/kubeconfig
agent() { # agent I: starts node I's agent, prints its pid
	(nsenter --net=/run/netns/svcp-n"$1" "$SP" agent --kubeconfig "$KUBECONFIG" --node-name "n$1" \
		--node-ip "198.18.0.$((10 + $1))" --data-dir "$D/agent$1" --cluster-cidr 198.18.128.0/17 --disable-dns \
		--node-lease-duration "$LEASE" >>"$D/agent$1.out" 2>>"$D/agent$1.err" & echo $!)
}
A2=$(agent 2) A3=$(agent 3)
poll() { local n=$1; shift; for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
ready3() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 3 ]; }
poll 600 ready3 || { echo "nodes not Ready"; exit 1; }
backend=$(readlink -f tests/integ/echo_backend.py)
kubectl apply -f - >/dev/null <<Y || exit 1
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, image: python, command: [python3, $backend, web-1]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec: {nodeName: n2, containers: [{name: c, image: python, command: [python3, $backend, web-2]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, loadBalancerIP: 198.18.0.245, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
Y
kubectl wait --for=condition=Ready pod web-1 web-2 --timeout=180s >/dev/null || exit 1
N3MAC=$(ip -n svcp-n3 -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
on_n3() { ip netns exec $C curl -sS --max-time 1 http://198.18.0.245/ >/dev/null && ip -n $C neigh show 198.18.0.245 | grep -q "$N3MAC"; }

cat >"$D/probe.py" <<'PY'
import os, signal, socket, subprocess, sys, time
pid, ip = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
os.kill(pid, signal.SIGKILL)
subprocess.run(["ip", "-n", "svcp-n3", "link", "set", "eth0", "down"], check=True)
while time.monotonic() - t0 < 60:
    s = socket.socket(); s.settimeout(0.05)
    try:
        s.connect((ip, 80)); s.settimeout(1)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        if s.recv(100):
            print(int((time.monotonic() - t0) * 1000)); sys.exit(0)
    except OSError:
        time.sleep(max(0, 0.05 - (time.monotonic() - t0) % 0.05))
    finally:
        s.close()
print("timeout"); sys.exit(1)
PY
: >"$D/ms"
: >"$D/late"
for r in $(seq 1 "$RUNS"); do
	poll 300 on_n3 || { echo "run $r: n3 did not take 198.18.0.245 back"; exit 1; }
	ms=$(ip netns exec $C python3 "$D/probe.py" "$A3" 198.18.0.245) || { echo "run $r: no connection"; exit 1; }
	renew=$(kubectl get lease -n kube-node-lease n3 -o jsonpath='{.spec.renewTime}')
	# (logged before its first gratuitous ARP, so before the client could connect)
	take=$(grep "lb: announcing 198.18.0.245 (default/web) from n2" "$D/agent2.err" | tail -n 1 | awk '{print $2}')
	late=$(python3 -c 'import sys, datetime as d
r = d.datetime.strptime(sys.argv[1][:26], "%Y-%m-%dT%H:%M:%S.%f")
h, m, s = sys.argv[2].split(":"); t = int(h) * 3600 + int(m) * 60 + float(s)
e = r.hour * 3600 + r.minute * 60 + r.second + r.microsecond / 1e6 + int(sys.argv[3])
print(int(round(((t - e + 43200) % 86400 - 43200) * 1000)))' "$renew" "$take" "$LEASE")
	echo "run $r: ${ms} ms (takeover ${late} ms after the Lease expired)"
	echo "$ms" >>"$D/ms"
	echo "$late" >>"$D/late"
	ip -n svcp-n3 link set eth0 up
	A3=$(agent 3)
done
sort -n "$D/ms" | awk -v lease="$LEASE" '{a[NR]=$1} END {
	p50=a[int((NR+1)/2)]; i=int(NR*0.99+0.999); if (i>NR) i=NR; p99=a[i];
	printf "lease %d s, %d runs: failover p50 %d ms, p99 %d ms, min %d ms, max %d ms\n", lease, NR, p50, p99, a[1], a[NR] }'
sort -n "$D/late" | awk '{a[NR]=$1} END {
	p50=a[int((NR+1)/2)]; i=int(NR*0.99+0.999); if (i>NR) i=NR; p99=a[i];
	printf "takeover after the Lease expired: p50 %d ms, p99 %d ms, min %d ms, max %d ms\n", p50, p99, a[1], a[NR] }'
