#!/usr/bin/env bash
# API details where svcplane used to differ from Kubernetes (issue 12, point 5), each
# checked with real kubectl against kube's own answer:
#   - an unsupported field selector label is 400 `field label not supported: <label>`
#     (it used to list nothing with exit 0); supported labels of the kind still work;
#   - `kubectl create --dry-run=server` of an existing object is AlreadyExists (it used
#     to say "created (server dry run)"); a new name still dry-runs without storing;
#   - strict decoding errors carry kube's prefix
#     `Service in version "v1" cannot be handled as a Service: strict decoding error: ...`
#     (unknown fields with --validate=strict, and duplicate fields);
#   - the kubernetes Service's EndpointSlice is named "kubernetes" and written by the
#     server, its Endpoints carry endpointslice.kubernetes.io/skip-mirror=true.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }

cat >"$T_DIR/svc.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: d1}
spec: {ports: [{port: 80}]}
Y
check "create d1" kubectl create -f "$T_DIR/svc.yaml"

expect_fail "field selector: unsupported label is 400" 'BadRequest.*field label not supported: spec\.foo' kubectl get svc --field-selector spec.foo=bar
expect_fail "field selector: unsupported label in a watch too" 'field label not supported: spec\.clusterIP' kubectl get svc --field-selector spec.clusterIP=1.2.3.4 --watch --request-timeout=5s
expect_out "field selector: metadata.name works" '^d1$' kubectl get svc --field-selector metadata.name=d1 -o jsonpath='{.items[*].metadata.name}'
check "field selector: pods' status.phase and spec.nodeName are supported" kubectl get pods -A --field-selector status.phase=Running,spec.nodeName=n1
check "field selector: events' involvedObject.name is supported" kubectl get events -A --field-selector involvedObject.name=x,type=Normal
expect_fail "field selector: nodes' spec.unschedulable ok, spec.taints not" 'field label not supported: spec\.taints' kubectl get nodes --field-selector spec.unschedulable=false,spec.taints=x

expect_fail "create --dry-run=server of an existing object: AlreadyExists" 'AlreadyExists.*services "d1" already exists' kubectl create --dry-run=server -f "$T_DIR/svc.yaml"
sed 's/name: d1/name: d2/' "$T_DIR/svc.yaml" >"$T_DIR/svc2.yaml"
expect_out "create --dry-run=server of a new name: dry run" 'service/d2 created \(server dry run\)' kubectl create --dry-run=server -f "$T_DIR/svc2.yaml"
expect_fail "... and nothing stored" 'NotFound' kubectl get svc d2

cat >"$T_DIR/bad.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: d3}
spec: {ports: [{port: 80}], foo: 1}
Y
expect_fail "strict: unknown field has kube's decoder prefix" 'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec\.foo"' kubectl create --validate=strict -f "$T_DIR/bad.yaml"
code_body() { api "$@" | tr -d '\n'; }
expect_out "strict: duplicate field has the prefix too" 'Service in version \\"v1\\" cannot be handled as a Service: strict decoding error: duplicate field \\"name\\".*400$' \
	code_body POST '/api/v1/namespaces/default/services?fieldValidation=Strict' -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"d4","name":"d5"},"spec":{"ports":[{"port":80}]}}'
expect_fail "... and nothing stored" 'NotFound' kubectl get svc d3

# The kubernetes Service's slice: named "kubernetes", written by the server, the only one
# (the Endpoints carry skip-mirror, so no kubernetes-xxxxx mirror), with the server's port.
only_kslice() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name=kubernetes -o name)" = endpointslice.discovery.k8s.io/kubernetes ]; }
if wait_for 10 only_kslice; then ok "kubernetes Service: one EndpointSlice, named kubernetes"; else
	fail "kubernetes Service: one EndpointSlice, named kubernetes" "$(kubectl get endpointslices -A 2>&1)"; fi
expect_out "kubernetes Endpoints carry skip-mirror=true" '"endpointslice.kubernetes.io/skip-mirror":"true"' kubectl get endpoints kubernetes -o jsonpath='{.metadata.labels}'
expect_out "kubernetes slice: the server's port, ready" "^https $PORT true\$" kubectl get endpointslice kubernetes -o jsonpath='{.ports[0].name} {.ports[0].port} {.endpoints[0].conditions.ready}'
# A restart rewrites the Endpoints and the slice (the port changes): still one slice.
stop_server
start_server || { fail "server restarts"; finish; exit 1; }
if wait_for 10 only_kslice; then ok "after a restart: still the one slice"; else fail "after a restart: still the one slice" "$(kubectl get endpointslices -A 2>&1)"; fi
stop_server
finish
