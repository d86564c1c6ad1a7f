#!/usr/bin/env bash
# The audit log (issue 20) with real kubectl: a Policy in Kubernetes' format decides the
# level of each request (None, Metadata, Request, RequestResponse; first matching rule
# wins), one JSON line per request with kube's Event fields, Secret data never written at
# any level, impersonation recorded, rotation by size with a bounded number of backups,
# and a bad policy refused at start.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
cat >"$T_DIR/policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/api*", "/apis*", "/openapi*", "/version"]
- level: None
  users: ["system:node:quiet"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["secrets", "configmaps"]
- level: Request
  verbs: ["create", "update", "patch"]
  resources:
  - group: ""
    resources: ["services"]
- level: Metadata
YAML
AUD=$T_DIR/audit/audit.log
mkdir -p "$T_DIR/audit"
start_server --audit-policy-file "$T_DIR/policy.yaml" --audit-log-path "$AUD" --audit-log-maxsize 1 --audit-log-maxbackup 2 \
	|| { fail "server starts"; finish; exit 1; }

kubectl create namespace au >/dev/null
kubectl create service clusterip web -n au --tcp=80:8080 >/dev/null
kubectl get svc web -n au >/dev/null
kubectl create secret generic s1 -n au --from-literal=password=hunter2-SECRET >/dev/null
kubectl get secret s1 -n au -o yaml >/dev/null
kubectl create configmap c1 -n au --from-literal=k=visible-cm-value >/dev/null
kubectl get pods -n au --as alice >/dev/null 2>&1

line() { # line JQ-FILTER: the first audit event matching
	jq -c "select($1)" "$AUD" | head -n1
}
expect_out "one JSON line per request, each an audit.k8s.io/v1 Event" '^0$' sh -c "jq -r 'select(.kind != \"Event\" or .apiVersion != \"audit.k8s.io/v1\" or .stage != \"ResponseComplete\") | .auditID' '$AUD' | wc -l"
expect_out "create service: level Request with the request object" '"level":"Request".*"requestObject":\{' line '.verb=="create" and .objectRef.resource=="services"'
expect_out "create service: no response object at Request" '^null$' sh -c "jq -c 'select(.verb==\"create\" and .objectRef.resource==\"services\") | .responseObject' '$AUD' | head -n1"
expect_out "get service: level Metadata (the catch-all rule)" '"level":"Metadata"' line '.verb=="get" and .objectRef.resource=="services" and .objectRef.name=="web"'
expect_out "get service: objectRef, user, sourceIPs, code" '"objectRef":\{"resource":"services","namespace":"au","name":"web"\}.*' line '.verb=="get" and .objectRef.name=="web"'
expect_out "event fields: user and source IP" '"user":\{"username":"system:admin","groups":\["system:masters","system:authenticated"\]\}' line '.verb=="get" and .objectRef.name=="web"'
expect_out "event fields: response code 200 and timestamps" '"responseStatus":\{"code":200\}.*"requestReceivedTimestamp":"20[0-9-]+T[0-9:.]+Z"' line '.verb=="get" and .objectRef.name=="web"'
expect_out "configmap create: RequestResponse carries both objects" '"level":"RequestResponse".*"requestObject".*"responseObject"' line '.verb=="create" and .objectRef.resource=="configmaps"'
# Every secret request (kubectl's two, and the server's own informers' lists) at Metadata.
expect_out "secret requests: kubectl's create and get are logged" '^create get $' sh -c "jq -r 'select(.objectRef.resource==\"secrets\" and .objectRef.name==\"s1\") | .verb' '$AUD' | tr '\n' ' '"
expect_out "secret requests: logged at Metadata only, whatever the policy says" '^Metadata$' sh -c "jq -r 'select(.objectRef.resource==\"secrets\") | .level' '$AUD' | sort -u"

check "secret data is never in the audit log" sh -c "! grep -qE 'hunter2|aHVudGVyMi1TRUNSRVQ' '$AUD'"
check "configmap data is (RequestResponse)" grep -q visible-cm-value "$AUD"
expect_out "discovery matched a None rule: not logged" '^0$' sh -c "jq -r 'select(.requestURI | startswith(\"/api\") and (contains(\"/namespaces\") | not) and (contains(\"/services\") | not)) | .requestURI' '$AUD' | grep -cE '^/apis?(/v1)?(\?.*)?$'"
expect_out "impersonation: user is the requester, impersonatedUser alice, 403, decision forbid" '^system:admin alice 403 forbid$' \
	sh -c "jq -r 'select(.impersonatedUser.username==\"alice\") | [.user.username, .impersonatedUser.username, .responseStatus.code, .annotations[\"authorization.k8s.io/decision\"]] | join(\" \")' '$AUD' | head -n1"

# Rotation: 1 MB, 2 backups. RequestResponse lists of a ConfigMap of ~60 KB.
head -c 45000 /dev/urandom | base64 -w0 >"$T_DIR/big.txt"
kubectl create configmap big -n au --from-file=v="$T_DIR/big.txt" >/dev/null
urls=()
for i in $(seq 1 60); do urls+=("$URL/api/v1/namespaces/au/configmaps/big"); done
curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "${urls[@]}" >/dev/null
expect_out "rotation: at most 2 backups named audit-<time>.log" '^2$' sh -c "ls '$T_DIR/audit' | grep -cE '^audit-20[0-9-]+T[0-9-]+\.[0-9]{3}\.log$'"
expect_out "rotation: the current file is under 1 MB" '^ok$' sh -c "[ \$(stat -c %s '$AUD') -le 1048576 ] && echo ok"
expect_out "audit log is 0600" '^600$' stat -c %a "$AUD"
stop_server

# A bad policy stops the start with a reason.
printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n' >"$T_DIR/bad.yaml"
expect_fail "a bad level is refused at start" 'rules\[0\]\.level: Unsupported value: "Loud"' \
	"$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent --audit-policy-file "$T_DIR/bad.yaml" --audit-log-path "$T_DIR/x.log"
expect_fail "an audit log needs a policy" 'audit-log-path needs --audit-policy-file' \
	"$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent --audit-log-path "$T_DIR/x.log"
finish
