#!/usr/bin/env bash
# /openapi/v2 with real kubectl (issue 12 point 5): the swagger 2.0 document kubectl 1.27
# reads as protobuf (gnostic's openapi_v2.Document) for explain --output=plaintext-openapiv2,
# client-side validation and apply's patch metadata, and as JSON for other clients:
#   - explain (1.27 and 1.33) with the v2 model: fields, Kubernetes' descriptions, enums;
#   - apply --validate=true of an unknown field: Kubernetes' error, from kubectl 1.27;
#   - client-side apply of a change by kubectl 1.27 computes its patch from the v2 model;
#   - JSON unless Accept names the protobuf (swagger "2.0", definitions), ETag and 304 on
#     If-None-Match.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }
K27=$KDIR/kubectl.1.27

explain() { "$@" 2>&1 | tr '\n' ' '; }
expect_out "explain v2 (1.27): svc.spec fields and the type's description" \
	'KIND:[[:space:]]+Service.*VERSION:[[:space:]]+v1.*RESOURCE:[[:space:]]+spec.*ServiceSpec describes the attributes that a user creates on a service.*clusterIP[[:space:]]+<string>.*ports[[:space:]]+<\[\]Object>.*selector[[:space:]]+<map\[string\]string>' \
	explain "$K27" explain svc.spec --output=plaintext-openapiv2
expect_out "explain v2 (1.27): a field's Kubernetes description with its enum values" \
	'FIELD:[[:space:]]+type[[:space:]]+<string>.*ExternalName.*Possible enum values:[[:space:]]+- `"ClusterIP"`' \
	explain "$K27" explain svc.spec.type --output=plaintext-openapiv2
expect_out "explain v2 (1.33): the same model" \
	'RESOURCE:[[:space:]]+ports[[:space:]]+<\[\]Object>.*targetPort[[:space:]]+<string>' \
	explain kubectl explain svc.spec.ports --output=plaintext-openapiv2
expect_out "explain v2: a kind of another group (apps/v1 Deployment)" \
	'KIND:[[:space:]]+Deployment.*VERSION:[[:space:]]+apps/v1.*replicas[[:space:]]+<integer>' \
	explain "$K27" explain deployment.spec --output=plaintext-openapiv2
expect_fail "explain v2: an unknown field is Kubernetes' error" \
	'field "nosuch" does not exist' "$K27" explain svc.spec.nosuch --output=plaintext-openapiv2

cat >"$T_DIR/bad.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: v2bad}
spec:
  ports: [{port: 80, bogus: 1}]
  nosuchfield: 1
Y
expect_fail "apply --validate=true (1.27) of unknown fields: Kubernetes' error" \
	'unknown field "spec.nosuchfield"|unknown field "nosuchfield"' "$K27" apply --validate=true -f "$T_DIR/bad.yaml"
expect_fail "... also with --validate=strict and create (1.27)" \
	'unknown field' "$K27" create --validate=strict -f "$T_DIR/bad.yaml"
expect_out "... and nothing was stored" 'NotFound' kubectl get svc v2bad

cat >"$T_DIR/ok.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: v2ok, labels: {a: "1"}}
spec:
  selector: {app: v2ok}
  ports: [{port: 80, name: http}, {port: 443, name: https}]
Y
check "apply (1.27) of a valid manifest" "$K27" apply --validate=true -f "$T_DIR/ok.yaml"
sed -e 's/a: "1"/a: "2"/' -e 's/port: 443, name: https/port: 8443, name: alt/' "$T_DIR/ok.yaml" >"$T_DIR/ok2.yaml"
expect_out "apply (1.27) of a change: no warning from the v2 patch computation" '^service/v2ok configured$' "$K27" apply -f "$T_DIR/ok2.yaml"
expect_out "... the change is applied (ports merged by key, label replaced)" '^2 80,8443$' \
	kubectl get svc v2ok -o jsonpath='{.metadata.labels.a} {.spec.ports[0].port},{.spec.ports[1].port}'
cat >"$T_DIR/pod.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: v2pod, labels: {a: "1"}}
spec:
  volumes: [{name: v, emptyDir: {}}]
  containers: [{name: c, image: busybox, command: [sleep, "100"], volumeMounts: [{name: v, mountPath: /v}]}]
Y
check "apply (1.27) of a pod with volumes" "$K27" apply --validate=true -f "$T_DIR/pod.yaml"
sed 's/a: "1"/a: "2"/' "$T_DIR/pod.yaml" >"$T_DIR/pod2.yaml"
expect_out "... re-applied changed: no warning" '^pod/v2pod configured$' "$K27" apply -f "$T_DIR/pod2.yaml"

# The document itself.
v2json() { api GET /openapi/v2 -H 'Accept: application/json' | head -n -1; }
expect_out "JSON on Accept: application/json: swagger 2.0 with definitions" \
	'"swagger":"2.0"' v2json
expect_out "JSON without an Accept naming protobuf too (kubectl get --raw)" '^\{"definitions":' sh -c 'kubectl get --raw /openapi/v2 | head -c 40'
expect_out "... Service's definition with its GVK and #/definitions refs" \
	'"io.k8s.api.core.v1.Service":\{"description":[^}]*"properties":\{"apiVersion".*"spec":\{"\$ref":"#/definitions/io.k8s.api.core.v1.ServiceSpec"' v2json
hdr() { curl -sS -o /dev/null -D - --max-time 10 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@" "$URL/openapi/v2"; }
etag=$(hdr -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
expect_out "protobuf has a strong ETag" '^"[0-9A-F]{16}"$' echo "$etag"
expect_out "... If-None-Match with it: 304" '^HTTP/[0-9.]+ 304' hdr -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' -H "If-None-Match: $etag"
expect_out "... a stale one: 200" '^HTTP/[0-9.]+ 200' hdr -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' -H 'If-None-Match: "0000000000000000"'
expect_out "without a token: 401" '401$' sh -c "curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert '$CA' '$URL/openapi/v2'"

stop_server
finish
