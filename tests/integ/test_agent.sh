#!/usr/bin/env bash
# The node agent on a three-node cluster in namespaces (tests/integ/cluster.sh): the
# server with its embedded agent in node 1, `svcplane agent` in nodes 2 and 3, real
# kubectl from the root namespace over HTTPS. Pods run as processes in their own netns
# with IPs from their node's podCIDR, reach each other across nodes (host-gw routes),
# become Ready through httpGet and exec probes, and the Endpoints follow readiness; pod
# env, resolv.conf and hosts are kubelet's; deletion leaves nothing; an agent killed with
# SIGKILL re-adopts its pods (same PIDs) and tears down a pod deleted while it was down;
# a bad command is a clear status; SIGTERM marks a node NotReady.
#
# Processes run in a node with `nsenter --net` (not `ip netns exec`): the agent must share
# the host's mount namespace, or the pod netns it mounts under /run/netns would be visible
# only to itself and lost to a restarted agent.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
cluster_up 3 --cluster-dns 198.19.0.10

# n3 joins with a short-lived bootstrap token (kube's format, issue 20), not the admin token.
kubectl create secret generic bootstrap-token-n3join -n kube-system --type bootstrap.kubernetes.io/token \
	--from-literal=token-id=n3join --from-literal=token-secret=0123456789abcdef \
	--from-literal=expiration="$(date -u -d '+2 hour' +%Y-%m-%dT%H:%M:%SZ)" --from-literal=usage-bootstrap-authentication=true >/dev/null
echo n3join.0123456789abcdef >"$T_DIR/boot.token"
start_agent() { # start_agent I: n2 with --server/--token-file (admin)/--ca-file, n3 the same with a bootstrap token
	local tok=$T_DIR/data/token
	[ "$1" = 3 ] && tok=$T_DIR/boot.token
	cluster_agent "$1" --server "$URL" --token-file "$tok" --ca-file "$CA" --cluster-dns 198.19.0.10
}
start_agent 2
start_agent 3

cidrs_set() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}' | grep -c /)" = 3 ]; }

if wait_for 20 nodes_ready 3 && wait_for 10 cidrs_set; then ok "3 nodes registered, Ready, with pod CIDRs"; else
	fail "3 nodes registered, Ready, with pod CIDRs" "$(kubectl get nodes -o wide 2>&1; tail -5 "$T_DIR"/agent*.err)"; fi
# Issue 20: each agent joined with its token (n3: a bootstrap token) and then runs as its
# node (its own client certificate, 0600), embedded one included; the nodes above
# registered with it.
for i in 2 3; do
	expect_out "agent n$i uses its node credential" 'using the node credential system:node:n'"$i" cat "$T_DIR/agent$i.err" "$T_DIR/agent$i.out"
	expect_out "agent n$i keeps its node key and certificate 0600" '^600 600 $' sh -c "stat -c '%a' '$T_DIR/agent$i/pki/kubelet-client.key' '$T_DIR/agent$i/pki/kubelet-client.crt' | tr '\\n' ' '"
done
expect_out "the embedded agent uses its node credential" 'using the node credential system:node:n1' cat "$T_DIR/server.err" "$T_DIR/server.out"
expect_out "node info and addresses" 'v1.33.0-svcplane svcplane://0.1.0 198.18.0.12 n2' \
	kubectl get node n2 -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion} {.status.addresses[0].address} {.status.addresses[?(@.type=="Hostname")].address}'

cat >"$T_DIR/svc.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  selector: {app: MyApp}
  ports: [{name: http, port: 80, targetPort: 9376}]
Y
check "service created before the pods" kubectl apply -f "$T_DIR/svc.yaml"
: >"$T_DIR/healthy"
{
	for i in 1 2 3; do cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: web-$i, labels: {app: MyApp}}
spec:
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    readinessProbe: {httpGet: {port: 9376, path: /}, periodSeconds: 1}
---
Y
	done
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: web-exec, labels: {app: MyApp}}
spec:
  containers:
  - name: web
    image: python
    command: [python3, -m, http.server, "9376"]
    readinessProbe: {exec: {command: [cat, $T_DIR/healthy]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: bad-cmd}
spec:
  restartPolicy: Never
  containers: [{name: c, image: none, command: [/nonexistent/svcp-no-such-cmd]}]
Y
} >"$T_DIR/pods.yaml"
check "pods applied" kubectl apply -f "$T_DIR/pods.yaml"
check_ready "pods Running and Ready" 40 web-1 web-2 web-3 web-exec
expect_out "pods spread over the 3 nodes" '^3$' sh -c "kubectl get pods -l app=MyApp -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort -u | wc -l"

# Pod IPs inside their nodes' podCIDRs.
ipcheck() {
	local p node ip cidr
	for p in web-1 web-2 web-3 web-exec; do
		node=$(kubectl get pod "$p" -o jsonpath='{.spec.nodeName}')
		ip=$(kubectl get pod "$p" -o jsonpath='{.status.podIP}')
		cidr=$(kubectl get node "$node" -o jsonpath='{.spec.podCIDR}')
		python3 -c "import ipaddress,sys; sys.exit(0 if ipaddress.ip_address('$ip') in ipaddress.ip_network('$cidr') else 1)" ||
			{ echo "$p on $node: $ip not in $cidr"; return 1; }
	done
}
check "pod IPs come from their node's podCIDR" ipcheck
expect_out "pod status: phase, hostIP, startTime, conditions" '^Running 198\.18\.0\.1[123] 20[0-9-]+T.* True True True True' \
	kubectl get pod web-1 -o jsonpath='{.status.phase} {.status.hostIP} {.status.startTime} {.status.conditions[?(@.type=="PodScheduled")].status} {.status.conditions[?(@.type=="Initialized")].status} {.status.conditions[?(@.type=="ContainersReady")].status} {.status.conditions[?(@.type=="Ready")].status}'

uid() { kubectl get pod "$1" -o jsonpath='{.metadata.uid}'; }
podip() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
node_of() { kubectl get pod "$1" -o jsonpath='{.spec.nodeName}'; }
# the pod's container process: the python in its netns
podpid() { ip netns pids "svcp-pod-$(uid "$1")" 2>/dev/null | head -n1; }

# Cross-node traffic from a pod's netns to pods on other nodes.
N1=$(node_of web-1)
for p in web-2 web-3; do
	if [ "$(node_of $p)" != "$N1" ]; then
		expect_out "curl from web-1 ($N1) to $p ($(node_of $p)) by pod IP" 'Directory listing' \
			ip netns exec "svcp-pod-$(uid web-1)" curl -sS --max-time 5 "http://$(podip $p):9376/"
	fi
done

eps() { kubectl get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w; }
has_eps() { [ "$(eps)" = "$1" ]; }
if wait_for 10 has_eps 4; then ok "Endpoints list the 4 ready pod IPs"; else fail "Endpoints list the 4 ready pod IPs" "$(kubectl get endpoints my-service -o yaml)"; fi
rm -f "$T_DIR/healthy"
EXEC_IP=$(podip web-exec)
not_in_eps() { ! kubectl get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}' | grep -qw "$EXEC_IP"; }
if wait_for 10 not_in_eps && has_eps 3; then ok "exec probe fails: pod leaves addresses"; else fail "exec probe fails: pod leaves addresses" "$(kubectl get endpoints my-service -o yaml)"; fi
expect_out "unready pod's Ready condition is False" '^False$' kubectl get pod web-exec -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'

PID1=$(podpid web-1)
expect_out "pod env has the Service variables" 'MY_SERVICE_SERVICE_HOST=198\.19\.' sh -c "tr '\\0' '\\n' </proc/$PID1/environ"
expect_out "resolv.conf is ClusterFirst" 'nameserver 198\.19\.0\.10.*search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local|search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local.*nameserver 198\.19\.0\.10' \
	sh -c "nsenter -t $PID1 -m cat /etc/resolv.conf | tr '\\n' ' '"
expect_out "resolv.conf has ndots:5" 'options ndots:5' nsenter -t "$PID1" -m cat /etc/resolv.conf
expect_out "hosts has the pod's IP and name" "$(podip web-1)[[:space:]]+web-1" nsenter -t "$PID1" -m cat /etc/hosts

bad_reason() { kubectl get pod bad-cmd -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}{.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].state.terminated.message}{.status.containerStatuses[0].state.waiting.message}'; }
bad_ok() { bad_reason | grep -qE 'StartError|RunContainerError'; }
if wait_for 10 bad_ok; then ok "bad command: clear reason ($(bad_reason | cut -c1-80))"; else fail "bad command: clear reason" "$(kubectl get pod bad-cmd -o yaml)"; fi

# Delete a pod: netns, veth and process go.
DEL=web-3
DUID=$(uid $DEL) DNODE=$(node_of $DEL) DPID=$(podpid $DEL)
VETH=svcp$(echo "$DUID" | tr -d - | cut -c1-8)
check "deleted pod's veth exists before" ip -n "svcp-$DNODE" link show "$VETH"
kubectl delete pod $DEL --wait=false >/dev/null 2>&1
gone() { [ ! -e "/run/netns/svcp-pod-$DUID" ] && ! ip -n "svcp-$DNODE" link show "$VETH" >/dev/null 2>&1 && ! kill -0 "$DPID" 2>/dev/null; }
if wait_for 15 gone; then ok "pod deletion removes netns, veth and process"; else fail "pod deletion removes netns, veth and process" "$(ls /run/netns; ip -n svcp-$DNODE link; ps -p $DPID)"; fi

# SIGKILL the agent of node 2 (or 3): its pods keep running with the same PIDs, and a
# pod deleted while it is down is torn down when it comes back.
K=2
KPOD=$(kubectl get pods -l app=MyApp --field-selector spec.nodeName=n$K -o jsonpath='{.items[0].metadata.name}')
if [ -z "$KPOD" ]; then K=3; KPOD=$(kubectl get pods -l app=MyApp --field-selector spec.nodeName=n$K -o jsonpath='{.items[0].metadata.name}'); fi
KPID=$(podpid "$KPOD")
kill -9 "${AGENT_PIDS[$K]}"
sleep 0.3
killed() { ! kill -0 "${AGENT_PIDS[$K]}" 2>/dev/null; }
check "agent n$K killed" wait_for 5 killed
# The agent's output files are appended across restarts: count, then wait for one more.
n_ready=$(grep -c 'agent ready' "$T_DIR/agent$K.out")
n_run=$(grep -c "pod default/$KPOD running with IP" "$T_DIR/agent$K.err")
start_agent $K
more_lines() { [ "$(grep -c "$1" "$2")" -gt "$3" ]; }
wait_for 10 more_lines 'agent ready' "$T_DIR/agent$K.out" "$n_ready" || fail "agent n$K restarts" "$(tail -5 "$T_DIR/agent$K.err")"
# Its first pass over the pods has handed $KPOD back to the runtime (which re-adopted it).
wait_for 10 more_lines "pod default/$KPOD running with IP" "$T_DIR/agent$K.err" "$n_run" ||
	fail "agent n$K takes $KPOD back" "$(diag_pod "$KPOD")"
expect_out "agent restart re-adopts pod $KPOD (same PID $KPID)" "^$KPID\$" podpid "$KPOD"
still_ready() { [ "$(kubectl get pod "$KPOD" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "re-adopted pod stays Ready" still_ready
expect_out "re-adopted pod still serves" 'Directory listing' ip netns exec "svcp-pod-$(uid web-1)" curl -sS --max-time 5 "http://$(podip "$KPOD"):9376/"
# Masquerade: a pod reaches the node network (198.18.0.1 in the root namespace, which has
# no route back to pod CIDRs) because its traffic leaving the pod network is NATed.
python3 -m http.server 18081 --bind 198.18.0.1 >/dev/null 2>&1 &
HTTPD=$!
wait_for 10 curl -s --max-time 2 -o /dev/null http://198.18.0.1:18081/
expect_out "pod reaches the node network through masquerade" 'Directory listing' \
	ip netns exec "svcp-pod-$(uid web-1)" curl -sS --max-time 5 "http://198.18.0.1:18081/"
kill "$HTTPD" 2>/dev/null

# Deleted while its agent is down.
DUID2=$(uid "$KPOD") DPID2=$KPID
kill -9 "${AGENT_PIDS[$K]}"
wait_for 5 killed
kubectl delete pod "$KPOD" --wait=false >/dev/null 2>&1
sleep 0.3
start_agent $K
gone2() { [ ! -e "/run/netns/svcp-pod-$DUID2" ] && ! kill -0 "$DPID2" 2>/dev/null; }
if wait_for 15 gone2; then ok "pod deleted while its agent was down is cleaned up at restart"; else fail "pod deleted while its agent was down is cleaned up at restart" "$(tail -5 "$T_DIR/agent$K.err")"; fi

# SIGTERM: the node goes NotReady.
kill -TERM "${AGENT_PIDS[3]}"
notready() { [ "$(kubectl get node n3 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = False ]; }
stopped() { ! kill -0 "${AGENT_PIDS[3]}" 2>/dev/null; }
if wait_for 10 notready && wait_for 5 stopped; then ok "SIGTERM marks the node NotReady and the agent exits"; else fail "SIGTERM marks the node NotReady" "$(kubectl get node n3 -o yaml)"; fi

for f in "$T_DIR"/agent*.err; do cat "$f" >>"$T_DIR/server.err"; done
finish
