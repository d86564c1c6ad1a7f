#!/usr/bin/env bash
# The foundation through real kubectl: every verb, the output shapes, Kubernetes' error
# messages, restart durability, for the newest and the oldest kubectl on the machine.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
M=tests/integ/manifests

start_server || { fail "server starts"; finish; exit 1; }
ok "server starts and writes a kubeconfig"

for v in 1.33 1.27; do
	K="$KDIR/kubectl.$v"
	[ -x "$K" ] || K=kubectl
	rm -rf "$HOME/.kube/cache"
	expect_out "$v get namespaces lists the four bootstrap namespaces" \
		'default +Active.*' "$K" get namespaces
	out=$("$K" get ns --no-headers 2>&1 | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$out" = "default kube-node-lease kube-public kube-system " ] && ok "$v namespaces exact" || fail "$v namespaces exact" "$out"
	expect_out "$v apply creates" '^service/my-service created' "$K" apply -f $M/svc-a.yaml
	expect_out "$v apply unchanged" '^service/my-service unchanged' "$K" apply -f $M/svc-a.yaml
	expect_out "$v apply updates" '^service/my-service configured' "$K" apply -f $M/svc-b.yaml
	expect_out "$v get svc -o yaml shows the update" 'targetPort: 9090' "$K" get svc my-service -o yaml
	expect_out "$v strategic merge from apply kept both ports" 'name: metrics' "$K" get svc my-service -o yaml
	expect_out "$v get -o yaml has defaults" 'sessionAffinity: None' "$K" get svc my-service -o yaml
	expect_out "$v get -o json has kind" '"kind": "Service"' "$K" get svc my-service -o json
	expect_out "$v get svc -A -o wide columns" 'NAMESPACE +NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE +SELECTOR' "$K" get svc -A -o wide
	expect_out "$v get svc -A -o wide row" 'default +my-service +ClusterIP .*80/TCP,9100/TCP .*app=MyApp' "$K" get svc -A -o wide
	expect_out "$v apply back removes the port" 'configured' "$K" apply -f $M/svc-a.yaml
	out=$("$K" get svc my-service -o jsonpath='{.spec.ports[*].port} {.metadata.labels.tier}')
	[ "$out" = "80 " ] && ok "$v apply back: one port, label gone" || fail "$v apply back: one port, label gone" "$out"
	expect_out "$v label --overwrite" 'service/my-service labeled' "$K" label svc my-service env=test --overwrite
	expect_out "$v label shows" 'env=test' "$K" get svc my-service --show-labels
	expect_out "$v describe" 'Selector: +app=MyApp' "$K" describe svc my-service
	expect_out "$v patch merge" 'patched' "$K" patch svc my-service --type merge -p '{"metadata":{"annotations":{"a":"b"}}}'
	expect_out "$v patch json" 'patched' "$K" patch svc my-service --type json -p '[{"op":"replace","path":"/spec/sessionAffinity","value":"ClientIP"}]'
	expect_out "$v patch json applied with default timeout" 'timeoutSeconds: 10800' "$K" get svc my-service -o yaml
	expect_out "$v patch strategic" 'patched' "$K" patch svc my-service -p '{"spec":{"sessionAffinity":"None","sessionAffinityConfig":null}}'
	expect_fail "$v get missing: NotFound" 'Error from server \(NotFound\): services "nope" not found' "$K" get svc nope
	expect_fail "$v create twice: AlreadyExists" 'Error from server \(AlreadyExists\): error when creating ".*svc-a.yaml": services "my-service" already exists' "$K" create -f $M/svc-a.yaml
	expect_fail "$v invalid: Invalid with field causes" 'The Service "bad" is invalid' "$K" apply -f $M/bad-port.yaml
	expect_fail "$v invalid: first cause" '\* spec.ports\[0\].port: Invalid value: 0: must be between 1 and 65535, inclusive' "$K" apply -f $M/bad-port.yaml
	expect_fail "$v invalid: second cause" 'spec.ports\[1\].port: Invalid value: 70000' "$K" create -f $M/bad-port.yaml
	expect_fail "$v unknown field refused (Strict)" 'unknown field "spec.portz"' "$K" create -f $M/unknown-field.yaml
	# Stale resourceVersion: replace with an old RV gives Conflict.
	"$K" get svc my-service -o yaml >"$T_DIR/stale.yaml"
	"$K" label svc my-service bump=1 --overwrite >/dev/null
	expect_fail "$v replace with stale RV: Conflict" 'Error from server \(Conflict\).*the object has been modified' "$K" replace -f "$T_DIR/stale.yaml"
	expect_out "$v server-side apply" 'serverside-applied' "$K" apply --server-side -f $M/svc-a.yaml --force-conflicts
	expect_out "$v dry-run server create" 'created \(server dry run\)' "$K" create -f $M/pod.yaml --dry-run=server
	expect_fail "$v dry-run stored nothing" 'NotFound' "$K" get pod web-0
	expect_out "$v delete" 'service "my-service" deleted' "$K" delete svc my-service
	expect_fail "$v deleted is gone" 'NotFound' "$K" get svc my-service
	expect_out "$v api-resources" 'endpointslices +discovery.k8s.io/v1 +true +EndpointSlice' "$K" api-resources
	expect_out "$v get --raw /healthz" '^ok$' "$K" get --raw /healthz
	expect_out "$v explain service.spec.ports" 'targetPort' "$K" explain service.spec.ports
done

K=kubectl
# Multi-document apply with a namespace, ExternalName and selector-less Service + Endpoints.
expect_out "multi-doc apply" 'namespace/prod created' $K apply -f $M/multi.yaml
expect_out "ExternalName shown as external IP" 'my-service +ExternalName +<none> +my.database.example.com' $K get svc -n prod
expect_out "endpoints column" 'ext +198.18.0.42:9376' $K get endpoints -n prod
expect_out "create namespace (protobuf on 1.32+)" 'namespace/proto-ns created' "$KDIR/kubectl.1.33" create namespace proto-ns
expect_out "create service clusterip (protobuf on 1.32+)" 'service/cs1 created' "$KDIR/kubectl.1.33" create service clusterip cs1 --tcp=80:8080
expect_out "protobuf service decoded" '80/TCP' $K get svc cs1

# Watch: a change arrives on a running `kubectl get -w`.
timeout 60 $K get svc -w >"$T_DIR/watch.out" 2>&1 &
WPID=$!
# The watch is open once the initial list is printed; then the change must arrive.
for i in $(seq 1 300); do grep -q cs1 "$T_DIR/watch.out" && break; sleep 0.1; done
$K label svc cs1 watched=yes >/dev/null
for i in $(seq 1 300); do [ "$(grep -c cs1 "$T_DIR/watch.out")" -ge 2 ] && break; sleep 0.1; done
kill $WPID 2>/dev/null; wait $WPID 2>/dev/null
[ "$(grep -c cs1 "$T_DIR/watch.out")" -ge 2 ] && ok "get -w receives the MODIFIED event" || fail "get -w receives the MODIFIED event" "$(cat "$T_DIR/watch.out")"

# Namespace deletion deletes what is in it.
expect_out "delete namespace" 'namespace "prod" deleted' $K delete ns prod --timeout=60s
expect_out "namespace contents gone" 'No resources found' $K get svc -n prod

# Authentication: no token, wrong token.
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/api/v1/namespaces")
[ "$code" = 401 ] && ok "no token: 401" || fail "no token: 401" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -H 'Authorization: Bearer wrong' "$URL/api/v1/namespaces")
[ "$code" = 401 ] && ok "wrong token: 401" || fail "wrong token: 401" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/healthz")
[ "$code" = 200 ] && ok "healthz is public" || fail "healthz is public" "$code"
expect_fail "kubectl with a wrong token is refused" 'You must be logged in to the server \(Unauthorized\)' \
	kubectl --server "$URL" --certificate-authority "$CA" --token not-the-token --kubeconfig /dev/null get svc

# Restart: everything is still there.
stop_server TERM
start_server || fail "restart"
expect_out "after restart: service survives" 'cs1' $K get svc
expect_out "after restart: namespace survives" 'proto-ns' $K get ns
finish
