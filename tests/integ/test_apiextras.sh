#!/usr/bin/env bash
# The self-review APIs and /metrics with real kubectl: `kubectl auth whoami` (the token's
# identity, system:admin in system:masters), `kubectl auth can-i` (yes, and --list shows
# the "*" rules), the reviews' bad input (400), `kubectl get --raw /metrics` in the
# Prometheus text format with kube-apiserver's names, and 401 for /metrics without a token.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }

expect_out "auth whoami: system:admin" 'system:admin' kubectl auth whoami
expect_out "auth whoami: groups system:masters" 'system:masters' kubectl auth whoami -o jsonpath='{.status.userInfo.groups}'
is_yes() { [ "$("$@" 2>&1)" = yes ]; }
check "auth can-i create pods: yes" is_yes kubectl auth can-i create pods
check "auth can-i delete services -n kube-system: yes" is_yes kubectl auth can-i delete services -n kube-system
expect_out "auth can-i --list: every resource and verb" '\*\.\*.*\[\*\]' kubectl auth can-i --list
code_of() { api "$@" | tail -n1; }
expect_out "SelfSubjectAccessReview: bad JSON is 400" '^400$' code_of POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews -H 'Content-Type: application/json' -d '{nope'
expect_out "SelfSubjectAccessReview: another kind is 400" '^400$' code_of POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews -H 'Content-Type: application/json' -d '{"kind":"Pod","apiVersion":"v1"}'
expect_out "SelfSubjectAccessReview in JSON: allowed, spec echoed" '"allowed":true' api POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews -H 'Content-Type: application/json' -d '{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}'
expect_out "SelfSubjectReview: GET is 405" '^405$' code_of GET /apis/authentication.k8s.io/v1/selfsubjectreviews

kubectl get svc >/dev/null 2>&1
kubectl get pods -A >/dev/null 2>&1
M=$(kubectl get --raw /metrics 2>&1)
for want in 'apiserver_request_total\{code="200",resource="services",subresource="",verb="LIST"\} [1-9]' \
	'apiserver_request_duration_seconds_bucket\{resource="services",subresource="",verb="LIST",le="\+Inf"\} [1-9]' \
	'apiserver_current_inflight_requests\{request_kind="readOnly"\} [0-9]+$' \
	'apiserver_longrunning_requests\{verb="WATCH"\} [0-9]' \
	'process_resident_memory_bytes [1-9]' \
	'svcplane_store_fsyncs_total [1-9]' \
	'svcplane_store_transactions_total [1-9]' \
	'svcplane_store_commit_duration_seconds_count [1-9]'; do
	if printf '%s\n' "$M" | grep -Eq "^$want"; then ok "/metrics: /$want/"; else fail "/metrics: /$want/" "$(printf '%s\n' "$M" | head -20)"; fi
done
expect_out "/metrics without a token: 401" '^401$' curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/metrics"
stop_server
finish
