#!/usr/bin/env bash
# The userspace Service proxy's edges, with real traffic on a one-node dual-stack cluster
# in namespaces (tests/integ/cluster.sh; the server with its embedded agent in n1,
# --proxy-mode userspace). Backends are pods running tests/integ/uproxy_backend.py (TCP
# 9000: greets with its name, then echoes) and echo_backend.py (UDP 5353); the clients are
# tests/integ/uproxy_edge.py and uproxy_client.py, run in n1. Checked:
#   - a backend whose connect TIMES OUT (its pod's namespace drops SYNs to the port, an
#     nft rule; the pod stays Ready) is retried past after the connect timeout (1 s) with
#     no client-visible error, and no client is reset;
#   - a terminating backend (its endpoint turned ready: false, serving: true,
#     terminating: true) keeps its established connection while new connections go to
#     the other backend only. The Service has no selector and its EndpointSlice is
#     written here: this apiserver deletes a pod without finalizers at once (no
#     graceful deletion), so a pod never stays Terminating with its process running;
#     the slice is what the endpoint controller writes for such a pod;
#   - node ports answer on ::1 as on 127.0.0.1, TCP and UDP (IPv6 only when the machine
#     has it);
#   - idle timeouts, shortened through the test-only environment overrides
#     SVCPLANE_UPROXY_TCP_IDLE_MS=4000 and SVCPLANE_UPROXY_UDP_IDLE_MS=3000 (the defaults
#     are 900 s and 30 s): a silent TCP connection is closed no earlier than 4 s while
#     one that echoes every 0.5 s lives on; a UDP flow is kept while used and forgotten
#     no earlier than 3 s after its last datagram (the proxy's flow gauge and counter
#     on /metrics say so), the next datagram making a new flow.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

TCP_IDLE_MS=4000
UDP_IDLE_MS=3000
KEEP_PID=
cluster_down_hook() { [ -n "$KEEP_PID" ] && kill "$KEEP_PID" 2>/dev/null; }
SVCPLANE_UPROXY_TCP_IDLE_MS=$TCP_IDLE_MS SVCPLANE_UPROXY_UDP_IDLE_MS=$UDP_IDLE_MS \
	cluster_up 1 --service-cluster-ip-range 198.19.0.0/16,2001:db8:5::/112 \
	--cluster-cidr 198.18.128.0/17,2001:db8:1::/48 --proxy-mode userspace --disable-dns
V6=
case $CLUSTER_UP in *IPv6*) V6=1 ;; esac
node_ready() { kubectl get nodes -o jsonpath='{.items[0].status.conditions[?(@.type=="Ready")].status}' | grep -q True; }
check "node Ready" wait_for 30 node_ready

BACKEND=$ROOT/tests/integ/uproxy_backend.py
EDGE="python3 $ROOT/tests/integ/uproxy_edge.py"
UCLIENT="python3 $ROOT/tests/integ/uproxy_client.py"
METRICS=https://198.18.0.11:10250/metrics
n1() { $CL exec n1 "$@"; }
# pod NAME APP: a backend pod on n1 running uproxy_backend.py NAME.
pod() {
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $2}}
spec:
  nodeName: n1
  containers:
  - name: c
    image: python
    command: [python3, $BACKEND, $1]
---
Y
}
svc() { # svc NAME APP PORTS [TYPE]
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec: {type: ${4:-ClusterIP}, ipFamilyPolicy: PreferDualStack, selector: {app: $2}, ports: $3}
---
Y
}
{
	pod to-1 to
	pod to-2 to
	pod to-drop to
	pod tm-1 tm
	pod tm-2 tm
	pod np-1 npt
	echo_pod u-1 n1 npu
	svc s-to to "[{port: 90, targetPort: 9000}]"
	echo "apiVersion: v1
kind: Service
metadata: {name: s-tm}
spec: {ports: [{name: t, port: 90, targetPort: 9000}]}
---"
	svc s-npt npt "[{port: 90, targetPort: 9000, nodePort: 30190}]" NodePort
	svc s-npu npu "[{port: 53, targetPort: 5353, protocol: UDP, nodePort: 30153}]" NodePort
} >"$T_DIR/all.yaml"
check "pods and Services applied" kubectl apply -f "$T_DIR/all.yaml"
check_ready "pods Ready" 60 to-1 to-2 to-drop tm-1 tm-2 np-1 u-1

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
pip() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
cip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }
# eps SVC: "name:ready:terminating" of each endpoint of SVC's IPv4 slice
eps() { kubectl get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{range .items[?(@.addressType=="IPv4")].endpoints[*]}{.targetRef.name}:{.conditions.ready}:{.conditions.terminating}{"\n"}{end}' | sort; }
ready_n() { [ "$(eps "$1" | grep -c ':true:')" = "$2" ]; }
check "s-to has 3 ready endpoints" wait_for 20 ready_n s-to 3
# tm_slice TM2_CONDITIONS: s-tm's EndpointSlice (tm-1 ready, tm-2 as given), by hand.
tm_slice() {
	cat <<Y
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s-tm-by-hand
  labels: {kubernetes.io/service-name: s-tm, endpointslice.kubernetes.io/managed-by: test.svcplane.io}
addressType: IPv4
ports: [{name: t, port: 9000, protocol: TCP}]
endpoints:
- {addresses: ["$(pip tm-1)"], conditions: {ready: true, serving: true, terminating: false}, targetRef: {kind: Pod, name: tm-1}}
- {addresses: ["$(pip tm-2)"], conditions: $1, targetRef: {kind: Pod, name: tm-2}}
Y
}
tm_slice '{ready: true, serving: true, terminating: false}' >"$T_DIR/tm-ready.yaml"
check "s-tm's EndpointSlice written" kubectl apply -f "$T_DIR/tm-ready.yaml"
check "s-tm has 2 ready endpoints" wait_for 20 ready_n s-tm 2
wait_for 20 n1 $UCLIENT seq "$(cip s-to)" 90 1

metric() { n1 curl -sSk --max-time 5 -H "Authorization: Bearer $(cat "$T_DIR/data/token")" "$METRICS" | awk -v m="$1" '$1 == m {print $2}'; }

# ---- a backend whose connect times out -------------------------------------------------
DROP=$(pip to-drop)
ip netns exec "svcp-pod-$(uid to-drop)" nft -f - <<'N'
table inet svcp_drop {
	chain in { type filter hook input priority 0; policy accept; tcp dport 9000 drop; }
}
N
expect_out "to-drop's port now drops SYNs: a direct connect times out (not refused)" '^timeout$' \
	n1 $EDGE probe "$DROP" 9000
expect_out "to-drop's pod is still Ready" '^True$' kubectl get pod to-drop -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
R0=$(metric svcplane_uproxy_retries_total) X0=$(metric svcplane_uproxy_resets_total)
expect_out "12 connections with a SYN-dropping backend listed: all answered, none by it" '^to-1 to-2 12$' \
	sh -c "$CL exec n1 $UCLIENT seq $(cip s-to) 90 12 >$T_DIR/to.out 2>&1; sort -u $T_DIR/to.out | tr '\n' ' '; grep -c '^to-' $T_DIR/to.out"
R1=$(metric svcplane_uproxy_retries_total) X1=$(metric svcplane_uproxy_resets_total)
# rr over three backends: every third connection chose to-drop and waited out the 1 s
# connect timeout before the next backend.
expect_out "the proxy retried past the timeouts (retries +4 or more) and reset no client" '^[4-9][0-9]* 0$' \
	echo "$((R1 - R0)) $((X1 - X0))"

# ---- a terminating backend keeps its connection, gets no new ones -------------------
rm -f "$T_DIR/go"
(n1 $EDGE keep 2 "$(cip s-tm)" 90 "$T_DIR/go" >"$T_DIR/keep.out" 2>&1 & echo $! >"$T_DIR/keep.pid")
KEEP_PID=$(cat "$T_DIR/keep.pid")
held_two() { [ "$(grep -c '^tm-' "$T_DIR/keep.out")" = 2 ]; }
check "two held connections, one per backend" wait_for 20 held_two
expect_out "the held connections reach tm-1 and tm-2" '^tm-1 tm-2 $' sh -c "grep '^tm-' $T_DIR/keep.out | sort | tr '\n' ' '"
tm_slice '{ready: false, serving: true, terminating: true}' >"$T_DIR/tm-term.yaml"
check "tm-2's endpoint turned terminating (serving, not ready)" kubectl apply -f "$T_DIR/tm-term.yaml"
terminating() { eps s-tm | grep -q '^tm-2:false:true$'; }
check "the API shows tm-2 terminating, not ready" wait_for 20 terminating
# New connections: none to tm-2 once the proxy applied the change (a bounded wait for it).
none_to_tm2() { n1 $UCLIENT seq "$(cip s-tm)" 90 6 | sort -u | tr '\n' ' ' | grep -qx 'tm-1 '; }
check "new connections all go to tm-1" wait_for 20 none_to_tm2
expect_out "10 more new connections: all tm-1" '^tm-1 10$' \
	sh -c "$CL exec n1 $UCLIENT seq $(cip s-tm) 90 10 >$T_DIR/tm.out 2>&1; sort -u $T_DIR/tm.out | tr '\n' ' '; grep -c '^tm-' $T_DIR/tm.out"
touch "$T_DIR/go"
done_keep() { grep -q '^echo' "$T_DIR/keep.out"; }
wait_for 20 done_keep
expect_out "both held connections, the one to terminating tm-2 too, still echo" '^echo ok$' \
	sh -c "grep -E '^(echo|FAIL)' $T_DIR/keep.out"
KEEP_PID=

# ---- node ports on loopback, both families ---------------------------------------------
expect_out "NodePort on 127.0.0.1 (TCP)" '^np-1$' n1 $UCLIENT seq 127.0.0.1 30190 1
cat >"$T_DIR/udpc.py" <<'PY'
import socket, sys
h = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2.0)
for _ in range(3):
    s.sendto(b"x", (h, int(sys.argv[2])))
    try: print(s.recvfrom(2048)[0].decode().strip()); sys.exit(0)
    except socket.timeout: pass
print("timeout"); sys.exit(1)
PY
expect_out "NodePort on 127.0.0.1 (UDP)" '^u-1 ' n1 python3 "$T_DIR/udpc.py" 127.0.0.1 30153
if [ -n "$V6" ]; then
	expect_out "the NodePort Services are dual-stack" '^IPv4 IPv6 IPv4 IPv6 ?$' \
		kubectl get svc s-npt s-npu -o jsonpath='{range .items[*]}{.spec.ipFamilies[0]} {.spec.ipFamilies[1]} {end}'
	has6() { kubectl get pod np-1 u-1 -o jsonpath='{range .items[*]}{.status.podIPs[1].ip}{"\n"}{end}' | grep -c : | grep -qx 2; }
	check "the backends have IPv6 addresses" wait_for 20 has6
	expect_out "NodePort on ::1 (TCP)" '^np-1$' n1 $UCLIENT seq ::1 30190 1
	expect_out "NodePort on ::1 (UDP)" '^u-1 ' n1 python3 "$T_DIR/udpc.py" ::1 30153
else
	echo "skip: NodePort on ::1 (no IPv6 on this machine)"; T_SKIP=$((T_SKIP + 1))
fi

# ---- idle timeouts -------------------------------------------------------------------
expect_out "TCP: a silent connection is closed after the idle timeout, a busy one lives on" \
	'idle closed after [0-9.]+ s.active survived' sh -c "$CL exec n1 $EDGE idle-tcp $(cip s-npt) 90 $TCP_IDLE_MS | tr '\n' '.'"
expect_out "UDP: a flow is kept while used and forgotten after its idle timeout" '^flow kept while used' \
	n1 $EDGE idle-udp "$(cip s-npu)" 53 "$UDP_IDLE_MS" "$METRICS" "$T_DIR/data/token"

finish
