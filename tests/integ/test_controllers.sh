#!/usr/bin/env bash
# The controllers through real kubectl: Endpoints and EndpointSlices follow pod labels,
# readiness (status written with kubectl patch --subresource=status) and deletion;
# selector-less Services with hand-written Endpoints are mirrored into slices; invalid
# endpoint addresses are refused; LoadBalancer Services get pool addresses or stay
# pending with an event; Nodes get pod CIDRs; all of it survives a restart.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
M=tests/integ/manifests
K=kubectl
start_server --loadbalancer-ip-pool 198.18.10.0/30 --max-endpoints-per-slice 2 || { fail "server starts"; finish; exit 1; }

# wait_match NAME CMD PATTERN: polls until CMD's output matches (bounded by time, 60 s:
# generous for a busy machine)
wait_match() {
	local n=$1 cmd=$2 pat=$3 out end=$((SECONDS + 60))
	while :; do
		out=$(eval "$cmd" 2>&1)
		printf '%s' "$out" | grep -Eq -- "$pat" && { ok "$n"; return 0; }
		[ $SECONDS -ge $end ] && break
		sleep 0.05
	done
	fail "$n" "want /$pat/, last: $out"
}
ready() { # ready POD IP TRUE|False
	$K patch pod "$1" --subresource=status --type=merge -p \
		"{\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\",\"podIPs\":[{\"ip\":\"$2\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"$3\"}]}}" >/dev/null
}
slice_eps() { $K get endpointslices -l kubernetes.io/service-name=my-service -o jsonpath='{range .items[*]}{range .endpoints[*]}{.addresses[0]}={.conditions.ready};{end}{end}' | tr ';' '\n' | sort | tr '\n' ' '; }

check "pods, node and service apply" $K apply -f $M/ctrl-pods.yaml
wait_match "node gets a pod CIDR" "$K get node n1 -o jsonpath='{.spec.podCIDR}'" '^198\.18\.128\.0/24$'
wait_match "no IPs yet: placeholder slice" "$K get endpointslices -l kubernetes.io/service-name=my-service --no-headers" 'my-service-'
ready p1 198.18.128.11 True
ready p2 198.18.128.12 True
ready p3 198.18.128.13 False
wait_match "Endpoints: ready pods by their named port" "$K get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}:{.subsets[*].ports[*].port}'" '198.18.128.1[12]'
out=$($K get endpoints my-service -o json | python3 -c '
import json,sys
e=json.load(sys.stdin)
r=[]
for s in e["subsets"]:
    for a in s.get("addresses",[]): r.append("R%s:%s" % (a["ip"], s["ports"][0]["port"]))
    for a in s.get("notReadyAddresses",[]): r.append("N%s:%s" % (a["ip"], s["ports"][0]["port"]))
print(" ".join(sorted(r)))')
[ "$out" = "N198.18.128.13:9376 R198.18.128.11:9376 R198.18.128.12:9377" ] && ok "named targetPort resolves per pod; not-ready pod in notReadyAddresses" || fail "named targetPort resolves per pod; not-ready pod in notReadyAddresses" "$out"
expect_out "hostname set for subdomain pod" '"hostname": "p1"' $K get endpoints my-service -o json
expect_out "targetRef and nodeName" '"nodeName": "n1"' $K get endpoints my-service -o json
expect_out "trigger-time annotation" 'endpoints.kubernetes.io/last-change-trigger-time' $K get endpoints my-service -o yaml
wait_match "slices carry every pod with conditions" "slice_eps" '198.18.128.11=true 198.18.128.12=true 198.18.128.13=false'
expect_out "slice labels" 'endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io' $K get endpointslices -l kubernetes.io/service-name=my-service -o yaml
expect_out "slice zone from the node" 'zone: zone-a' $K get endpointslices -l kubernetes.io/service-name=my-service -o yaml
ready p3 198.18.128.13 True
wait_match "readiness flip reaches Endpoints" "$K get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}'" '198.18.128.13'
wait_match "readiness flip reaches slices" "slice_eps" '198.18.128.13=true'
$K label pod p1 app- >/dev/null
wait_match "label removed: pod leaves Endpoints" "$K get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}' | grep -v 198.18.128.11 && echo gone" 'gone'
wait_match "label removed: pod leaves slices" "slice_eps | grep -v 198.18.128.11 && echo gone" 'gone'
$K delete pod p2 --wait=false >/dev/null
wait_match "deleted pod leaves Endpoints" "$K get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}' | grep -v 198.18.128.12 && echo gone" 'gone'
check "publishNotReadyAddresses" $K patch svc my-service -p '{"spec":{"publishNotReadyAddresses":true}}'
ready p3 198.18.128.13 False
wait_match "publishNotReadyAddresses keeps a not-ready pod ready" "$K get endpoints my-service -o jsonpath='{.subsets[*].addresses[*].ip}'" '198.18.128.13'

# Selector-less Service with hand-written Endpoints (seed 004), mirrored into a slice.
check "selector-less Service and Endpoints apply" $K apply -f $M/ctrl-external.yaml
wait_match "manual Endpoints are mirrored" "$K get endpointslices -l kubernetes.io/service-name=external-service -o jsonpath='{.items[*].metadata.labels.endpointslice\.kubernetes\.io/managed-by} {.items[*].endpoints[*].addresses[0]}'" 'endpointslicemirroring-controller.k8s.io 198.18.20.11 198.18.20.22'
check "skip-mirror label" $K label endpoints external-service endpointslice.kubernetes.io/skip-mirror=true
wait_match "skip-mirror removes the mirror" "$K get endpointslices -l kubernetes.io/service-name=external-service --no-headers 2>&1" 'No resources found'
for bad in 127.0.0.1 169.254.1.1 224.0.0.5 239.1.2.3 0.0.0.0 ::1 fe80::1; do
	expect_fail "Endpoints refuse $bad" 'is invalid' $K patch endpoints external-service --type=json -p "[{\"op\":\"replace\",\"path\":\"/subsets/0/addresses/0/ip\",\"value\":\"$bad\"}]"
done
cip=$($K get svc my-service -o jsonpath='{.spec.clusterIP}')
expect_fail "Endpoints refuse another Service's cluster IP" 'may not be the cluster IP of a Service' \
	$K patch endpoints external-service --type=json -p "[{\"op\":\"replace\",\"path\":\"/subsets/0/addresses/0/ip\",\"value\":\"$cip\"}]"

# LoadBalancer addresses from a pool of two (198.18.10.0/30: .1 and .2).
check "seed LoadBalancer Service" $K apply -f $M/seed-types.yaml
for i in 1 2; do $K create service loadbalancer "lb$i" --tcp=80:80 >/dev/null; done
wait_match "LoadBalancer gets a pool address" "$K get svc db-mariadb-slave-lb -o jsonpath='{.status.loadBalancer.ingress[0].ip} {.status.loadBalancer.ingress[0].ipMode}'" '^198\.18\.10\.[12] VIP$'
wait_match "pool exhausted: third stays pending" "$K get svc" '<pending>'
pending=$($K get svc --no-headers | awk '$4 == "<pending>" {print $1}' | head -n1)
wait_match "pending reason visible in describe" "$K describe svc $pending" 'AllocationFailed.*no address left'
given=$($K get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}' | grep .)
[ "$(echo "$given" | sort -u | wc -l)" = 2 ] && [ "$(echo "$given" | wc -l)" = 2 ] && ok "three Services made together: two addresses, none twice" ||
	fail "three Services made together: two addresses, none twice" "$given"
holder=$($K get svc --no-headers | awk '$2 == "LoadBalancer" && $4 != "<pending>" {print $1}' | head -n1)
check "release by type change" $K patch svc "$holder" -p '{"spec":{"type":"ClusterIP"}}'
wait_match "released address goes to the pending Service" "$K get svc $pending -o jsonpath='{.status.loadBalancer.ingress[0].ip}'" '^198\.18\.10\.[12]$'
check "foreign loadBalancerClass" $K apply -f - <<Y
apiVersion: v1
kind: Service
metadata: {name: other-class}
spec: {type: LoadBalancer, loadBalancerClass: example.com/other, ports: [{port: 80}]}
Y
# The controller serialises reconciles in arrival order: once a Service created after
# this one has its Endpoints, this one has been looked at too.
$K create service clusterip after-other-class --tcp=80:80 >/dev/null
wait_match "a Service created after it is reconciled" "$K get endpoints after-other-class -o name" 'endpoints/after-other-class'
out=$($K get svc other-class -o jsonpath='{.status.loadBalancer.ingress}')
[ -z "$out" ] && ok "a Service of another loadBalancerClass is left alone" || fail "a Service of another loadBalancerClass is left alone" "$out"

# Restart: nothing handed out twice, slices still right.
before=$($K get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}' | grep . | sort)
stop_server TERM
start_server --loadbalancer-ip-pool 198.18.10.0/30 --max-endpoints-per-slice 2 || fail "restart"
$K create service loadbalancer lb9 --tcp=80:80 >/dev/null
wait_match "after restart: a new LoadBalancer finds the pool full" "$K describe svc lb9" 'AllocationFailed.*no address left'
after=$($K get svc -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}' | grep . | sort)
[ "$before" = "$after" ] && [ "$(echo "$after" | sort -u | wc -l)" = "$(echo "$after" | wc -l)" ] && ok "after restart: same addresses, none twice" || fail "after restart: same addresses, none twice" "$before / $after"
expect_out "after restart: node keeps its pod CIDR" '^198\.18\.128\.0/24$' $K get node n1 -o jsonpath='{.spec.podCIDR}'
check "second node" $K apply -f - <<Y
apiVersion: v1
kind: Node
metadata: {name: n2}
Y
wait_match "second node gets the next pod CIDR" "$K get node n2 -o jsonpath='{.spec.podCIDR}'" '^198\.18\.129\.0/24$'
# Nodes that register together: the controller must not give two of them one CIDR while
# its informer has yet to show the first patch (seen in CI as two agents' pods on one IP).
for i in $(seq 3 14); do printf 'apiVersion: v1\nkind: Node\nmetadata: {name: burst%d}\n---\n' "$i"; done >"$T_DIR/burst.yaml"
check "twelve nodes in one apply" $K apply -f "$T_DIR/burst.yaml"
burst_cidrs() { $K get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR} {.metadata.name}{"\n"}{end}' | grep /; }
all_have_cidrs() { [ "$(burst_cidrs | wc -l)" = 14 ]; }
wait_for 20 all_have_cidrs
got=$(burst_cidrs | sort); uniq_n=$(echo "$got" | awk '{print $1}' | sort -u | grep -c /)
[ "$uniq_n" = 14 ] && ok "fourteen nodes, fourteen distinct pod CIDRs" || fail "fourteen nodes, fourteen distinct pod CIDRs" "$got"
check "delete the service" $K delete svc my-service
wait_match "its Endpoints and slices go" "$K get endpoints,endpointslices -l kubernetes.io/service-name=my-service --no-headers 2>&1; $K get endpoints my-service 2>&1" 'NotFound'
finish
