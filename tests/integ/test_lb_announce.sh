#!/usr/bin/env bash
# LoadBalancer addresses announced on the wire (ARP and NDP) by one elected node, and
# their failover, on a three-node cluster in namespaces (tests/integ/cluster.sh: server
# with its embedded agent in n1, agents in n2 and n3) with a client namespace on the same
# bridge. The pool (198.18.0.240/28, 2001:db8::f0/124) is inside the nodes' and the
# client's own subnets, so the client resolves LoadBalancer addresses by ARP / NDP as on a
# LAN. Node Leases last 2 s (--node-lease-duration 2).
#
# Addresses are requested (spec.loadBalancerIP) so that the owners are known: MetalLB's
# order (smallest sha256 of "<node>#<ip>", computed here with python's hashlib) puts n3
# first for 198.18.0.245 (then n2) and for 2001:db8::f5 (then n1), and n1 first for
# 198.18.0.242. Checked: each node renews its Lease in kube-node-lease; the client
# reaches 198.18.0.245 through ARP and 2001:db8::f5 through NDP, and `ip neigh` shows
# n3's MAC; a nodeAssigned event names n3; n3's /metrics lists the addresses, n1's does
# not; externalTrafficPolicy Local (198.18.0.242, endpoints on n2 only) is announced by
# n2, not by n1 whom the hash would pick; then n3's agent is SIGKILLed and n3's link
# taken down: the client's next new connection succeeds within the stated bound (Lease
# duration + 1 s, scaled by T_WAIT_SCALE for a busy machine) and its neighbour entries
# show n2's (IPv4) and n1's (IPv6) MAC.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
LEASE=2

cluster_nodes 3
V6=0
case $CLUSTER_UP in *IPv6*) V6=1 ;; esac

cluster_client svcp-client svcp-vc 198.18.0.100 "$([ $V6 = 1 ] && echo 2001:db8::100)"
proxy_tools

if [ $V6 = 1 ]; then
	SVC_RANGE=198.19.0.0/16,2001:db8:5::/112 POD_CIDR=198.18.128.0/17,2001:db8:1::/48 POOL=198.18.0.240/28,2001:db8::f0/124
else
	SVC_RANGE=198.19.0.0/16 POD_CIDR=198.18.128.0/17 POOL=198.18.0.240/28
fi
cluster_server --service-cluster-ip-range "$SVC_RANGE" --cluster-cidr "$POD_CIDR" --loadbalancer-ip-pool "$POOL" \
	--disable-dns --node-lease-duration $LEASE
for i in 2 3; do cluster_agent $i --cluster-cidr "$POD_CIDR" --disable-dns --node-lease-duration $LEASE; done

check_nodes_ready 3 30
leases() { [ "$(kubectl get leases -n kube-node-lease -o jsonpath='{range .items[*]}{.spec.holderIdentity}={.metadata.name}/{.spec.leaseDurationSeconds} {end}')" = "n1=n1/$LEASE n2=n2/$LEASE n3=n3/$LEASE " ]; }
check "every node renews its Lease in kube-node-lease" wait_for 10 leases
expect_out "kubectl get leases prints the holder" '^n2 +n2 +[0-9]+s' sh -c "kubectl get leases -n kube-node-lease --no-headers | grep '^n2 '"
renewed() {
	local a b
	a=$(kubectl get lease -n kube-node-lease n2 -o jsonpath='{.spec.renewTime}')
	sleep 1
	b=$(kubectl get lease -n kube-node-lease n2 -o jsonpath='{.spec.renewTime}')
	[ -n "$a" ] && [ "$a" != "$b" ]
}
check "a Lease's renewTime moves (renewed every duration/4)" wait_for 10 renewed

# MetalLB's order, computed independently: the owner of IP among the given nodes.
owner() { python3 -c 'import hashlib,sys; ip=sys.argv[1]; print(min(sys.argv[2:], key=lambda n: hashlib.sha256((n+"#"+ip).encode()).digest()))' "$@"; }
check "hash order as planned: .245 -> n3 then n2, .242 -> n1, ::f5 -> n3 then n1" \
	test "$(owner 198.18.0.245 n1 n2 n3) $(owner 198.18.0.245 n1 n2) $(owner 198.18.0.242 n1 n2 n3) $(owner 2001:db8::f5 n1 n2 n3) $(owner 2001:db8::f5 n1 n2)" = "n3 n2 n1 n3 n1"

{
	echo_pod web-1 n1 web
	echo_pod web-2 n2 web
	echo_pod loc-2 n2 loc
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, loadBalancerIP: 198.18.0.245, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: loc}
spec:
  type: LoadBalancer
  loadBalancerIP: 198.18.0.242
  externalTrafficPolicy: Local
  selector: {app: loc}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
Y
	[ $V6 = 1 ] && cat <<Y
apiVersion: v1
kind: Service
metadata: {name: web6}
spec: {type: LoadBalancer, ipFamilies: [IPv6], loadBalancerIP: "2001:db8::f5", selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
Y
} >"$T_DIR/all.yaml"
check "pods and Services applied" kubectl apply -f "$T_DIR/all.yaml"
check_ready "pods Ready" 60 web-1 web-2 loc-2

mac() { ip -n "svcp-$1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
neigh_mac() { cx ip neigh show "$1" | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2; }
assigned() { # assigned SVC NODE: a nodeAssigned event on SVC names NODE
	kubectl get events --field-selector "reason=nodeAssigned,involvedObject.name=$1" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' |
		grep -q "announcing from node \"$2\" with protocol \"layer2\""
}
metrics() { curl -sSk --max-time 5 -H "Authorization: Bearer $TOKEN" "https://198.18.0.1$1:10250/metrics"; }
announced_on() { metrics "$1" | grep -q "^svcplane_lb_announced{ip=\"$2\",node=\"n$1\""; }

check "LoadBalancer IP 198.18.0.245 assigned" wait_for 10 sh -c "[ \"\$(kubectl get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" = 198.18.0.245 ]"
check "nodeAssigned event on web names n3" wait_for 10 assigned web n3
expect_out "client reaches 198.18.0.245 through ARP" '^web-[12] ' cx curl1 http://198.18.0.245/
expect_out "ip neigh on the client shows n3's MAC for 198.18.0.245" "^$(mac n3)\$" neigh_mac 198.18.0.245
check "n3's /metrics lists 198.18.0.245" wait_for 5 announced_on 3 198.18.0.245
if metrics 1 | grep -q 'ip="198.18.0.245"'; then fail "n1 does not announce 198.18.0.245" "$(metrics 1 | grep svcplane_lb)"; else ok "n1 does not announce 198.18.0.245"; fi
answered() { metrics 3 | grep -Eq 'svcplane_lb_layer2_responses_sent_total\{ip="198.18.0.245"\} [1-9]'; }
check "n3's /metrics counts the ARP replies it sent (published every second)" wait_for 5 answered

# externalTrafficPolicy Local: only n2 has an endpoint, so n2 (not n1, the hash's first) announces.
check "nodeAssigned event on loc names n2" wait_for 10 assigned loc n2
expect_out "client reaches the Local address 198.18.0.242 (its own address kept)" '^loc-2 198.18.0.100$' cx curl1 http://198.18.0.242/
expect_out "ip neigh shows n2's MAC for the Local address" "^$(mac n2)\$" neigh_mac 198.18.0.242
check "n2's /metrics lists 198.18.0.242" wait_for 5 announced_on 2 198.18.0.242
if metrics 1 | grep -q 'ip="198.18.0.242"'; then fail "n1 does not announce the Local address" "$(metrics 1 | grep svcplane_lb)"; else ok "n1 does not announce the Local address"; fi

if [ $V6 = 1 ]; then
	check "nodeAssigned event on web6 names n3" wait_for 10 assigned web6 n3
	expect_out "client reaches 2001:db8::f5 through NDP" '^web-[12] ' cx curl1 'http://[2001:db8::f5]/'
	expect_out "ip -6 neigh on the client shows n3's MAC for 2001:db8::f5" "^$(mac n3)\$" neigh_mac 2001:db8::f5
	check "n3's /metrics lists 2001:db8::f5" wait_for 5 announced_on 3 2001:db8::f5
else
	echo "skip: no IPv6 on this machine (NDP not checked)"; T_SKIP=$((T_SKIP + 1))
fi

# Failover: n3's agent SIGKILLed and its link down; the client's next new connection.
N2MAC=$(mac n2) N1MAC=$(mac n1)
t0=$(date +%s%N)
kill -9 "${AGENT_PIDS[3]}"
ip -n svcp-n3 link set eth0 down
ok=0
for _ in $(seq 1 $((60 * ${T_WAIT_SCALE:-3}))); do
	if cx curl -gsS --max-time 0.5 http://198.18.0.245/ >/dev/null 2>&1; then ok=1; break; fi
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
bound=$(((LEASE + 1) * 1000 * ${T_WAIT_SCALE:-3}))
echo "     failover: first new connection ${ms} ms after SIGKILL (Lease ${LEASE} s; stated bound $((LEASE + 1)) s)"
if [ $ok = 1 ] && [ $ms -le $bound ]; then ok "after n3's agent is killed, a new connection to 198.18.0.245 succeeds (${ms} ms)"; else
	fail "after n3's agent is killed, a new connection succeeds within $bound ms" "ok=$ok ${ms} ms; $(cx ip neigh; tail -5 "$T_DIR"/agent2.err)"; fi
expect_out "ip neigh now shows n2's MAC for 198.18.0.245" "^$N2MAC\$" neigh_mac 198.18.0.245
check "nodeAssigned event on web names n2" wait_for 10 assigned web n2
check "n2's /metrics lists 198.18.0.245" wait_for 5 announced_on 2 198.18.0.245
if [ $V6 = 1 ]; then
	check "client reaches 2001:db8::f5 again (NDP, new owner)" wait_for 10 cx curl -gsS --max-time 1 'http://[2001:db8::f5]/'
	expect_out "ip -6 neigh now shows n1's MAC for 2001:db8::f5" "^$N1MAC\$" neigh_mac 2001:db8::f5
fi
expect_out "Local address still announced by n2" "^$N2MAC\$" neigh_mac 198.18.0.242

finish
