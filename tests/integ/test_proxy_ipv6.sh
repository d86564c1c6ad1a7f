#!/usr/bin/env bash
# The Service proxy over IPv6 with real traffic on a two-node dual-stack cluster in
# namespaces (tests/integ/cluster.sh: node addresses 2001:db8::1x/64; pod CIDRs from
# 2001:db8:1::/48, Service range 198.19.0.0/16,2001:db8:5::/112), PROXY_MODE nftables
# (default) or iptables (ip6tables). Backends (tests/integ/echo_backend.py) answer HTTP with their name
# and the peer address they see. Checked: an IPv6-only Service and a dual-stack Service
# (PreferDualStack / RequireDualStack) reached on their IPv6 cluster IP from a pod on the
# same node and on another node, and from the node itself; NodePort over IPv6 from a
# client namespace outside the cluster with the source the backend sees (masqueraded for
# externalTrafficPolicy Cluster, the client's own address for Local, a node without a
# local endpoint does not answer); the dual-stack Service's IPv4 cluster IP still works;
# an IPv6 Service without endpoints refuses at once; an SCTP Service (both families)
# carries a message from a pod on n1 to its backend on n2 and the answer back (raw
# sockets: the kernel of these machines has no SCTP sockets, see below).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
MODE=${PROXY_MODE:-nftables}

cluster_nodes 2
case $CLUSTER_UP in *IPv6*) ;; *)
	echo "skip: no IPv6 on this machine"; T_SKIP=$((T_SKIP + 1)); finish; exit 0 ;;
esac

# A client outside the cluster, both families.
cluster_client svcp-client6 svcp-vc6 198.18.0.101 2001:db8::101
CLIENT6=2001:db8::101

SVC_RANGE=198.19.0.0/16,2001:db8:5::/112
POD_CIDR=198.18.128.0/17,2001:db8:1::/48
cluster_server --service-cluster-ip-range "$SVC_RANGE" --cluster-cidr "$POD_CIDR" --proxy-mode "$MODE" --disable-dns
cluster_agent 2 --cluster-cidr "$POD_CIDR" --proxy-mode "$MODE" --disable-dns

v6_cidrs() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDRs[1]}{"\n"}{end}' | grep -c '^2001:db8:1:')" = 2 ]; }
if wait_for 30 nodes_ready 2 && wait_for 10 v6_cidrs; then ok "2 nodes Ready with IPv6 podCIDRs"; else
	fail "2 nodes Ready with IPv6 podCIDRs" "$(kubectl get nodes -o wide 2>&1; tail -5 "$T_DIR"/agent2.err)"; fi

{
	echo_pod web-1 n1 "web, only: one"
	echo_pod web-2 n2 web
	echo_pod client-1 n1 client
	echo_pod client-2 n2 client
	echo_pod sctp-1 n2 sctp
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: web6}
spec: {ipFamilies: [IPv6], selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-ds}
spec: {ipFamilyPolicy: PreferDualStack, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-np6}
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv6, IPv4]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30090}]
---
apiVersion: v1
kind: Service
metadata: {name: web-local6}
spec:
  type: NodePort
  ipFamilies: [IPv6]
  externalTrafficPolicy: Local
  selector: {app: web, only: one}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30091}]
---
apiVersion: v1
kind: Service
metadata: {name: sctp}
spec: {ipFamilyPolicy: PreferDualStack, selector: {app: sctp}, ports: [{name: s, port: 9999, targetPort: 7777, protocol: SCTP}]}
---
apiVersion: v1
kind: Service
metadata: {name: nothing6}
spec: {ipFamilies: [IPv6], selector: {app: none}, ports: [{port: 80}]}
Y
} >"$T_DIR/all.yaml"
check "pods and Services applied" kubectl apply -f "$T_DIR/all.yaml"
check_ready "pods Ready" 60 web-1 web-2 client-1 client-2 sctp-1

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
podip6() { kubectl get pod "$1" -o jsonpath='{.status.podIPs[1].ip}'; }
in_pod() { local p=$1; shift; ip netns exec "svcp-pod-$(uid "$p")" "$@"; }
cips() { kubectl get svc "$1" -o jsonpath='{range .spec.clusterIPs[*]}{@} {end}'; }
expect_out "IPv6 Service gets one IPv6 cluster IP from 2001:db8:5::/112" '^2001:db8:5::[0-9a-f]+ $' cips web6
expect_out "PreferDualStack Service gets IPv4 then IPv6 cluster IPs" '^198\.19\.[0-9.]+ 2001:db8:5::[0-9a-f]+ $' cips web-ds
expect_out "RequireDualStack [IPv6, IPv4] Service gets IPv6 then IPv4 cluster IPs" '^2001:db8:5::[0-9a-f]+ 198\.19\.[0-9.]+ $' cips web-np6
WEB6=$(kubectl get svc web6 -o jsonpath='{.spec.clusterIP}')
DS6=$(kubectl get svc web-ds -o jsonpath='{.spec.clusterIPs[1]}')
DS4=$(kubectl get svc web-ds -o jsonpath='{.spec.clusterIPs[0]}')
eps6() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{range .items[?(@.addressType=="IPv6")].endpoints[*]}{.addresses[0]}{"\n"}{end}' | grep -c .)" = "$2" ]; }
check "web6 has 2 IPv6 endpoints" wait_for 20 eps6 web6 2
check "web-ds has 2 IPv6 endpoints" wait_for 20 eps6 web-ds 2

proxy_tools

# First requests may race the first sync of a node: poll until one answers.
wait_for 20 in_pod client-1 curl1 "http://[$WEB6]/" >/dev/null
expect_out "IPv6 ClusterIP from a pod on n1 reaches the backend on n1 and on n2" 'web-1 web-2' \
	names 30 in_pod client-1 curl1 "http://[$WEB6]/"
expect_out "IPv6 ClusterIP from a pod on n2 reaches both backends" 'web-1 web-2' \
	names 30 in_pod client-2 curl1 "http://[$WEB6]/"
expect_out "the backend sees the client pod's own IPv6 address" "^web-[12] $(podip6 client-2)\$" in_pod client-2 curl1 "http://[$WEB6]/"
wait_for 20 in_pod client-1 curl1 "http://[$DS6]/" >/dev/null
expect_out "dual-stack Service on its IPv6 cluster IP, both backends" 'web-1 web-2' \
	names 30 in_pod client-1 curl1 "http://[$DS6]/"
expect_out "dual-stack Service on its IPv4 cluster IP" '^web-[12] 198\.18\.' in_pod client-2 curl1 "http://$DS4/"
wait_for 20 $CL exec n2 curl -gsS --max-time 3 "http://[$WEB6]/" >/dev/null
expect_out "IPv6 ClusterIP from node n2 itself" '^web-[12] ' $CL exec n2 curl -gsS --max-time 3 "http://[$WEB6]/"
expect_out "IPv6 ClusterIP from node n1 itself (the server's embedded agent)" '^web-[12] ' $CL exec n1 curl -gsS --max-time 3 "http://[$DS6]/"

# NodePort over IPv6 from outside, to both nodes: Cluster policy masquerades.
for i in 1 2; do
	wait_for 20 cx curl1 "http://[2001:db8::$((10 + i))]:30090/" >/dev/null
	expect_out "IPv6 NodePort from outside via n$i answers, source masqueraded" '^web-[12] 2001:db8:' \
		cx curl1 "http://[2001:db8::$((10 + i))]:30090/"
	out=$(names 10 cx sh -c "curl -gsS --max-time 3 'http://[2001:db8::$((10 + i))]:30090/' | awk '{print \$2}'")
	case " $out " in *" $CLIENT6 "*) fail "n$i: a backend saw the client's own address under Cluster policy" "$out" ;;
	*) ok "n$i: no backend saw the client's own IPv6 address under Cluster policy ($out)" ;; esac
done
expect_out "the same NodePort over IPv4 via n2" '^web-[12] 198\.18\.' cx curl1 "http://198.18.0.12:30090/"

# externalTrafficPolicy Local over IPv6: the endpoint (web-1) is on n1 only.
wait_for 20 cx curl1 "http://[2001:db8::11]:30091/" >/dev/null
expect_out "IPv6 etp Local NodePort via n1: the backend sees the client's own address" "^web-1 $CLIENT6\$" \
	cx curl1 "http://[2001:db8::11]:30091/"
expect_fail "IPv6 etp Local NodePort via n2 (no local endpoint) does not answer" '.' \
	cx curl -gsS --max-time 2 "http://[2001:db8::12]:30091/"

# The IPv6 rules are in the kernel the mode names (ip6tables for iptables mode).
if [ "$MODE" = nftables ]; then
	expect_out "n2's nftables table holds the IPv6 cluster IP" "$WEB6" ip netns exec svcp-n2 nft list table inet svcplane_proxy
else
	expect_out "n2's ip6tables nat table holds the IPv6 cluster IP in KUBE-SERVICES" "-A KUBE-SERVICES -d $WEB6/128 .*KUBE-SVC-" \
		ip netns exec svcp-n2 ip6tables-save -t nat
fi

# An IPv6 Service with no endpoints refuses at once (well under the 5 s timeout).
NOTHING6=$(kubectl get svc nothing6 -o jsonpath='{.spec.clusterIP}')
refused() { local t0 t1 out; t0=$(date +%s%N); out=$(in_pod client-1 curl -gsS --max-time 5 "http://[$NOTHING6]/" 2>&1); t1=$(date +%s%N)
	echo "$out ($(((t1 - t0) / 1000000)) ms)"; echo "$out" | grep -qE "refused|reset|Couldn't connect" && [ $(((t1 - t0) / 1000000)) -lt 4000 ]; }
check "an IPv6 Service with no endpoints refuses at once" refused

# SCTP: this kernel has no SCTP sockets (CONFIG_IP_SCTP unset) but conntrack and NAT
# know SCTP, so tests/integ/sctpraw.py sends a hand-built INIT (carrying a message) over
# a raw socket from client-1 (n1) to the Service's cluster IP; the backend on n2 reads it
# on the target port and answers an INIT-ACK, which must come back from the cluster IP.
podip4() { kubectl get pod "$1" -o jsonpath='{.status.podIPs[0].ip}'; }
check "sctp has endpoints in both families" wait_for 20 sh -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=sctp -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{\"\\n\"}{end}' | grep -c .)\" = 2 ]"
(in_pod sctp-1 timeout 100 python3 "$ROOT/tests/integ/sctpraw.py" listen 7777 90 6 >"$T_DIR/sctp.out" 2>&1 &)
sctp_send() { # sctp_send ADDR MESSAGE: retried (bounded) until the INIT-ACK comes
	local i out
	for i in $(seq 1 20); do
		out=$(in_pod client-1 python3 "$ROOT/tests/integ/sctpraw.py" send "$1" 9999 "$2" 2>&1) && { echo "$out"; return 0; }
		sleep 0.5
	done
	echo "$out"; return 1
}
for fam in 0 1; do
	SCTP_IP=$(kubectl get svc sctp -o jsonpath="{.spec.clusterIPs[$fam]}")
	if [ $fam = 0 ]; then SRC=$(podip4 client-1); else SRC=$(podip6 client-1); fi
	expect_out "SCTP INIT to the cluster IP $SCTP_IP port 9999 answered from that address" "^INIT-ACK from $SCTP_IP:9999\$" \
		sctp_send "$SCTP_IP" "hello-sctp-$fam"
	expect_out "the SCTP backend on n2 got the message on its target port from client-1's address" "^hello-sctp-$fam $SRC\$" \
		grep "^hello-sctp-$fam " "$T_DIR/sctp.out"
done

cat "$T_DIR/agent2.err" >>"$T_DIR/server.err"
finish
