#!/usr/bin/env bash
# Services as Kubernetes defines them, through real kubectl: defaults, every type,
# cluster IP and node port allocation (requested, automatic, conflicts, release on delete
# and type change, concurrency), the kubernetes and kube-dns Services, and the repair
# pass after a crash or a store edited behind the server's back.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
M=tests/integ/manifests
K=kubectl
start_server || { fail "server starts"; finish; exit 1; }

expect_out "kubernetes Service has the first IP" '^kubernetes +ClusterIP +198\.19\.0\.1 +<none> +443/TCP' $K get svc kubernetes
expect_out "kube-dns has the tenth IP and its ports" '^kube-dns +ClusterIP +198\.19\.0\.10 +<none> +53/UDP,53/TCP ' $K get svc -n kube-system kube-dns
expect_out "kubernetes Endpoints point at the server" "^kubernetes +127\.0\.0\.1:$PORT" $K get endpoints kubernetes

check "seed manifests apply" $K apply -f $M/seed-types.yaml -f $M/seed-clientip.yaml -f $M/svc-a.yaml
expect_out "NodePort keeps its requested port" '^my-nodeport-service +NodePort +198\.19\.[0-9.]+ +<none> +80:30036/TCP' $K get svc my-nodeport-service
expect_out "LoadBalancer pending with a node port" '^db-mariadb-slave-lb +LoadBalancer +198\.19\.[0-9.]+ +<pending> +3306:3[0-9]{4}/TCP' $K get svc db-mariadb-slave-lb
expect_out "headless has no IP" '^kubia-headless +ClusterIP +None ' $K get svc kubia-headless
expect_out "ExternalName shows the name" '^ext +ExternalName +<none> +my.database.example.com' $K get svc ext
out=$($K get svc my-service -o jsonpath='{.spec.type} {.spec.sessionAffinity} {.spec.ipFamilies} {.spec.ipFamilyPolicy} {.spec.internalTrafficPolicy} {.spec.ports[0].protocol} {.spec.ports[0].targetPort}')
[ "$out" = 'ClusterIP None ["IPv4"] SingleStack Cluster TCP 9376' ] && ok "ClusterIP defaults" || fail "ClusterIP defaults" "$out"
out=$($K get svc my-service-aff -o jsonpath='{.spec.sessionAffinityConfig.clientIP.timeoutSeconds} {.spec.externalTrafficPolicy}')
[ "$out" = '1800 Cluster' ] && ok "ClientIP affinity and externalTrafficPolicy" || fail "ClientIP affinity and externalTrafficPolicy" "$out"
out=$($K get svc db-mariadb-slave-lb -o jsonpath='{.spec.allocateLoadBalancerNodePorts} {.spec.externalTrafficPolicy}')
[ "$out" = 'true Cluster' ] && ok "LoadBalancer defaults" || fail "LoadBalancer defaults" "$out"
expect_out "apply again is unchanged (keeps allocations)" 'service/my-nodeport-service unchanged' $K apply -f $M/seed-types.yaml

# Conflicts and bad requests, with Kubernetes' messages.
expect_fail "requested node port taken" 'spec.ports\[0\].nodePort: Invalid value: 30036: provided port is already allocated' \
	$K create service nodeport np2 --tcp=80:8080 --node-port=30036
expect_fail "node port outside the range" 'provided port is not in the valid range. The range of valid ports is 30000-32767' \
	$K create service nodeport np3 --tcp=80:8080 --node-port=40000
ip=$($K get svc my-service -o jsonpath='{.spec.clusterIP}')
cat >"$T_DIR/taken.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: taken}
spec:
  clusterIP: $ip
  ports: [{port: 80}]
Y
expect_fail "requested cluster IP taken" "failed to allocate IP $ip: provided IP is already allocated" $K create -f "$T_DIR/taken.yaml"
sed "s/clusterIP: .*/clusterIP: 198.18.5.5/" "$T_DIR/taken.yaml" >"$T_DIR/outside.yaml"
expect_fail "requested cluster IP outside the range" 'is not in the valid range. The range of valid IPs is 198.19.0.0/16' $K create -f "$T_DIR/outside.yaml"
expect_fail "clusterIP is immutable" 'may not change once set' $K patch svc my-service -p '{"spec":{"clusterIP":"198.19.77.77","clusterIPs":["198.19.77.77"]}}'
expect_fail "NodePort may not be headless" "may not be set to 'None' for NodePort services" \
	$K patch svc my-nodeport-service -p '{"spec":{"clusterIP":"None","clusterIPs":["None"]}}'
expect_fail "externalIPs refused by default" 'Use of external IPs is denied by admission control' \
	$K patch svc my-service -p '{"spec":{"externalIPs":["198.18.9.9"]}}'
expect_fail "session affinity timeout bounds" 'timeoutSeconds: Invalid value: 90000' \
	$K patch svc my-service-aff -p '{"spec":{"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":90000}}}}'

# Release on type change and on delete.
check "NodePort to ClusterIP" $K patch svc my-nodeport-service -p '{"spec":{"type":"ClusterIP"}}'
out=$($K get svc my-nodeport-service -o jsonpath='{.spec.ports[0].nodePort}')
[ -z "$out" ] && ok "node port dropped on type change" || fail "node port dropped on type change" "$out"
expect_out "released node port can be taken again" 'service/np2 created' $K create service nodeport np2 --tcp=80:8080 --node-port=30036
old=$($K get svc ext -o jsonpath='{.spec.clusterIP}')
check "ExternalName to ClusterIP" $K patch svc ext -p '{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"name":"http","port":80}]}}'
new=$($K get svc ext -o jsonpath='{.spec.clusterIP}')
[ -z "$old" ] && echo "$new" | grep -q '^198\.19\.' && ok "ExternalName to ClusterIP gets a fresh IP" || fail "ExternalName to ClusterIP gets a fresh IP" "$old -> $new"
check "ClusterIP to ExternalName" $K patch svc ext -p '{"spec":{"type":"ExternalName","externalName":"b.example.com","clusterIP":null,"clusterIPs":null}}'
sed "s/clusterIP: .*/clusterIP: $new/; s/name: taken/name: reuse/" "$T_DIR/taken.yaml" >"$T_DIR/reuse.yaml"
expect_out "IP released by ExternalName is free" 'service/reuse created' $K create -f "$T_DIR/reuse.yaml"
check "delete frees the IP" $K delete svc reuse
expect_out "IP free after delete" 'service/reuse created' $K create -f "$T_DIR/reuse.yaml"

# Many creates in parallel: distinct IPs and node ports.
for i in $(seq 1 30); do $K create service nodeport "par-$i" --tcp=80:8080 >/dev/null 2>&1 & done
wait
ips=$($K get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\n"}{end}' | grep -v None | grep -c .)
uniq_ips=$($K get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\n"}{end}' | grep -v None | sort -u | grep -c .)
ports=$($K get svc -o jsonpath='{range .items[*]}{range .spec.ports[*]}{.nodePort}{"\n"}{end}{end}' | grep -c .)
uniq_ports=$($K get svc -o jsonpath='{range .items[*]}{range .spec.ports[*]}{.nodePort}{"\n"}{end}{end}' | sort -u | grep -c .)
n=$($K get svc -o name | grep -c par-)
[ "$n" = 30 ] && [ "$ips" = "$uniq_ips" ] && [ "$ports" = "$uniq_ports" ] && ok "30 parallel creates: distinct IPs and ports" ||
	fail "30 parallel creates: distinct IPs and ports" "n=$n ips=$ips/$uniq_ips ports=$ports/$uniq_ports"

# Restart: allocations survive; a taken IP stays taken.
stop_server TERM
start_server || fail "restart"
expect_fail "after restart the IP is still taken" "provided IP is already allocated" $K create -f "$T_DIR/taken.yaml"

# Repair: edit the store behind the server's back (as a crash of an older version
# could leave it): drop every allocation key, and drop a Service but not its keys.
victim_ip=$($K get svc reuse -o jsonpath='{.spec.clusterIP}')
stop_server KILL
sqlite3 "$T_DIR/data/state.db" "DELETE FROM log WHERE key LIKE '/registry/allocations/ip/$ip' OR key LIKE '/registry/core/services/default/reuse';"
start_server || fail "restart after store edit"
grep -q "repair: recorded /registry/allocations/ip/$ip" "$T_DIR/server.err" && ok "repair recorded a missing allocation" || fail "repair recorded a missing allocation" "$(cat "$T_DIR/server.err")"
grep -q "repair: released /registry/allocations/ip/$victim_ip" "$T_DIR/server.err" && ok "repair released an orphan" || fail "repair released an orphan" "$(cat "$T_DIR/server.err")"
expect_fail "repaired: taken IP refused" "provided IP is already allocated" $K create -f "$T_DIR/taken.yaml"
expect_out "repaired: orphaned IP usable" 'service/reuse created' $K create -f "$T_DIR/reuse.yaml"
finish
