#!/usr/bin/env bash
# The node agent's bad-input cases on a two-node cluster in namespaces (cluster.sh): the
# server with its embedded agent in node 1 (pod CIDRs of /29: 5 pod IPs per node after
# the bridge's), `svcplane agent` in node 2. Checks that a pod beyond the podCIDR's free
# addresses waits with reason PodCIDRExhausted while the others keep running, and starts
# once a pod is deleted; that readiness probes on a closed port (tcpSocket, httpGet)
# leave the pod Running but not Ready and out of the Service's Endpoints addresses; and
# that `svcplane agent --cleanup` after the agent stopped leaves no pod netns, veth,
# host-gw route (proto 83), masquerade table, bridge or process behind.
#
# Processes run in a node with `nsenter --net` (see test_agent.sh for why).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
cluster_up 2 --cluster-cidr 198.18.128.0/17,2001:db8:1::/48 --node-cidr-mask-size-ipv4 29
V6=0
case $CLUSTER_UP in *IPv6*) V6=1 ;; esac
cluster_agent 2
AGENT_PID=${AGENT_PIDS[2]}

cidrs_29() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}' | grep -c '/29$')" = 2 ]; }
if wait_for 20 nodes_ready 2 && wait_for 10 cidrs_29; then ok "2 nodes Ready with /29 pod CIDRs"; else
	fail "2 nodes Ready with /29 pod CIDRs" "$(kubectl get nodes -o wide 2>&1; tail -5 "$T_DIR"/agent2.err)"; fi

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
podip() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
phase() { kubectl get pod "$1" -o jsonpath='{.status.phase}'; }
cond() { kubectl get pod "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}"; }

# ---- (a) a pod too large for the podCIDR's remaining addresses ----
# A /29 has 8 addresses: network, bridge, 5 pods, broadcast. Six pods on n1.
{
	for i in 1 2 3 4 5 6; do cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: fill-$i, labels: {app: fill}}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: none, command: [sleep, "600"]}]
---
Y
	done
} >"$T_DIR/fill.yaml"
# The first five are created before the sixth, so the sixth is the one left out.
head -n $((8 * 5)) "$T_DIR/fill.yaml" >"$T_DIR/fill5.yaml"
tail -n 8 "$T_DIR/fill.yaml" >"$T_DIR/fill6.yaml"
check "5 pods applied to n1" kubectl apply -f "$T_DIR/fill5.yaml"
check_ready "the 5 pods that fit are Ready" 20 -l app=fill
check "a 6th pod applied to n1" kubectl apply -f "$T_DIR/fill6.yaml"
reason6() { kubectl get pod fill-6 -o jsonpath='{.status.reason}|{.status.message}|{.status.phase}'; }
exhausted() { reason6 | grep -q '^PodCIDRExhausted|.*exhausted.*|Pending$'; }
if wait_for 10 exhausted; then ok "pod beyond the podCIDR: Pending, reason PodCIDRExhausted ($(reason6 | cut -d'|' -f2))"; else
	fail "pod beyond the podCIDR: Pending, reason PodCIDRExhausted" "$(reason6; kubectl get pods -o wide)"; fi
expect_out "the 6th pod has no IP and is not Ready" '^<><False>$' \
	sh -c "echo \"<\$(kubectl get pod fill-6 -o jsonpath='{.status.podIP}')><\$(kubectl get pod fill-6 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')>\""
undisturbed() {
	local i
	for i in 1 2 3 4 5; do
		[ "$(phase fill-$i)/$(cond fill-$i Ready)" = Running/True ] || { echo "fill-$i: $(phase fill-$i)/$(cond fill-$i Ready)"; return 1; }
	done
	[ "$(kubectl get pods -l app=fill -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | grep -c .)" = 5 ]
}
check "the other 5 pods stay Running and Ready with their IPs" undisturbed
kubectl delete pod fill-1 --wait=false >/dev/null 2>&1
started6() { [ "$(phase fill-6)/$(cond fill-6 Ready)" = Running/True ]; }
if wait_for 15 started6; then ok "deleting a pod frees an address: the waiting pod starts ($(podip fill-6))"; else
	fail "deleting a pod frees an address: the waiting pod starts" "$(kubectl get pod fill-6 -o yaml | tail -40)"; fi
no_reason() { [ -z "$(kubectl get pod fill-6 -o jsonpath='{.status.reason}{.status.message}')" ]; }
check "its reason and message are cleared" no_reason
kubectl delete pod -l app=fill --wait=false >/dev/null 2>&1

# ---- (b) readiness probes on a closed port ----
cat >"$T_DIR/probe.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: closed}
spec:
  selector: {app: closed}
  ports: [{port: 80, targetPort: 9376}]
---
apiVersion: v1
kind: Pod
metadata: {name: closed-tcp, labels: {app: closed}}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    readinessProbe: {tcpSocket: {port: 9377}, periodSeconds: 1, timeoutSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: closed-http, labels: {app: closed}}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    readinessProbe: {httpGet: {port: 9377, path: /}, periodSeconds: 1, timeoutSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: open-tcp, labels: {app: closed}}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    readinessProbe: {tcpSocket: {port: 9376}, periodSeconds: 1}
Y
check "probe pods and service applied" kubectl apply -f "$T_DIR/probe.yaml"
check_ready "control pod with an open-port probe is Ready" 20 open-tcp
# Not Ready is also where they start: wait until their probes have run and failed (each
# failure records an Unhealthy event at once), then check they stay Running, not Ready.
probe_failed() { kubectl get events -o jsonpath="{range .items[?(@.involvedObject.name==\"$1\")]}{.reason}{\"\\n\"}{end}" | grep -q Unhealthy; }
for p in closed-tcp closed-http; do
	wait_for 20 probe_failed $p || fail "$p: its readiness probe ran and failed" "$(diag_pod $p)"
done
for p in closed-tcp closed-http; do
	expect_out "$p: Running, container running, not Ready" '^Running true false False$' \
		kubectl get pod $p -o jsonpath='{.status.phase} {.status.containerStatuses[0].started} {.status.containerStatuses[0].ready} {.status.conditions[?(@.type=="Ready")].status}'
	expect_out "$p: container state is running" '^running$' \
		sh -c "kubectl get pod $p -o jsonpath='{.status.containerStatuses[0].state}' | python3 -c 'import json,sys; print(*json.load(sys.stdin))'"
done
OPEN_IP=$(podip open-tcp) TCP_IP=$(podip closed-tcp) HTTP_IP=$(podip closed-http)
eps_ok() {
	local a n
	a=$(kubectl get endpoints closed -o jsonpath='{.subsets[*].addresses[*].ip}')
	n=$(kubectl get endpoints closed -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}')
	[ "$a" = "$OPEN_IP" ] && echo " $n " | grep -q " $TCP_IP " && echo " $n " | grep -q " $HTTP_IP "
}
if wait_for 10 eps_ok; then ok "closed-port pods are in notReadyAddresses, not addresses"; else
	fail "closed-port pods are in notReadyAddresses, not addresses" "$(kubectl get endpoints closed -o yaml)"; fi
expect_out "the closed-port pods still serve on their open port" 'Directory listing' \
	ip netns exec "svcp-pod-$(uid open-tcp)" curl -sS --max-time 5 "http://$TCP_IP:9376/"

# ---- a reused pod IP reaches the new pod at once (issue 9) ----
# Pod teardown deletes the node's neighbour entries for the pod's IPs and a new pod
# announces its MAC (gratuitous ARP / unsolicited NA): neither the node nor a pod on
# the same bridge may keep sending to the deleted pod's MAC. Pods are deleted and
# recreated until one gets the previous one's IP (the allocator hands out the lowest
# free address, so that is normally the first retry).
reuse_pod() {
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: python
    env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    command: [python3, -c, "import http.server,os\nclass H(http.server.BaseHTTPRequestHandler):\n def do_GET(s):\n  b=os.environ['POD'].encode(); s.send_response(200); s.send_header('Content-Length',str(len(b))); s.end_headers(); s.wfile.write(b)\nhttp.server.ThreadingHTTPServer(('',9380),H).serve_forever()"]
Y
}
OPEN_NS="svcp-pod-$(uid open-tcp)"
running_ip() { [ "$(phase "$1")" = Running ] && [ -n "$(podip "$1")" ]; }
# answers NS IP NAME: the pod NAME on IP answers from namespace NS (bounded retries: the
# server may still be starting)
answers() { local i; for i in $(seq 1 40); do [ "$(ip netns exec "$1" curl -sS --max-time 2 "http://$2:9380/" 2>/dev/null)" = "$3" ] && return 0; sleep 0.5; done; return 1; }
stale_gone() { ! ip -n "$1" neigh show "$2" | grep -qi "$3"; }
reuse_ok=0 PREV_IP= PREV= PREV_MAC=
for i in 1 2 3 4 5; do
	reuse_pod "reuse-$i" | kubectl apply -f - >/dev/null 2>&1
	if ! wait_for 60 running_ip "reuse-$i"; then
		fail "pod reuse-$i Running with an IP" "$(diag_pod reuse-$i)"
		break
	fi
	IP=$(podip "reuse-$i")
	if [ "$IP" = "$PREV_IP" ]; then
		# The node forgot the deleted pod's MAC at teardown: no waiting at all here.
		if ip -n svcp-n2 neigh show "$IP" | grep -qi "$PREV_MAC"; then
			fail "node n2 forgot $PREV's MAC $PREV_MAC for $IP at teardown" "$(ip -n svcp-n2 neigh show "$IP")"
			reuse_ok=2; break
		fi
		# A pod on the bridge learns the new MAC from the announcement (sent at once
		# and repeated within 3 s); without it the old MAC stays for half a minute.
		if ! wait_for 10 stale_gone "$OPEN_NS" "$IP" "$PREV_MAC"; then
			fail "a pod on the bridge drops $PREV's MAC for $IP" "$(ip -n "$OPEN_NS" neigh show "$IP")"
			reuse_ok=2; break
		fi
		reuse_ok=1
	fi
	# Talk to it from the node and from another pod on the bridge: both learn its MAC.
	if ! answers svcp-n2 "$IP" "reuse-$i" || ! answers "$OPEN_NS" "$IP" "reuse-$i"; then
		fail "reuse-$i on $IP (previous pod $PREV on $PREV_IP) answers the node and a pod" \
			"$(ip -n svcp-n2 neigh show "$IP"; ip -n "$OPEN_NS" neigh show "$IP"; diag_pod "reuse-$i")"
		reuse_ok=2; break
	fi
	[ $reuse_ok = 1 ] && break
	RUID=$(uid "reuse-$i")
	PREV_MAC=$(ip netns exec "svcp-pod-$RUID" cat /sys/class/net/eth0/address)
	kubectl delete pod "reuse-$i" --timeout=90s >/dev/null 2>&1
	# The agent tears the pod down (and frees its IP) once its process is gone.
	netns_gone() { ! ip netns list | grep -q "svcp-pod-$1"; }
	wait_for 30 netns_gone "$RUID" || { fail "reuse-$i torn down" "$(tail -n 20 "$T_DIR/agent2.err")"; break; }
	PREV_IP=$IP PREV=reuse-$i
	IPS="${IPS:-} $IP"
done
case $reuse_ok in
1) ok "a pod on a reused IP ($IP, $PREV's before) is reached at once: no stale MAC on the node or a pod" ;;
0) fail "a pod got a deleted pod's IP within 5 tries (IPs:${IPS:-})" "$(kubectl get pods -o wide; tail -n 20 "$T_DIR/agent2.err")" ;;
esac
for i in 1 2 3 4 5; do kubectl delete pod "reuse-$i" --wait=false >/dev/null 2>&1; done

# ---- kubelet's Unhealthy events for failing probes, aggregated by count ----
unhealthy() {
	kubectl get events -o jsonpath='{range .items[?(@.involvedObject.name=="closed-tcp")]}{.reason}|{.type}|{.count}|{.source.component}|{.involvedObject.fieldPath}|{.message}{"\n"}{end}' |
		grep -E '^Unhealthy\|Warning\|[0-9]+\|kubelet\|spec\.containers\{web\}\|Readiness probe failed: dial tcp 198\.18\.[0-9.]+:9377: connect: connection refused$'
}
check "a failing readiness probe records a Warning Unhealthy event" wait_for 10 unhealthy
repeated() { unhealthy | awk -F'|' '$3 >= 2 {f=1} END {exit !f}'; }
check "repeated failures bump the event's count instead of making new events" wait_for 15 repeated
expect_out "one Unhealthy event for the probe, not one per failure" '^1$' \
	sh -c "kubectl get events -o jsonpath='{range .items[?(@.involvedObject.name==\"closed-tcp\")]}{.reason}{\"\\n\"}{end}' | grep -c Unhealthy"

# ---- startup probes: readiness waits for them; a failing one restarts the container ----
cat >"$T_DIR/startup.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: slow-start}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [sh, -c, "i=0; until [ -e $T_DIR/slow-go ] || [ \$i -ge 1200 ]; do sleep 0.1; i=\$((i+1)); done; touch $T_DIR/slow-started; exec python3 -m http.server 9376"]
    startupProbe: {exec: {command: [test, -f, $T_DIR/slow-started]}, periodSeconds: 1, failureThreshold: 20}
    readinessProbe: {tcpSocket: {port: 9376}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: never-starts}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    startupProbe: {tcpSocket: {port: 9377}, periodSeconds: 1, failureThreshold: 2}
Y
rm -f "$T_DIR/slow-started" "$T_DIR/slow-go"
check "startup probe pods applied" kubectl apply -f "$T_DIR/startup.yaml"
# slow-start's startup probe fails until the test lets it start (slow-go): wait until
# it has run and failed, so "not started" below is the probe's verdict, not a race.
startup_failed() { kubectl get events -o jsonpath='{range .items[?(@.involvedObject.name=="slow-start")]}{.message}{"\n"}{end}' | grep -q 'Startup probe failed'; }
wait_for 20 startup_failed || fail "slow-start's startup probe ran and failed" "$(diag_pod slow-start)"
expect_out "before its startup probe passes: running, not started, not ready" '^Running false false$' \
	kubectl get pod slow-start -o jsonpath='{.status.phase} {.status.containerStatuses[0].started} {.status.containerStatuses[0].ready}'
touch "$T_DIR/slow-go"
check_ready "once the startup probe passes the readiness probe makes it Ready" 20 slow-start
expect_out "started and ready" '^true true$' \
	kubectl get pod slow-start -o jsonpath='{.status.containerStatuses[0].started} {.status.containerStatuses[0].ready}'
restarted() { [ "$(kubectl get pod never-starts -o jsonpath='{.status.containerStatuses[0].restartCount}')" -ge 1 ] 2>/dev/null; }
check "a failing startup probe restarts the container" wait_for 20 restarted
expect_out "with kubelet's Killing event" 'Container web failed startup probe, will be restarted' \
	kubectl get events -o jsonpath='{range .items[?(@.involvedObject.name=="never-starts")]}{.reason}: {.message}{"\n"}{end}'
expect_out "and it is never ready" '^false false$' \
	kubectl get pod never-starts -o jsonpath='{.status.containerStatuses[0].started} {.status.containerStatuses[0].ready}'
kubectl delete pod never-starts slow-start --wait=false >/dev/null 2>&1

# ---- an HTTPS readiness probe (kubelet skips certificate verification) ----
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=probe -keyout "$T_DIR/tls.key" -out "$T_DIR/tls.crt" >/dev/null 2>&1
cat >"$T_DIR/https.py" <<'P'
import http.server, ssl, sys
srv = http.server.HTTPServer(("", 8443), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
P
cat >"$T_DIR/https.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: https-probe}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, $T_DIR/https.py, $T_DIR/tls.crt, $T_DIR/tls.key]
    readinessProbe: {httpGet: {port: 8443, scheme: HTTPS, path: /}, periodSeconds: 1}
Y
check "pod with an HTTPS readiness probe applied" kubectl apply -f "$T_DIR/https.yaml"
check_ready "its HTTPS probe (self-signed certificate) makes it Ready" 20 https-probe
kubectl delete pod https-probe --wait=false >/dev/null 2>&1

# ---- hostNetwork: the node's network namespace and address ----
cat >"$T_DIR/hostnet.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: hostnet, labels: {app: hostnet}}
spec:
  nodeName: n2
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9378", --bind, 198.18.0.12]
    readinessProbe: {httpGet: {port: 9378}, periodSeconds: 1}
Y
check "hostNetwork pod applied" kubectl apply -f "$T_DIR/hostnet.yaml"
check_ready "hostNetwork pod Ready" 20 hostnet
expect_out "its podIP and hostIP are the node's address" '^198\.18\.0\.12 198\.18\.0\.12$' \
	kubectl get pod hostnet -o jsonpath='{.status.podIP} {.status.hostIP}'
expect_out "reachable at the node's address from a pod on the other node" 'Directory listing' \
	ip netns exec "svcp-pod-$(uid open-tcp)" curl -sS --max-time 5 http://198.18.0.12:9378/
HN_UID=$(uid hostnet)
expect_out "no netns of its own" '^none$' sh -c "ip netns list | grep -q 'svcp-pod-$HN_UID' && echo has || echo none"
HN_PID=$(pgrep -f 'http.server 9378' | head -n1)
expect_out "it runs in node n2's network namespace" '^same$' \
	sh -c "[ \"\$(readlink /proc/$HN_PID/ns/net)\" = \"\$(ip netns exec svcp-n2 readlink /proc/self/ns/net)\" ] && echo same || echo different"
check "hostNetwork pod deleted" kubectl delete pod hostnet --timeout=60s
gone() { ! kill -0 "$HN_PID" 2>/dev/null; }
check "its process is gone" wait_for 10 gone
expect_out "node n2's own network is untouched" '198\.18\.0\.12/24' ip -n svcp-n2 -4 addr show

# ---- IPv6: a second pod address from the node's IPv6 podCIDR, host-gw routes over the
# nodes' IPv6 InternalIPs (derived by the agent from the interface holding --node-ip) ----
if [ $V6 = 1 ]; then
	kubectl delete pod -l app=fill --timeout=60s >/dev/null 2>&1
	cat >"$T_DIR/v6.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: v6-srv}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers: [{name: web, image: python, command: [python3, -m, http.server, "9376", --bind, "::"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: v6-cli}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: none, command: [sleep, "600"]}]
Y
	check "IPv6 pods applied" kubectl apply -f "$T_DIR/v6.yaml"
	check_ready "IPv6 pods Ready" 20 v6-srv v6-cli
	expect_out "nodes have an IPv6 podCIDR (/64 of 2001:db8:1::/48)" '^198\.18\.[0-9.]+/29 2001:db8:1:[0-9a-f:]*/64 198\.18\.[0-9.]+/29 2001:db8:1:[0-9a-f:]*/64 ?$' \
		kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDRs[0]} {.spec.podCIDRs[1]} {end}'
	expect_out "agent n2 publishes its derived IPv6 address as a second InternalIP" '^InternalIP=198\.18\.0\.12 InternalIP=2001:db8::12 Hostname=n2 $' \
		kubectl get node n2 -o jsonpath='{range .status.addresses[*]}{.type}={.address} {end}'
	v6ips() {
		local p cidr ip4 ip6
		for p in v6-srv v6-cli; do
			ip4=$(kubectl get pod $p -o jsonpath='{.status.podIPs[0].ip}')
			ip6=$(kubectl get pod $p -o jsonpath='{.status.podIPs[1].ip}')
			cidr=$(kubectl get node "$(kubectl get pod $p -o jsonpath='{.spec.nodeName}')" -o jsonpath='{.spec.podCIDRs[1]}')
			[ "$ip4" = "$(podip $p)" ] || { echo "$p: podIPs[0] $ip4 != podIP"; return 1; }
			python3 -c "import ipaddress,sys; sys.exit(0 if ipaddress.ip_address('$ip6') in ipaddress.ip_network('$cidr') else 1)" ||
				{ echo "$p: '$ip6' not in '$cidr'"; return 1; }
		done
	}
	check "status.podIPs has the IPv4 and an IPv6 address from the node's IPv6 podCIDR" v6ips
	SRV6=$(kubectl get pod v6-srv -o jsonpath='{.status.podIPs[1].ip}')
	expect_out "n2's masquerade table covers its IPv6 podCIDR" 'ip6 saddr 2001:db8:1:[0-9a-f:]*/64 ip6 daddr != @podcidrs6 masquerade' \
		ip netns exec svcp-n2 nft list table inet svcplane_masq
	# A pod's IPv6 traffic to a node address (outside every pod CIDR) leaves with its
	# node's address: a listener on n1's node address prints the peer it sees.
	ip netns exec svcp-n1 timeout 15 python3 -c 'import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("2001:db8::11", 9399)); s.listen(1); c, a = s.accept(); print(a[0], flush=True); c.close()' >"$T_DIR/peer6" 2>&1 &
	PEER6_PID=$!
	# Connect once the listener is up (the first successful connect ends it).
	wait_for 10 ip netns exec "svcp-pod-$(uid v6-srv)" timeout 5 python3 -c 'import socket; socket.create_connection(("2001:db8::11", 9399), 3).close()'
	wait $PEER6_PID 2>/dev/null
	expect_out "a pod's IPv6 traffic to a node address is masqueraded to its node's address" '^2001:db8::12$' cat "$T_DIR/peer6"
	expect_out "pod on n1 reaches pod on n2 over IPv6 ([$SRV6])" 'Directory listing' \
		ip netns exec "svcp-pod-$(uid v6-cli)" curl -gsS --max-time 5 "http://[$SRV6]:9376/"
	expect_out "n2 routes n1's IPv6 podCIDR via 2001:db8::11 (proto 83)" 'via 2001:db8::11' ip -n svcp-n2 -6 route show proto 83
else
	echo "skip: no IPv6 on this machine"
	T_SKIP=$((T_SKIP + 1))
fi

# ---- (c) agent --cleanup leaves nothing ----
N2_UIDS=$(kubectl get pods --field-selector spec.nodeName=n2 -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}')
N2_PIDS=$(for u in $N2_UIDS; do ip netns pids "svcp-pod-$u" 2>/dev/null; done | tr '\n' ' ')
in_n2() { ip netns exec svcp-n2 "$@"; }
before() {
	[ -n "${N2_PIDS// /}" ] || { echo "no pod processes on n2"; return 1; }
	ip netns list | grep -q svcp-pod- || { echo "no pod netns"; return 1; }
	ip -n svcp-n2 -o link show | grep -Eq 'svcp[0-9a-f]{8}' || { echo "no pod veth on n2"; return 1; }
	[ -n "$(ip -n svcp-n2 route show proto 83)" ] || { echo "no proto 83 route on n2"; return 1; }
	in_n2 nft list table inet svcplane_masq >/dev/null || { echo "no masquerade table on n2"; return 1; }
}
check "n2 has pod processes, netns, veths, a host-gw route and its masquerade table before" before
kill -TERM "$AGENT_PID"
stopped() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
check "agent n2 stops on SIGTERM" wait_for 5 stopped
AGENT_PID= AGENT_PIDS[2]=
check "pods keep running after the agent stops" sh -c "kill -0 $N2_PIDS"
check "svcplane agent --cleanup succeeds" timeout 30 nsenter --net=/run/netns/svcp-n2 "$SVCPLANE" agent --cleanup --data-dir "$T_DIR/agent2" 2>>"$T_DIR/server.err"
leftovers() {
	local u p out=
	for u in $N2_UIDS; do [ -e "/run/netns/svcp-pod-$u" ] && out="$out netns:$u"; done
	for p in $N2_PIDS; do kill -0 "$p" 2>/dev/null && out="$out pid:$p"; done
	out="$out$(ip -n svcp-n2 -o link show | awk -F': ' '{print $2}' | grep -E '^svcp' | sed 's/^/ link:/' | tr '\n' ' ')"
	out="$out$(ip -n svcp-n2 route show proto 83 | sed 's/^/ route:/' | tr '\n' ' ')"
	out="$out$(ip -n svcp-n2 -6 route show proto 83 | sed 's/^/ route6:/' | tr '\n' ' ')"
	in_n2 nft list tables 2>/dev/null | grep -q svcplane_masq && out="$out nft:svcplane_masq"
	out="$out$(ls "$T_DIR/agent2/ipam" 2>/dev/null | sed 's/^/ ipam:/' | tr '\n' ' ')"
	out="$out$(ip netns pids svcp-n2 2>/dev/null | sed 's/^/ proc:/' | tr '\n' ' ')"
	[ -z "${out// /}" ] || { echo "left behind:$out"; return 1; }
}
check "cleanup leaves no netns, veth, bridge, route, nft table, IP file or process" leftovers

# The agent's sanitizer reports fail the script too (finish reads server.err).
cat "$T_DIR/agent2.err" >>"$T_DIR/server.err" 2>/dev/null
finish
