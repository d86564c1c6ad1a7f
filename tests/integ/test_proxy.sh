#!/usr/bin/env bash
# The Service proxy with real traffic on a three-node cluster in namespaces
# (tests/integ/cluster.sh): the server with its embedded agent in n1, agents in n2 and
# n3, each programming its node's kernel (PROXY_MODE: nftables by default, or iptables).
# Backends are pods (tests/integ/echo_backend.py) answering HTTP (TCP 8080) and UDP (5353) with their name and the
# peer address they see. Checked: ClusterIP from a pod on the same node, from another
# node, from the node itself, and a pod to itself through its Service (hairpin);
# NodePort from a client namespace outside the cluster to every node with the source
# the backend sees (masqueraded for Cluster, the client's own for Local), node ports on
# 127.0.0.1, the healthCheckNodePort answers (200/503); the LoadBalancer address and its
# source ranges; ExternalName not proxied; a Service with no endpoints refuses at once;
# an unready pod gets no new connections; ClientIP affinity holds for its timeout then
# rebalances; a UDP flow follows its backend's replacement (conntrack cleanup); an agent
# SIGKILL and restart under a steady request load with zero failed requests; a pod's DNS
# query to the kube-dns address is answered by its own node (not DNATed).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
CL=tests/integ/cluster.sh
ROOT=$PWD
MODE=${PROXY_MODE:-nftables}

need_cluster

CLIENT_NS=svcp-client
AGENT_PIDS=()
LOAD_PID=
teardown() {
	local p ns
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	for p in "${AGENT_PIDS[@]}" $SERVER_PID; do kill -9 "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
		ip netns delete "$ns" 2>/dev/null
	done
	ip netns delete "$CLIENT_NS" 2>/dev/null
	"$ROOT/$CL" down >/dev/null 2>&1
	cleanup
}
trap teardown EXIT
trap 'exit 1' INT TERM HUP
$CL down >/dev/null 2>&1
ip netns delete "$CLIENT_NS" 2>/dev/null
$CL up 3 >/dev/null || { fail "cluster up"; finish; exit 1; }

# A client outside the cluster.
client_ns_up "$CLIENT_NS" svcp-vc 198.18.0.100 || { fail "client namespace up"; finish; exit 1; }
CLIENT_IP=198.18.0.100
cx() { ip netns exec "$CLIENT_NS" "$@"; }

mkdir -p "$T_DIR/data"
(nsenter --net=/run/netns/svcp-n1 "$SVCPLANE" server --data-dir "$T_DIR/data" --secure-port 0 --bind-address 198.18.0.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --loadbalancer-ip-pool 198.18.240.0/24 \
	--node-name n1 --node-ip 198.18.0.11 --proxy-mode "$MODE" \
	>"$T_DIR/server.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/server.pid")
SERVER_PID=$(cat "$T_DIR/server.pid")
for _ in $(seq 1 200); do grep -q '^kubeconfig:' "$T_DIR/server.out" 2>/dev/null && break; sleep 0.05; done
if ! grep -q '^kubeconfig:' "$T_DIR/server.out"; then
	fail "server with embedded agent starts" "$(cat "$T_DIR/server.out" "$T_DIR/server.err")"
	finish; exit 1
fi
export KUBECONFIG=$T_DIR/data/kubeconfig

start_agent() {
	local i=$1
	(nsenter --net=/run/netns/svcp-n"$i" "$SVCPLANE" agent --kubeconfig "$KUBECONFIG" --node-name "n$i" \
		--node-ip "198.18.0.$((10 + i))" --data-dir "$T_DIR/agent$i" --cluster-cidr 198.18.128.0/17 \
		--proxy-mode "$MODE" >>"$T_DIR/agent$i.out" 2>>"$T_DIR/agent$i.err" &
		echo $! >"$T_DIR/agent$i.pid")
	AGENT_PIDS[$i]=$(cat "$T_DIR/agent$i.pid")
}
start_agent 2
start_agent 3

wait_for() { local n=$(($1 * 5)); shift; local i; for i in $(seq 1 $n); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
ready_nodes() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = "$1" ]; }
if wait_for 30 ready_nodes 3; then ok "3 nodes Ready"; else fail "3 nodes Ready" "$(kubectl get nodes 2>&1; tail -5 "$T_DIR"/agent*.err)"; fi

# A UDP client that sends from a fixed source port and prints the answer.
cat >"$T_DIR/udpc.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[3]))); s.settimeout(1.0)
s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
try: print(s.recvfrom(2048)[0].decode().strip())
except socket.timeout: print("timeout"); sys.exit(1)
PY

: >"$T_DIR/ready3"
{
	echo_pod web-1 n1 web
	echo_pod web-2 n2 web
	echo_pod web-3 n2 web "$T_DIR/ready3"
	echo_pod udp-1 n2 udp
	echo_pod client-1 n1 client
	echo_pod client-3 n3 client
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec: {type: NodePort, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-local}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30081}]
---
apiVersion: v1
kind: Service
metadata: {name: web-fw}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [198.18.0.200/32]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 6}}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: nothing}
spec: {selector: {app: none}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: udp}
spec: {selector: {app: udp}, ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: outside}
spec: {type: ExternalName, externalName: svcplane-ext.example.invalid}
Y
} >"$T_DIR/all.yaml"
check "pods and Services applied" kubectl apply -f "$T_DIR/all.yaml"
if ! check "pods Ready" kubectl wait --for=condition=Ready pod web-1 web-2 web-3 udp-1 client-1 client-3 --timeout=60s; then
	kubectl get pods -o wide; tail -20 "$T_DIR"/agent*.err "$T_DIR/server.err"
fi

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
podip() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
cip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }
in_pod() { local p=$1; shift; ip netns exec "svcp-pod-$(uid "$p")" "$@"; }
WEB=$(cip web)
eps_n() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' | grep -c .)" = "$2" ]; }
check "web has 3 endpoints" wait_for 20 eps_n web 3

proxy_tools

# First requests may race the first sync of a node: poll until one answers.
wait_for 20 in_pod client-1 curl1 "http://$WEB/" >/dev/null
expect_out "ClusterIP from a pod on the same node reaches every backend" 'web-1 web-2 web-3' \
	names 40 in_pod client-1 curl1 "http://$WEB/"
expect_out "ClusterIP from a pod on another node" '^web-[123] 198\.18\.1' in_pod client-3 curl1 "http://$WEB/"
expect_out "the backend sees the client pod's own address" "^web-[123] $(podip client-3)\$" in_pod client-3 curl1 "http://$WEB/"
expect_out "ClusterIP from the node itself" '^web-[123] ' $CL exec n2 curl -sS --max-time 3 "http://$WEB/"
hairpin() { local i; for i in $(seq 1 40); do in_pod web-1 curl1 "http://$WEB/" | grep -q '^web-1 ' && return 0; done; return 1; }
check "hairpin: a pod reaches itself through its Service" hairpin

# NodePort (externalTrafficPolicy Cluster) from outside, to every node: masqueraded.
for i in 1 2 3; do
	expect_out "NodePort from outside via n$i, source masqueraded" '^web-[123] 198\.18\.' \
		cx curl1 "http://198.18.0.$((10 + i)):30080/"
	out=$(cx curl1 "http://198.18.0.$((10 + i)):30080/")
	case "$out" in *" $CLIENT_IP") fail "n$i: backend saw the client's own address under Cluster policy" "$out" ;; esac
done
expect_out "NodePort on 127.0.0.1 from the node" '^web-[123] ' $CL exec n3 curl -sS --max-time 3 "http://127.0.0.1:30080/"
# CVE-2020-8558: 127.0.0.1 node ports are not reachable from another host (route_localnet).
cx ip route add 127.100.0.0/16 via 198.18.0.11 2>/dev/null
expect_fail "127.0.0.0/8 from another host is dropped" '.' cx curl -sS --max-time 2 --interface 198.18.0.100 "http://127.100.0.1:30080/"

# externalTrafficPolicy Local: only nodes with a local endpoint answer, with the client's address.
expect_out "etp Local NodePort via n1: backend sees the client's own address" "^web-1 $CLIENT_IP\$" cx curl1 "http://198.18.0.11:30081/"
expect_out "etp Local NodePort via n2: local endpoint, client's address" "^web-[23] $CLIENT_IP\$" cx curl1 "http://198.18.0.12:30081/"
expect_fail "etp Local NodePort via n3 (no local endpoint) does not answer" '.' cx curl -sS --max-time 2 "http://198.18.0.13:30081/"
HC=$(kubectl get svc web-local -o jsonpath='{.spec.healthCheckNodePort}')
expect_out "healthCheckNodePort on n2: 200 with 2 local endpoints" '^200 .*"localEndpoints": 2' \
	sh -c "ip netns exec $CLIENT_NS curl -sS --max-time 3 -w '%{http_code} ' -o /dev/stdout http://198.18.0.12:$HC/ | tr -d '\n\t' | sed 's/^\(.*\)\(...\) $/\2 \1/'"
expect_out "healthCheckNodePort on n3: 503, no local endpoint" '^503' \
	cx curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://198.18.0.13:$HC/"
expect_out "health-check body names the Service" '"namespace": "default".*"name": "web-local"' \
	sh -c "ip netns exec $CLIENT_NS curl -sS --max-time 3 http://198.18.0.11:$HC/ | tr -d '\n\t'"

# LoadBalancer address (from the pool), reached through n1.
lbip() { kubectl get svc "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
check "LoadBalancer addresses assigned" wait_for 10 sh -c "[ -n \"\$(kubectl get svc web-local -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" ] && [ -n \"\$(kubectl get svc web-fw -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" ]"
LB=$(lbip web-local) LBFW=$(lbip web-fw)
cx ip route add 198.18.240.0/24 via 198.18.0.11
expect_out "LoadBalancer address (etp Local) via n1 keeps the client's address" "^web-1 $CLIENT_IP\$" cx curl1 "http://$LB/"
# n1 programs the address some time after the controller wrote it (a busy machine: seconds):
# the client inside the ranges gets through first, so the drop below is the guard's.
cx ip addr add 198.18.0.200/24 dev eth0
inside() { cx curl1 --interface 198.18.0.200 "http://$LBFW/" | grep -q '^web-[123] '; }
if wait_for 20 inside; then ok "loadBalancerSourceRanges: a client inside them gets through"; else
	fail "loadBalancerSourceRanges: a client inside them gets through" "$(cx curl1 --interface 198.18.0.200 "http://$LBFW/" 2>&1)"; fi
expect_fail "loadBalancerSourceRanges: a client outside them is dropped" '.' cx curl -sS --max-time 2 "http://$LBFW/"

# ExternalName: nothing programmed.
if [ "$MODE" = nftables ]; then
	expect_out "ExternalName Service is not proxied" '^0$' sh -c "ip netns exec svcp-n1 nft list table inet svcplane_proxy | grep -c 'default/outside'"
else
	expect_out "ExternalName Service is not proxied" '^0$' sh -c "ip netns exec svcp-n1 iptables-save -t nat | grep -c 'default/outside'"
fi

# No endpoints: refused at once (connection refused, well under the 5 s timeout).
refused() { local t0 t1 out; t0=$(date +%s%N); out=$(in_pod client-1 curl -sS --max-time 5 "http://$(cip nothing)/" 2>&1); t1=$(date +%s%N)
	echo "$out ($(((t1 - t0) / 1000000)) ms)"; echo "$out" | grep -qE "refused|reset|Couldn't connect" && [ $(((t1 - t0) / 1000000)) -lt 4000 ]; }
check "a Service with no endpoints refuses at once" refused

# Unready pod: no new connections.
rm -f "$T_DIR/ready3"
check "web-3 leaves the ready endpoints" wait_for 15 sh -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{\"\\n\"}{end}' | grep -c true)\" = 2 ]"
sleep 0.5
out=$(names 30 in_pod client-1 curl1 "http://$WEB/")
if echo "$out" | grep -q web-3; then fail "an unready pod gets no new connections" "$out"; else ok "an unready pod gets no new connections ($out)"; fi
: >"$T_DIR/ready3"

# ClientIP affinity with a 3 s timeout (web-3 ready again first: a change of the
# endpoint set starts affinity over).
check "web-3 ready again" wait_for 15 sh -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{\"\\n\"}{end}' | grep -c true)\" = 3 ]"
STICKY=$(cip sticky)
# ... and that change programmed on n3 (a changed endpoint set starts affinity over).
if [ "$MODE" = nftables ]; then
	sticky3() { ip netns exec svcp-n3 nft list chain inet svcplane_proxy svc4-default/sticky/tcp/http | grep -q 'mod 3'; }
else
	sticky3() { [ "$(ip netns exec svcp-n3 iptables-save -t nat | grep -c -- '--rcheck --seconds 6 ')" -ge 3 ]; }
fi
check "the sticky Service's 3 endpoints programmed on n3" wait_for 15 sticky3
first=$(in_pod client-3 curl1 "http://$STICKY/" | awk '{print $1}')
out=$(names 15 in_pod client-3 curl1 "http://$STICKY/")
if [ "$out" = "$first " ]; then ok "ClientIP affinity holds"; else
	fail "ClientIP affinity holds" "first $first, then: $out
$(ip netns exec svcp-n3 nft list ruleset 2>&1 | grep -B2 -A10 'sticky' | head -60)
$(tail -20 "$T_DIR/agent3.err")"
fi
rebalanced() { local i n; for i in $(seq 1 10); do sleep 6.5; n=$(in_pod client-3 curl1 "http://$STICKY/" | awk '{print $1}'); [ "$n" != "$first" ] && return 0; done; return 1; }
check "ClientIP affinity expires, then rebalances" rebalanced

# UDP: a flow with a fixed source port follows its backend's replacement.
UDP=$(cip udp)
expect_out "UDP through the Service" '^udp-1 ' in_pod client-3 python3 "$T_DIR/udpc.py" "$UDP" 53 40001
kubectl delete pod udp-1 --wait=false >/dev/null 2>&1
echo_pod udp-2 n3 udp | kubectl apply -f - >/dev/null
check "replacement UDP backend Ready" kubectl wait --for=condition=Ready pod udp-2 --timeout=40s
udp_follows() { local i; for i in $(seq 1 20); do in_pod client-3 python3 "$T_DIR/udpc.py" "$UDP" 53 40001 | grep -q '^udp-2 ' && return 0; sleep 0.5; done; return 1; }
check "the same UDP flow reaches the new backend (stale conntrack entry deleted)" udp_follows

# SIGKILL and restart n3's agent under load from client-3: no request fails.
cat >"$T_DIR/load.sh" <<EOF
#!/bin/bash
ok=0 bad=0
while [ ! -e "$T_DIR/load.stop" ]; do
	if curl -sS --max-time 3 "http://$WEB/" >/dev/null 2>&1; then ok=\$((ok + 1)); else bad=\$((bad + 1)); fi
	sleep 0.02
done
echo "\$ok \$bad" >"$T_DIR/load.result"
EOF
chmod +x "$T_DIR/load.sh"
(ip netns exec "svcp-pod-$(uid client-3)" timeout 120 "$T_DIR/load.sh" & echo $! >"$T_DIR/load.pid")
LOAD_PID=$(cat "$T_DIR/load.pid")
sleep 1
kill -9 "${AGENT_PIDS[3]}"
sleep 1
start_agent 3
restarted() { [ "$(grep -c 'registered' "$T_DIR/agent3.err" "$T_DIR/agent3.out" 2>/dev/null | awk -F: '{s += $2} END {print s}')" -ge 2 ]; }
wait_for 20 restarted
sleep 2
touch "$T_DIR/load.stop"
wait_for 10 test -s "$T_DIR/load.result"
read -r lok lbad <"$T_DIR/load.result" 2>/dev/null
if [ "${lbad:-1}" = 0 ] && [ "${lok:-0}" -gt 20 ]; then ok "agent SIGKILL + restart under load: $lok requests, 0 failed"; else
	fail "agent SIGKILL + restart under load" "ok=${lok:-?} failed=${lbad:-?}; $(tail -5 "$T_DIR/agent3.err")"; fi
LOAD_PID=
expect_out "restarted agent still serves the Service" '^web-[123] ' in_pod client-3 curl1 "http://$WEB/"

TOKEN=$(cat "$T_DIR/data/token")
# Node-local DNS with the proxy running: a pod's query to the kube-dns cluster IP is
# answered by its own node's server (the proxy NOTRACKs port 53 to that address, so no
# DNAT to the kube-dns endpoints, which are every Ready node): only n3's request counter
# moves, and n3's conntrack holds no entry for the queries.
KDNS=$(kubectl get svc -n kube-system kube-dns -o jsonpath='{.spec.clusterIP}')
KAPI=$(cip kubernetes)
dnsreq() { curl -sSk --max-time 5 -H "Authorization: Bearer $TOKEN" "https://198.18.0.$((10 + $1)):10250/metrics" |
	awk '/^coredns_dns_requests_total/ {s += $2} END {print s + 0}'; }
wait_for 20 sh -c "ip netns exec svcp-pod-$(uid client-3) dig +short +time=2 +tries=1 @$KDNS kubernetes.default.svc.cluster.local | grep -qx '$KAPI'"
b1=$(dnsreq 1) b2=$(dnsreq 2) b3=$(dnsreq 3)
ip netns exec svcp-n3 conntrack -D -p udp --orig-dst "$KDNS" >/dev/null 2>&1
expect_out "a pod's DNS query to the kube-dns cluster IP is answered, 5 of 5" "^($KAPI ){5}\$" \
	sh -c "for i in 1 2 3 4 5; do ip netns exec svcp-pod-$(uid client-3) dig +short +time=2 +tries=1 @$KDNS kubernetes.default.svc.cluster.local; done | tr '\n' ' '"
a1=$(dnsreq 1) a2=$(dnsreq 2) a3=$(dnsreq 3)
if [ $((a3 - b3)) -ge 5 ] && [ "$a1" = "$b1" ] && [ "$a2" = "$b2" ]; then
	ok "the queries were answered by the pod's own node n3 (requests n1 +$((a1 - b1)), n2 +$((a2 - b2)), n3 +$((a3 - b3)))"
else
	fail "the queries were answered by the pod's own node n3" "requests n1 $b1 -> $a1, n2 $b2 -> $a2, n3 $b3 -> $a3"
fi
expect_out "no conntrack entry for the node-local DNS queries (NOTRACK, no DNAT)" '^0$' \
	sh -c "ip netns exec svcp-n3 conntrack -L -p udp --orig-dst $KDNS 2>/dev/null | grep -c dport=53"
if [ "$MODE" = nftables ]; then
	expect_out "kube-dns's other traffic is still proxied: its cluster IP is in the service map" "$KDNS \\. (udp|17) \\. 53" \
		ip netns exec svcp-n3 nft list map inet svcplane_proxy service-ips4
else
	expect_out "kube-dns's other traffic is still proxied: its cluster IP is in KUBE-SERVICES" "-A KUBE-SERVICES -d $KDNS/32 .*--dport 53 -j KUBE-SVC-" \
		ip netns exec svcp-n3 iptables-save -t nat
fi

# The proxy's metrics on the agent's kubelet port (kube-proxy's names).
expect_out "agent /metrics: sync duration histogram and network programming latency" \
	'kubeproxy_sync_proxy_rules_duration_seconds_count [1-9].*kubeproxy_network_programming_duration_seconds_count [1-9]' \
	sh -c "curl -sSk --max-time 5 -H 'Authorization: Bearer $TOKEN' https://198.18.0.12:10250/metrics | tr '\n' ' '"
for f in "$T_DIR"/agent*.err; do cat "$f" >>"$T_DIR/server.err"; done
finish
