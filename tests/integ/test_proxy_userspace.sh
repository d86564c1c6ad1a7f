#!/usr/bin/env bash
# The userspace Service proxy (--proxy-mode userspace) with real traffic on a two-node
# cluster in namespaces (tests/integ/cluster.sh): the server with its embedded agent in
# n1, an agent in n2, both in userspace mode. Backends are pods running
# tests/integ/uproxy_backend.py (TCP 9000: greets with its name, then echoes) and
# echo_backend.py (UDP 5353); clients are tests/integ/uproxy_client.py, curl and a
# python UDP client. Checked: balancing across pods from a pod and from the node itself;
# every scheduler chosen by the svcplane.io/scheduler annotation gives the distribution
# its definition says, each by a check the other schedulers fail (tests/integ/
# uproxy_sched.py: rr exact turns; lc/sed/nq new connections to the idle backends, none
# to the one holding connections; sh and mh each of 12 client source addresses on the
# backend its hash computes; dh each of 9 service addresses (cluster IP, externalIPs) on
# its computed backend whatever the source; random every backend and back-to-back
# repeats), a bad value is a Warning event and rr; ClientIP affinity holds; UDP through the cluster IP;
# node ports on 127.0.0.1 (TCP and UDP) and from outside; an established connection
# survives an unrelated endpoint change; a backend whose process was killed while its
# pod stays Ready is retried past with no client-visible error; a Service without
# endpoints refuses at once; the nft table is gone after the agent stops.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

LONG_PID=
cluster_down_hook() { [ -n "$LONG_PID" ] && kill "$LONG_PID" 2>/dev/null; }
cluster_nodes 2
cluster_client svcp-uclient svcp-uvc 198.18.0.101
cluster_server --loadbalancer-ip-pool 198.18.240.0/24 --proxy-mode userspace --allow-service-external-ips
cluster_agent 2 --cluster-cidr 198.18.128.0/17 --proxy-mode userspace

check_nodes_ready 2 30

BACKEND=$ROOT/tests/integ/uproxy_backend.py
UCLIENT=$ROOT/tests/integ/uproxy_client.py
# nm_pod NAME NODE [dead]: a name/echo backend; "dead" runs it in the background of a
# shell that outlives it, so killing the python process leaves the pod Ready.
nm_pod() {
	local cmd="command: [python3, $BACKEND, $1]"
	[ "${3:-}" = dead ] && cmd="command: [sh, -c, 'python3 $BACKEND $1 & while :; do sleep 1000; done']"
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: nm}}
spec:
  nodeName: $2
  containers:
  - name: c
    image: python
    $cmd
---
Y
}
svc() { # svc NAME [SCHEDULER] [extra spec lines]
	echo "apiVersion: v1
kind: Service
metadata:
  name: $1"
	[ -n "${2:-}" ] && echo "  annotations: {svcplane.io/scheduler: \"$2\"}"
	echo "spec:
  selector: {app: nm}
  ports: [{name: t, port: 90, targetPort: 9000}]
${3:-}
---"
}
{
	nm_pod nm-1 n1
	nm_pod nm-2 n2
	nm_pod nm-3 n2
	echo_pod udp-1 n2 udp
	echo_pod client-1 n1 client
	for s in rr lc sed nq sh mh random; do svc "s-$s" "$s"; done
	svc s-dh dh "  externalIPs: [$(seq -s, -f '198.18.64.%g' 1 8)]"
	svc s-bad "fastest"
	svc s-sticky "" "  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 30}}"
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: s-np}
spec: {type: NodePort, selector: {app: nm}, ports: [{name: t, port: 90, targetPort: 9000, nodePort: 30090}]}
---
apiVersion: v1
kind: Service
metadata: {name: s-fw}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [198.18.0.200/32]
  selector: {app: nm}
  ports: [{name: t, port: 90, targetPort: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: s-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  selector: {app: nm}
  ports: [{name: t, port: 90, targetPort: 9000, nodePort: 30091}]
---
apiVersion: v1
kind: Service
metadata: {name: udp}
spec:
  type: NodePort
  selector: {app: udp}
  ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP, nodePort: 30053}]
---
apiVersion: v1
kind: Service
metadata: {name: nothing}
spec: {selector: {app: none}, ports: [{port: 80}]}
Y
} >"$T_DIR/all.yaml"
check "pods and Services applied" kubectl apply -f "$T_DIR/all.yaml"
check_ready "pods Ready" 60 nm-1 nm-2 nm-3 udp-1 client-1

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
cip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }
in_pod() { local p=$1; shift; ip netns exec "svcp-pod-$(uid "$p")" "$@"; }
eps_n() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}' | grep -c .)" = "$2" ]; }
for s in rr lc sed nq dh sh mh random bad sticky np local; do
	wait_for 20 eps_n "s-$s" 3 || fail "s-$s has 3 ready endpoints" "$(kubectl get endpointslices -o wide 2>&1)"
done
# seq N SVC [FROM]: the backends' names of N sequential connections, counted
cseq() { in_pod client-1 python3 "$UCLIENT" seq "$(cip "$2")" 90 "$1" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' '; }
distinct() { in_pod client-1 python3 "$UCLIENT" "$@" | sort -u | grep -c '^nm-' ; }
wait_for 20 in_pod client-1 python3 "$UCLIENT" seq "$(cip s-rr)" 90 1 >/dev/null

# Balancing and rr: 30 connections, exactly 10 each (one client, one proxy, IPVS turns).
expect_out "rr: 30 connections from a pod go 10 to each backend" '^nm-1=10 nm-2=10 nm-3=10 $' cseq 30 s-rr
expect_out "a bad scheduler value falls back to rr" '^nm-1=10 nm-2=10 nm-3=10 $' cseq 30 s-bad
warned() { kubectl get events -o jsonpath='{range .items[*]}{.type} {.reason} {.involvedObject.name} {.message}{"\n"}{end}' | grep -E '^Warning UnknownScheduler s-bad .*"fastest"'; }
check "a bad scheduler value is a Warning event on the Service" wait_for 20 warned
# Every scheduler against its definition, from the client namespace outside the cluster
# (through n1, whose proxy sees each source address): uproxy_sched.py says what each
# check is and why the other schedulers fail it.
SRCS=$(seq -s, -f '198.18.0.%g' 120 131)
for a in ${SRCS//,/ }; do cx ip addr add "$a/24" dev eth0; done
cx ip route add 198.19.0.0/16 via 198.18.0.11
cx ip route add 198.18.64.0/24 via 198.18.0.11
SCHED="python3 $ROOT/tests/integ/uproxy_sched.py"
BES=$(kubectl get pods nm-1 nm-2 nm-3 -o jsonpath='{range .items[*]}{.status.podIP}={.metadata.name},{end}')
BES=${BES%,}
METRICS=https://198.18.0.11:10250/metrics
expect_out "rr: 30 connections from outside take exact turns" '^ok ' cx $SCHED rr "$(cip s-rr)" 90 30
for s in lc sed nq; do
	expect_out "$s: new connections go to the idle backends, none to the busy one" '^ok ' \
		cx $SCHED least "$(cip "s-$s")" 90 "$METRICS" "$T_DIR/data/token"
done
for s in sh mh; do
	expect_out "$s: each of 12 client addresses reaches the backend its hash computes" '^ok ' \
		cx $SCHED "$s" "$(cip "s-$s")" 90 "$SRCS" 9000 "$BES"
done
expect_out "dh: each of 9 service addresses reaches its computed backend from any source" '^ok ' \
	cx $SCHED dh 90 "$(cip s-dh),$(seq -s, -f '198.18.64.%g' 1 8)" "${SRCS%%,198.18.0.124*}" 9000 "$BES"
expect_out "random: 60 connections reach every backend, with back-to-back repeats" '^ok ' \
	cx $SCHED random "$(cip s-random)" 90 60
# The checks tell the schedulers apart: rr, the default, fails every other one's.
expect_out "the lc/sed/nq check fails on rr" '^FAIL with nm-[123] holding 3, 6 new held connections went' cx $SCHED least "$(cip s-rr)" 90 "$METRICS" "$T_DIR/data/token"
expect_out "the sh check fails on rr" '^FAIL 198\.18\.0\.[0-9]+: want ' cx $SCHED sh "$(cip s-rr)" 90 "$SRCS" 9000 "$BES"
expect_out "the mh check fails on rr" '^FAIL 198\.18\.0\.[0-9]+: want ' cx $SCHED mh "$(cip s-rr)" 90 "$SRCS" 9000 "$BES"
expect_out "the dh check fails on rr" '^FAIL 198\.18\.0\.12[0-3] -> ' cx $SCHED dh 90 "$(cip s-rr)" "${SRCS%%,198.18.0.124*}" 9000 "$BES"
expect_out "the random check fails on rr" '^FAIL 60 connections: .*, 0 back-to-back repeats' cx $SCHED random "$(cip s-rr)" 90 60
expect_out "ClientIP affinity: 20 connections from one pod reach one backend" '^1$' distinct seq "$(cip s-sticky)" 90 20

# From the node itself (nat output redirect to the proxy on 127.0.0.1).
expect_out "cluster IP from the node itself reaches every backend" '^3$' \
	sh -c "$CL exec n1 python3 $UCLIENT seq $(cip s-rr) 90 9 | sort -u | wc -l"
# Node ports: 127.0.0.1 on the node, TCP and UDP, and the node's address from outside.
expect_out "NodePort on 127.0.0.1 (TCP) from the node" '^nm-[123]$' $CL exec n2 python3 "$UCLIENT" seq 127.0.0.1 30090 1
expect_out "NodePort from outside via n1 and n2" '^nm-[123] nm-[123] $' \
	sh -c "for n in 11 12; do ip netns exec $CLIENT_NS python3 $UCLIENT seq 198.18.0.\$n 30090 1; done | tr '\n' ' '"
cat >"$T_DIR/udpc.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2.0)
for _ in range(3):
    s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
    try: print(s.recvfrom(2048)[0].decode().strip()); sys.exit(0)
    except socket.timeout: pass
print("timeout"); sys.exit(1)
PY
expect_out "UDP through the cluster IP from a pod" '^udp-1 ' in_pod client-1 python3 "$T_DIR/udpc.py" "$(cip udp)" 53
expect_out "UDP NodePort on 127.0.0.1 from the node" '^udp-1 ' $CL exec n1 python3 "$T_DIR/udpc.py" 127.0.0.1 30053
expect_out "UDP NodePort from outside" '^udp-1 ' cx python3 "$T_DIR/udpc.py" 198.18.0.12 30053

# Local traffic policies: node-local endpoints only (n1 has nm-1, n2 has nm-2 and nm-3).
expect_out "externalTrafficPolicy Local via n1: only n1's endpoint" '^nm-1 $' \
	sh -c "ip netns exec $CLIENT_NS python3 $UCLIENT seq 198.18.0.11 30091 10 | sort -u | tr '\n' ' '"
expect_out "externalTrafficPolicy Local via n2: only n2's endpoints" '^nm-2 nm-3 $' \
	sh -c "ip netns exec $CLIENT_NS python3 $UCLIENT seq 198.18.0.12 30091 10 | sort -u | tr '\n' ' '"
expect_out "internalTrafficPolicy Local from a pod on n1: only n1's endpoint" '^nm-1 $' \
	sh -c "ip netns exec svcp-pod-$(uid client-1) python3 $UCLIENT seq $(cip s-local) 90 10 | sort -u | tr '\n' ' '"

# A LoadBalancer address through n1, with loadBalancerSourceRanges.
lbip() { kubectl get svc "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
check "LoadBalancer address assigned" wait_for 10 sh -c "[ -n \"\$(kubectl get svc s-fw -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" ]"
LBFW=$(lbip s-fw)
cx ip route add 198.18.240.0/24 via 198.18.0.11
# n1 programs the address (redirect and source guard, one transaction) some time after
# the controller wrote it: wait for that.
fw_programmed() { ip netns exec svcp-n1 nft list set inet svcplane_uproxy fw4 | grep -q "$LBFW \\. tcp \\. 90"; }
check "n1 guards the LoadBalancer address" wait_for 20 fw_programmed
if out=$(cx python3 "$UCLIENT" seq "$LBFW" 90 1 2>&1); then
	fail "loadBalancerSourceRanges: a client outside them is dropped" "answered: $out
$(ip netns exec svcp-n1 nft list table inet svcplane_uproxy 2>&1 | grep -v '^$' | head -60)
$(ip -n "$CLIENT_NS" addr show dev eth0 | grep inet)"
else
	ok "loadBalancerSourceRanges: a client outside them is dropped"
fi
cx ip addr add 198.18.0.200/24 dev eth0
cat >"$T_DIR/from200.py" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(5); s.bind(("198.18.0.200", 0)); s.connect((sys.argv[1], int(sys.argv[2])))
print(s.makefile().readline().strip())
PY
expect_out "loadBalancerSourceRanges: a client inside them reaches a backend" '^nm-[123]$' cx python3 "$T_DIR/from200.py" "$LBFW" 90

# No endpoints: refused at once.
refused() { local t0 t1 out; t0=$(date +%s%N); out=$(in_pod client-1 curl -sS --max-time 5 "http://$(cip nothing)/" 2>&1); t1=$(date +%s%N)
	echo "$out ($(((t1 - t0) / 1000000)) ms)"; echo "$out" | grep -qE "refused|reset|Couldn't connect" && [ $(((t1 - t0) / 1000000)) -lt 4000 ]; }
check "a Service with no endpoints refuses at once" refused

# An established connection survives an unrelated endpoint change (a 4th backend).
rm -f "$T_DIR/go"
(in_pod client-1 python3 "$UCLIENT" long "$(cip s-rr)" 90 1 "$T_DIR/go" >"$T_DIR/long.out" 2>&1 & echo $! >"$T_DIR/long.pid")
LONG_PID=$(cat "$T_DIR/long.pid")
wait_for 10 grep -q '^nm-' "$T_DIR/long.out"
nm_pod nm-4 n1 | kubectl apply -f - >/dev/null
check_ready "a 4th backend Ready" 60 nm-4
check "s-rr has 4 ready endpoints" wait_for 20 eps_n s-rr 4
expect_out "the new backend gets connections" 'nm-4' cseq 8 s-rr
touch "$T_DIR/go"
wait_for 10 grep -q '^echo' "$T_DIR/long.out"
expect_out "the connection opened before the change still echoes" '^nm-[123]
echo ok$' cat "$T_DIR/long.out"
LONG_PID=

# A backend whose process dies while its pod stays Ready: retried past, never seen.
nm_pod nm-dead n1 dead | kubectl apply -f - >/dev/null
check_ready "nm-dead Ready" 60 nm-dead
check "s-rr has 5 ready endpoints" wait_for 20 eps_n s-rr 5
dead_answers() { in_pod client-1 python3 "$UCLIENT" seq "$(cip s-rr)" 90 10 | grep -q nm-dead; }
check "nm-dead answers while its process runs" wait_for 20 dead_answers
# The pod's python process, found by its command line (this run's script and pod name).
for p in /proc/[0-9]*; do
	[ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" = "python3 $BACKEND nm-dead " ] && kill -9 "${p#/proc/}"
done
gone() { ! in_pod nm-dead bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000' 2>/dev/null; }
check "nm-dead's process is gone" wait_for 10 gone
expect_out "nm-dead's pod is still Ready" '^True$' kubectl get pod nm-dead -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
expect_out "40 connections with a dead backend listed: all answered, none by nm-dead" '^nm-1 nm-2 nm-3 nm-4 40$' \
	sh -c "ip netns exec svcp-pod-$(uid client-1) python3 $UCLIENT seq $(cip s-rr) 90 40 >$T_DIR/retry.out 2>&1; sort -u $T_DIR/retry.out | tr '\n' ' '; grep -c '^nm-' $T_DIR/retry.out"
expect_out "the proxy counted its retries (agent /metrics)" 'svcplane_uproxy_retries_total [1-9]' \
	curl -sSk --max-time 5 -H "Authorization: Bearer $TOKEN" https://198.18.0.11:10250/metrics

expect_out "the redirect table holds the cluster IP" "$(cip s-rr) \\. tcp \\. 90 : [0-9]+" \
	ip netns exec svcp-n2 nft list map inet svcplane_uproxy redir4
kill "${AGENT_PIDS[2]}"
stopped() { ! kill -0 "${AGENT_PIDS[2]}" 2>/dev/null; }
wait_for 20 stopped
expect_fail "a stopped agent removes its redirect table" 'No such file|does not exist' ip netns exec svcp-n2 nft list table inet svcplane_uproxy
for f in "$T_DIR"/agent*.err; do cat "$f" >>"$T_DIR/server.err"; done
finish
