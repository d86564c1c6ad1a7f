#!/usr/bin/env bash
# Several servers on one etcd cluster (issue 16), in network namespaces on one machine:
#
#   n1: etcd e1 (198.18.0.11) + agent n1     n4: server A (198.18.0.14:6443)
#   n2: etcd e2 (198.18.0.12) + agent n2     n5: server B (198.18.0.15:6443)
#   n3: etcd e3 (198.18.0.13)
#
# Both servers share the etcd cluster and one token (so one CA); the agents know both
# (--server A,B). Under a steady load of 8 writers through both servers (ConfigMaps, and
# NodePort Services every fourth write): SIGKILL an etcd member, then the API server that
# leads the controllers, then restart both. Afterwards: every acknowledged write is
# present, resourceVersions seen by a watcher only grow, no cluster IP or node port was
# given twice, the other server's controller manager took over, the watcher on the
# surviving server saw every acknowledged object's ADDED in order, and a pod reached a
# Service by name and by cluster IP throughout. The kubernetes Service lists both servers,
# drops the killed one within its record's TTL and a cleanly stopped one at once. Prints the takeover and the agent's
# reconnect time (bench/ha_failover.sh measures them properly).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
ETCD_PIDS=() SRV_PIDS=() BG_PIDS=()
cluster_down_hook() {
	: >"$T_DIR/stop"
	: >"$T_DIR/watch.stop"
	local p
	for p in "${BG_PIDS[@]}" "${SRV_PIDS[@]}" "${ETCD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
cluster_nodes 5
for b in etcd python3 nsenter; do
	command -v $b >/dev/null || { fail "$b is installed (scripts/deps.sh)"; finish; exit 1; }
done

IC=e1=http://198.18.0.11:2380,e2=http://198.18.0.12:2380,e3=http://198.18.0.13:2380
EPS=etcd://198.18.0.11:2379,198.18.0.12:2379,198.18.0.13:2379
start_etcd() { # start_etcd I
	local i=$1 ip=198.18.0.1$1
	cluster_spawn "$i" "$T_DIR/etcd$i.log" "$T_DIR/etcd$i.log" etcd --name "e$i" --data-dir "$T_DIR/etcd$i" \
		--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
		--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
		--initial-cluster "$IC" --initial-cluster-token svcp-ha
	ETCD_PIDS[$i]=$SPAWNED_PID
}
etcd_healthy() { curl -sf -m 2 "http://198.18.0.1$1:2379/health" | grep -q '"health":"true"'; }
for i in 1 2 3; do start_etcd $i; done
for i in 1 2 3; do
	check "etcd member e$i healthy" wait_for 30 etcd_healthy $i
done

head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$T_DIR/token"
TOKEN=$(cat "$T_DIR/token")
SRV_IP=([1]=198.18.0.14 [2]=198.18.0.15)
SRV_NAME=([1]=A [2]=B)
start_srv() { # start_srv I (1 = A in n4, 2 = B in n5)
	local i=$1 rc=0
	cluster_server_in $((i + 3)) "$T_DIR/srv$i" "$T_DIR/srv$i.out" --secure-port 6443 --disable-agent \
		--datastore-endpoint "$EPS" --token-file "$T_DIR/token" \
		--leader-elect-lease-duration 6s --leader-elect-renew-deadline 4s --leader-elect-retry-period 1s || rc=1
	SRV_PIDS[$i]=$SPAWNED_PID
	return $rc
}
start_srv 1 || { fail "server A starts" "$(tail -20 "$T_DIR/server.err")"; finish; exit 1; }
start_srv 2 || { fail "server B starts" "$(tail -20 "$T_DIR/server.err")"; finish; exit 1; }
ok "two servers on the 3-member etcd"
CA=$T_DIR/srv1/pki/ca.crt
check "both servers serve the one cluster CA" cmp "$T_DIR/srv1/pki/ca.crt" "$T_DIR/srv2/pki/ca.crt"
URLS=https://198.18.0.14:6443,https://198.18.0.15:6443
KC=$T_DIR/srv1/kubeconfig
CUR=https://198.18.0.14:6443
K() { kubectl --kubeconfig "$KC" --server "$CUR" "$@"; }

for n in 1 2; do cluster_agent $n --server "$URLS" --token-file "$T_DIR/token" --ca-file "$CA"; done
check "2 nodes Ready" wait_for 40 nodes_ready 2 --kubeconfig "$KC" --server "$CUR"

# The kubernetes Service lists every live server (kube's lease endpoint reconciler): each
# server renews its record every 10 s, a record silent for 15 s is dropped.
kube_eps() { K get endpoints kubernetes -o jsonpath='{.subsets[*].addresses[*].ip}'; }
kube_slice() { K get endpointslice kubernetes -o jsonpath='{.endpoints[*].addresses[*]}'; }
eps_are() { [ "$(kube_eps)" = "$1" ] && [ "$(kube_slice)" = "$1" ]; }
check "the kubernetes Endpoints and EndpointSlice list both servers" wait_for 20 eps_are "198.18.0.14 198.18.0.15"

cat >"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Namespace
metadata: {name: load}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
Y
for i in 1 2; do cat >>"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: web-$i, labels: {app: web}}
spec:
  nodeName: n$i
  containers: [{name: c, image: luksa/kubia, ports: [{containerPort: 8080}]}]
---
Y
done
cat >>"$T_DIR/objs.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: n1
  containers: [{name: c, image: none, command: [sleep, "3600"]}]
Y
check "Service, pods and the load namespace applied" K apply -f "$T_DIR/objs.yaml"
check "pods Ready" K wait --for=condition=Ready pod web-1 web-2 client --timeout=120s

# Which server leads the controllers (its logged identity holds the Lease).
ident() { sed -nE 's/.*leader election: candidate ([^ ]+) for Lease.*/\1/p' "$T_DIR/server.err" | sed -n "${1}p"; }
holder() { K get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}'; }
leader_of() { # prints 1 or 2: the server whose identity holds the Lease
	local h
	h=$(holder)
	# Identities are logged in start order: A first, then B.
	[ "$h" = "$(ident 1)" ] && { echo 1; return; }
	[ "$h" = "$(ident 2)" ] && { echo 2; return; }
	return 1
}
check "one server holds the controller manager's Lease" wait_for 20 leader_of
L=$(leader_of) S=$((3 - L))
CUR=https://${SRV_IP[$S]}:6443
echo "     (leader: server ${SRV_NAME[$L]}, standby: ${SRV_NAME[$S]})"
SVC_IP=$(K get svc web -o jsonpath='{.spec.clusterIP}')
CPID=$(ip netns pids "svcp-pod-$(K get pod client -o jsonpath='{.metadata.uid}')" 2>/dev/null | head -n1)
check "the client pod reaches the Service by name before the failures" \
	nsenter -t "$CPID" -n -m curl -sf -m 3 http://web.default.svc.cluster.local/
KUBE_IP=$(K get svc kubernetes -o jsonpath='{.spec.clusterIP}')
kube_svc_ok() { nsenter -t "$CPID" -n -m curl -sf -m 3 --cacert "$CA" "https://$KUBE_IP/version" | grep -q gitVersion; }
check "the client pod reaches the API through the kubernetes Service" wait_for 20 kube_svc_ok

# The watcher on the surviving server, from the current resourceVersion.
RV0=$(K get --raw /api/v1/namespaces/load/configmaps | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
check "the list gives a resourceVersion to watch from" sh -c "[ -n '$RV0' ] && [ '$RV0' -gt 0 ]"
(python3 tests/integ/ha_watch.py "$CUR" /api/v1/namespaces/load/configmaps "$RV0" "$TOKEN" "$CA" \
	"$T_DIR/watch.out" "$T_DIR/watch.stop" 2>"$T_DIR/watch.err" & echo $! >"$T_DIR/watch.pid")
BG_PIDS+=("$(cat "$T_DIR/watch.pid")")

# The pod's probe: by name and by cluster IP, every 0.3 s, until the stop file.
(for _ in $(seq 1 3000); do
	[ -e "$T_DIR/stop" ] && break
	for tgt in web.default.svc.cluster.local "$SVC_IP"; do
		if nsenter -t "$CPID" -n -m curl -sf -m 2 --retry 1 "http://$tgt/" >/dev/null 2>&1; then
			echo "ok $tgt"
		else echo "FAIL $tgt $(date +%T.%N)"; fi
	done
	sleep 0.3
done >"$T_DIR/probe.out" 2>&1 & echo $! >"$T_DIR/probe.pid")
BG_PIDS+=("$(cat "$T_DIR/probe.pid")")

# 8 writers, alternating servers: a ConfigMap per write, a NodePort Service every 4th.
writer() { # writer W: acknowledged names go to acked.W
	local w=$1 i url name code
	for i in $(seq 1 2000); do
		[ -e "$T_DIR/stop" ] && break
		url=https://${SRV_IP[$(((w + i) % 2 + 1))]}:6443
		if [ $((i % 4)) = 0 ]; then
			name=s$w-$i
			code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' -X POST "$url/api/v1/namespaces/load/services" \
				-d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$name\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}")
			[ "$code" = 201 ] && echo "$name" >>"$T_DIR/acked-svc.$w"
		else
			name=w$w-$i
			code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' -X POST "$url/api/v1/namespaces/load/configmaps" \
				-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$name\"},\"data\":{\"i\":\"$i\"}}")
			[ "$code" = 201 ] && echo "$name" >>"$T_DIR/acked.$w"
		fi
	done
}
for w in 1 2 3 4 5 6 7 8; do
	(writer $w & echo $! >"$T_DIR/writer$w.pid")
	BG_PIDS+=("$(cat "$T_DIR/writer$w.pid")")
done
acked() { cat "$T_DIR"/acked.* "$T_DIR"/acked-svc.* 2>/dev/null | wc -l; }
acked_over() { [ "$(acked)" -ge "$1" ]; }
check "writes are acknowledged under load" wait_for 60 acked_over 40

# 1. SIGKILL an etcd member: e1, the first endpoint, which both servers' requests and
# watch caches use, so they must move to another member under the load.
kill -9 "${ETCD_PIDS[1]}"
n=$(acked)
check "writes go on with one etcd member down" wait_for 60 acked_over $((n + 30))

# 2. SIGKILL the server that leads the controllers; the other takes over.
t0=$(date +%s.%N)
kill -9 "${SRV_PIDS[$L]}"
check "the other server's controller manager takes over" wait_for 30 sh -c "[ \"\$(kubectl --kubeconfig '$KC' --server '$CUR' get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}')\" = '$(ident "$S")' ]"
t1=$(date +%s.%N)
echo "     (takeover $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after SIGKILL; lease duration 6 s)"
expect_out "the takeover is counted in leaseTransitions" '^[1-9]' K get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.leaseTransitions}'
check "the kubernetes Endpoints drop the killed server" wait_for 30 eps_are "${SRV_IP[$S]}"
te=$(date +%s.%N)
dt=$(awk "BEGIN{printf \"%.1f\", $te - $t0}")
echo "     (the killed server left the kubernetes Endpoints $dt s after SIGKILL; TTL 15 s, renewal 10 s)"
check "... within the 15 s TTL and the 1 s reconcile tick (+5 s slack)" awk "BEGIN{exit !($dt <= 21)}"
check "the client pod reaches the API through the kubernetes Service after the failover" wait_for 20 kube_svc_ok
n=$(acked)
check "writes go on through the surviving server" wait_for 60 acked_over $((n + 30))
# A change made now reaches the nodes' data planes through the surviving server.
ta=$(date +%s.%N)
K create service clusterip after-failover -n default --tcp=81 >/dev/null
AF_IP=$(K get svc after-failover -o jsonpath='{.spec.clusterIP}')
in_rules() { ip netns exec "svcp-n$1" nft list ruleset 2>/dev/null | grep -q "$AF_IP"; }
check "node n1's proxy learns a Service created after the failover" wait_for 60 in_rules 1
check "node n2's proxy learns it too" wait_for 60 in_rules 2
tb=$(date +%s.%N)
echo "     (a Service made through the surviving server reached both nodes' rules in $(awk "BEGIN{printf \"%.1f\", $tb - $ta}") s)"
check "agents moved to the surviving server" grep -q 'API client: switching to' "$T_DIR/agent1.err" "$T_DIR/agent2.err"

# 3. Restart both.
start_etcd 1
check "etcd member e1 rejoins" wait_for 60 etcd_healthy 1
start_srv "$L" && ok "the killed server restarts" || fail "the killed server restarts" "$(tail -20 "$T_DIR/server.err")"
n=$(acked)
check "writes go on after the restarts" wait_for 60 acked_over $((n + 30))
check "the restarted server is back in the kubernetes Endpoints" wait_for 20 eps_are "198.18.0.14 198.18.0.15"
: >"$T_DIR/stop"
for w in 1 2 3 4 5 6 7 8; do wait_for 30 sh -c "! kill -0 $(cat "$T_DIR/writer$w.pid") 2>/dev/null"; done
echo "     ($(acked) writes acknowledged)"

# Every acknowledged write is present (read through both servers).
cat "$T_DIR"/acked.* | sort >"$T_DIR/acked.all"
cat "$T_DIR"/acked-svc.* 2>/dev/null | sort >"$T_DIR/acked-svc.all"
for i in 1 2; do
	CUR=https://${SRV_IP[$i]}:6443
	K get configmaps -n load -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort >"$T_DIR/have.$i"
	check "server ${SRV_NAME[$i]}: every acknowledged ConfigMap is there" sh -c "[ -z \"\$(comm -23 '$T_DIR/acked.all' '$T_DIR/have.$i')\" ]"
	K get services -n load -o jsonpath='{range .items[*]}{.metadata.name} {.spec.clusterIP} {.spec.ports[0].nodePort}{"\n"}{end}' | sort >"$T_DIR/svcs.$i"
	check "server ${SRV_NAME[$i]}: every acknowledged Service is there" bash -c "[ -z \"\$(comm -23 '$T_DIR/acked-svc.all' <(cut -d' ' -f1 '$T_DIR/svcs.$i'))\" ]"
done
CUR=https://${SRV_IP[$S]}:6443
K get services -A -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\n"}{end}' | grep -v '^None$' | sort >"$T_DIR/ips"
check "no cluster IP was given twice" sh -c "[ -z \"\$(uniq -d '$T_DIR/ips')\" ] && [ -s '$T_DIR/ips' ]"
awk '{print $3}' "$T_DIR/svcs.$S" | grep . | sort >"$T_DIR/ports"
check "no node port was given twice" sh -c "[ -z \"\$(uniq -d '$T_DIR/ports')\" ] && [ -s '$T_DIR/ports' ]"

# The watcher on the surviving server: every acknowledged ConfigMap's ADDED, in order.
seen_all() { [ -z "$(comm -23 "$T_DIR/acked.all" <(awk '$1=="ADDED"{print $2}' "$T_DIR/watch.out" | sort -u))" ]; }
if wait_for 30 seen_all; then ok "the watcher on the surviving server saw every acknowledged ConfigMap"; else
	fail "the watcher on the surviving server saw every acknowledged ConfigMap" "missing: $(comm -23 "$T_DIR/acked.all" <(awk '$1=="ADDED"{print $2}' "$T_DIR/watch.out" | sort -u) | head -20 | tr '\n' ' ')
$(head -30 "$T_DIR/watch.out")"; fi
check "the watcher never got 410 Gone" sh -c "! grep -q '^GONE' '$T_DIR/watch.out'"
check "resourceVersions the watcher saw only grow" awk '$1 !~ /^#/ { if ($3+0 <= last+0) { print "not growing at " NR ": " $0 " after " prev; exit 1 } last = $3; prev = $0 }' "$T_DIR/watch.out"
: >"$T_DIR/watch.stop"
kill "$(cat "$T_DIR/watch.pid")" 2>/dev/null

# The pod reached the Service by name and cluster IP throughout.
wait_for 10 sh -c "! kill -0 $(cat "$T_DIR/probe.pid") 2>/dev/null"
okn=$(grep -c '^ok' "$T_DIR/probe.out") bad=$(grep -c '^FAIL' "$T_DIR/probe.out")
echo "     (probe: $okn ok, $bad failed)"
check "the pod reached the Service by name and cluster IP throughout" sh -c "[ $okn -gt 20 ] && [ $bad = 0 ]"
check "the agents kept running" kill -0 "${AGENT_PIDS[1]}" "${AGENT_PIDS[2]}"

# A clean stop takes the server out of the kubernetes Endpoints at once (no TTL wait), and
# the Service still reaches the API through the other.
t0=$(date +%s.%N)
kill -TERM "${SRV_PIDS[$L]}"
check "a server stopped cleanly leaves the kubernetes Endpoints" wait_for 20 eps_are "${SRV_IP[$S]}"
t1=$(date +%s.%N)
echo "     (left $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after SIGTERM)"
check "the stopped server exits" wait_for 30 sh -c "! kill -0 ${SRV_PIDS[$L]} 2>/dev/null"
check "kubectl works through the remaining server" K get svc kubernetes
check "the client pod reaches the API through the kubernetes Service after the stop" wait_for 20 kube_svc_ok
finish
