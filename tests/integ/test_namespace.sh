#!/usr/bin/env bash
# Namespace deletion through the namespace controller (controller/namespace.c), a client
# of the API: deleting a namespace deletes what is in it, an object with a finalizer is
# marked and keeps the namespace Terminating until its owner removes the finalizer, and
# namespaces/NAME/finalize removing the last spec finalizer deletes the namespace.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }
K=kubectl

# wait_gone NS: up to 60 s for the namespace to be NotFound.
wait_gone() {
	local i
	for i in $(seq 1 600); do $K get ns "$1" >/dev/null 2>&1 || return 0; sleep 0.1; done
	return 1
}

$K create ns doomed >/dev/null
$K -n doomed create service clusterip web --tcp=80:8080 >/dev/null
$K -n doomed create configmap plain --from-literal=a=b >/dev/null
$K -n doomed apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: held, finalizers: [example.com/hold]}
data: {a: b}
Y
expect_out "delete a namespace (no wait)" 'namespace "doomed" deleted' $K delete ns doomed --wait=false
# The plain objects go; the one with a finalizer is marked and stays, and so does the
# namespace, Terminating.
for i in $(seq 1 600); do
	[ -z "$($K -n doomed get svc,cm --no-headers -o name 2>/dev/null | grep -v held)" ] && break
	sleep 0.1
done
left=$($K -n doomed get svc,cm --no-headers -o name 2>&1)
[ "$left" = "configmap/held" ] && ok "contents deleted, the finalized object stays" || fail "contents deleted, the finalized object stays" "$left"
dt=$($K -n doomed get cm held -o jsonpath='{.metadata.deletionTimestamp}')
[ -n "$dt" ] && ok "the finalized object is marked for deletion" || fail "the finalized object is marked for deletion" "$dt"
expect_out "namespace Terminating while an object remains" 'Terminating' $K get ns doomed -o jsonpath='{.status.phase}'
$K -n doomed patch cm held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
wait_gone doomed && ok "the namespace goes once its last object went" || fail "the namespace goes once its last object went" "$($K get ns doomed -o yaml 2>&1)"

# The finalize subresource: a spec finalizer of someone else's keeps the namespace until
# it is removed there.
$K apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Namespace
metadata: {name: fin}
spec: {finalizers: [kubernetes, example.com/other]}
Y
$K delete ns fin --wait=false >/dev/null
for i in $(seq 1 600); do
	[ "$($K get ns fin -o jsonpath='{.spec.finalizers}' 2>/dev/null)" = '["example.com/other"]' ] && break
	sleep 0.1
done
expect_out "the controller removes only its own finalizer" 'example.com/other' $K get ns fin -o jsonpath='{.spec.finalizers}'
rv=$($K get ns fin -o jsonpath='{.metadata.resourceVersion}')
out=$(api PUT /api/v1/namespaces/fin/finalize -H 'Content-Type: application/json' \
	-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fin\",\"resourceVersion\":\"$rv\"},\"spec\":{\"finalizers\":[]}}")
[ "$(printf '%s' "$out" | tail -n1)" = 200 ] && ok "PUT namespaces/fin/finalize" || fail "PUT namespaces/fin/finalize" "$out"
wait_gone fin && ok "no finalizer left: the namespace is deleted" || fail "no finalizer left: the namespace is deleted" "$($K get ns fin -o yaml 2>&1)"
$K create ns live >/dev/null
out=$(api PUT /api/v1/namespaces/live/finalize -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"live","resourceVersion":"999999"},"spec":{"finalizers":[]}}')
[ "$(printf '%s' "$out" | tail -n1)" = 409 ] && ok "finalize with a stale resourceVersion: 409" || fail "finalize with a stale resourceVersion: 409" "$out"
out=$(api PUT /api/v1/namespaces/live/finalize -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"live"},"spec":{"finalizers":[]}}')
[ "$(printf '%s' "$out" | tail -n1)" = 200 ] && ok "finalize of a live namespace: 200" || fail "finalize of a live namespace: 200" "$out"
# An empty finalizers list is omitted, as NamespaceSpec's omitempty has it.
expect_out "a live namespace stays, Active, without finalizers" '^Active$' \
	bash -c "$K get ns live -o jsonpath='{.status.phase}{.spec.finalizers}'"
expect_out "namespaces/NAME/status is served" '"phase":"Active"' api GET /api/v1/namespaces/live/status
finish
