#!/usr/bin/env bash
# svcplane ctl against a real server, side by side with real kubectl: get (every kind,
# every output format), apply (files, folders, -R, stdin, multi-document, JSON, errors),
# delete, describe, and the kubeconfig lookup. Where kubectl's output is the reference the
# two must be byte for byte equal, stdout, stderr and exit code.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
M=tests/integ/manifests
K=kubectl

start_server || { fail "server starts"; finish; exit 1; }
ok "server starts"

ctl() { "$SVCPLANE" ctl "$@"; }

# ages_close A B: the two texts are equal but for ages (kubectl's HumanDuration: "84s",
# "3m10s", "5h"), where each age is in HumanDuration's own form and the two differ by at
# most 15 s: the two commands ran a moment apart, and on a busy machine that moment can
# cross a second (or more) boundary.
ages_close() {
	python3 - "$1" "$2" <<'PY'
import re, sys
AGE = re.compile(r"^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
def secs(t):
    m = AGE.match(t)
    if not t or not m or not any(m.groups()):
        return None
    y, d, h, mi, s = (int(g or 0) for g in m.groups())
    return (((y * 365 + d) * 24 + h) * 60 + mi) * 60 + s
def human(v):  # k8s.io/apimachinery/pkg/util/duration.HumanDuration
    if v < 120: return "%ds" % v
    mi = v // 60
    if mi < 10: return "%dm" % mi if v % 60 == 0 else "%dm%ds" % (mi, v % 60)
    if mi < 180: return "%dm" % mi
    h = v // 3600
    if h < 8: return "%dh" % h if mi % 60 == 0 else "%dh%dm" % (h, mi % 60)
    if h < 48: return "%dh" % h
    if h < 24 * 8: return "%dd" % (h // 24) if h % 24 == 0 else "%dd%dh" % (h // 24, h % 24)
    if h < 24 * 365 * 2: return "%dd" % (h // 24)
    if h < 24 * 365 * 8: return "%dy" % (h // 24 // 365) if (h // 24) % 365 == 0 else "%dy%dd" % (h // 24 // 365, (h // 24) % 365)
    return "%dy" % (h // 24 // 365)
a, b = sys.argv[1], sys.argv[2]
ta, tb = re.split(r"(\s+)", a), re.split(r"(\s+)", b)
if len(ta) != len(tb):
    sys.exit(1)
for x, y in zip(ta, tb):
    if x == y:
        continue
    sx, sy = secs(x), secs(y)
    if sx is None or sy is None or human(sx) != x or human(sy) != y or abs(sx - sy) > 15:
        sys.exit(1)
PY
}

# same NAME ARGS...: `svcplane ctl ARGS` and `kubectl ARGS` print the same stdout and stderr
# and exit alike. Ages tick between the two runs: a difference is retried twice, then ages
# may differ as ages_close allows (their form must still be kubectl's).
same() {
	local n=$1; shift
	local i a_out a_err a_rc k_out k_err k_rc
	for i in 1 2 3; do
		a_out=$(ctl "$@" 2>"$T_DIR/a.err"); a_rc=$?; a_err=$(cat "$T_DIR/a.err")
		k_out=$($K "$@" 2>"$T_DIR/k.err"); k_rc=$?; k_err=$(cat "$T_DIR/k.err")
		[ "$a_out" = "$k_out" ] && [ "$a_err" = "$k_err" ] && [ $a_rc = $k_rc ] && { ok "$n"; return; }
		sleep 0.3
	done
	if [ "$a_err" = "$k_err" ] && [ $a_rc = $k_rc ] && ages_close "$a_out" "$k_out"; then ok "$n (ages a moment apart)"; return; fi
	fail "$n" "$(diff <(printf '%s\n%s\nexit %s\n' "$a_out" "$a_err" $a_rc) <(printf '%s\n%s\nexit %s\n' "$k_out" "$k_err" $k_rc))"
}

# same_in NAME NS_A NS_B ARGS...: ctl in namespace NS_A and kubectl in NS_B print the same
# (for commands that change state: each tool gets its own namespace).
same_in() {
	local n=$1 na=$2 nb=$3; shift 3
	local a_out k_out a_rc k_rc
	a_out=$(ctl -n "$na" "$@" 2>&1); a_rc=$?
	k_out=$($K -n "$nb" "$@" 2>&1); k_rc=$?
	if [ "$a_out" = "$k_out" ] && [ $a_rc = $k_rc ]; then ok "$n"; else
		fail "$n" "$(diff <(printf '%s\nexit %s\n' "$a_out" $a_rc) <(printf '%s\nexit %s\n' "$k_out" $k_rc))"; fi
}

# ---- usage ----
expect_out "ctl --help lists the commands" 'get .*apply .*delete .*describe' bash -c "'$SVCPLANE' ctl --help | tr '\n' ' '"
expect_fail "ctl without a command exits 2" 'usage: svcplane ctl' ctl
expect_fail "unknown ctl command" 'unknown command "frobnicate"' ctl frobnicate
expect_out "svcplane usage names ctl" 'ctl +command-line client' "$SVCPLANE" help

# ---- apply: create, unchanged, configured, back ----
expect_out "apply creates" '^service/my-service created$' ctl apply -f $M/ctl-svc.yaml
expect_out "apply again: unchanged" '^service/my-service unchanged$' ctl apply -f $M/ctl-svc.yaml
expect_out "apply two ports: configured" '^service/my-service configured$' ctl apply -f $M/ctl-svc-multiport.yaml
out=$($K get svc my-service -o jsonpath='{.spec.ports[*].port} {.metadata.labels.tier}')
[ "$out" = "80 443 frontend" ] && ok "apply configured: both ports and the label" || fail "apply configured: both ports and the label" "$out"
expect_out "apply back to one port: configured" '^service/my-service configured$' ctl apply -f $M/ctl-svc.yaml
out=$($K get svc my-service -o jsonpath='{.spec.ports[*].port} {.metadata.labels.tier}')
[ "$out" = "80 " ] && ok "apply back removed the port and the label (server-side apply)" || fail "apply back removed the port and the label (server-side apply)" "$out"
check "apply multiport again" ctl apply -f $M/ctl-svc-multiport.yaml
expect_out "apply a discovery.k8s.io kind" '^endpointslice.discovery.k8s.io/my-service-manual created$' ctl apply -f $M/ctl-slice.yaml

# Same words as kubectl for the same sequence, each in its own namespace.
$K create ns ca >/dev/null; $K create ns ka >/dev/null
same_in "apply create: same as kubectl" ca ka apply -f $M/ctl-svc.yaml
same_in "apply unchanged: same as kubectl" ca ka apply -f $M/ctl-svc.yaml
same_in "apply configured: same as kubectl" ca ka apply -f $M/ctl-svc-multiport.yaml
same_in "apply multi-doc create: same as kubectl" ca ka apply -f $M/ctl-types.yaml
same_in "apply multi-doc unchanged: same as kubectl" ca ka apply -f $M/ctl-types.yaml
same_in "apply invalid object: same as kubectl" ca ka apply -f $M/bad-port.yaml
same_in "apply unknown field (Strict): same as kubectl" ca ka apply -f $M/unknown-field.yaml
same_in "apply mixed good and bad: same as kubectl" ca ka apply -f $M/ctl-bad.yaml
same_in "apply two failing files: same as kubectl" ca ka apply -f $M/bad-port.yaml -f $M/unknown-field.yaml
same_in "apply folder: same as kubectl" ca ka apply -f $M/ctl-dir
same_in "apply folder -R: same as kubectl" ca ka apply -R -f $M/ctl-dir
same_in "apply JSON file: same as kubectl" ca ka apply -f $M/ctl-dir/b-kubia-nodeport.json
same_in "apply a missing path: same as kubectl" ca ka apply -f $M/no-such-file.yaml
same_in "apply folder and file: same as kubectl" ca ka apply -f $M/ctl-dir -f $M/ctl-external.yaml

# Multi-document, folders, stdin in the default namespace.
expect_out "apply multi-doc: all four" 'service/my-nodeport-service created.*service/db-mariadb-slave-lb created.*service/kubia-headless created.*service/external-name created' \
	bash -c "'$SVCPLANE' ctl apply -f $M/ctl-types.yaml | tr '\n' ' '"
expect_out "apply Service + Endpoints" 'service/external-service created.*endpoints/external-service created' \
	bash -c "'$SVCPLANE' ctl apply -f $M/ctl-external.yaml | tr '\n' ' '"
out=$(ctl apply -f $M/ctl-dir 2>&1)
[ "$out" = $'service/kubia created\nservice/kubia-nodeport created' ] && ok "apply folder: .yaml and .json, not .txt, not sub/" || fail "apply folder: .yaml and .json, not .txt, not sub/" "$out"
expect_out "apply folder -R reaches sub/" 'service/deep created' ctl apply -R -f $M/ctl-dir
expect_out "apply from stdin" '^service/stdin-svc created$' bash -c "sed 's/name: my-service/name: stdin-svc/' $M/ctl-svc.yaml | '$SVCPLANE' ctl apply -f -"
expect_out "apply from stdin, JSON" '^service/stdin-json created$' bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"stdin-json\"},\"spec\":{\"ports\":[{\"port\":80}]}}' | '$SVCPLANE' ctl apply -f -"
expect_out "apply a v1 List" 'service/list-a created.*service/list-b created' bash -c "printf 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: list-a}, spec: {ports: [{port: 80}]}}\n- {apiVersion: v1, kind: Service, metadata: {name: list-b}, spec: {ports: [{port: 80}]}}\n' | '$SVCPLANE' ctl apply -f - | tr '\n' ' '"
expect_fail "apply invalid: kubectl's Invalid wording" 'The Service "bad" is invalid: $' ctl apply -f $M/bad-port.yaml
expect_fail "apply invalid: each cause on a line" '^\* spec.ports\[0\].port: Invalid value: 0: must be between 1 and 65535, inclusive$' ctl apply -f $M/bad-port.yaml
out=$(ctl apply -f $M/ctl-bad.yaml 2>&1); rc=$?
if [ $rc = 1 ] && printf '%s' "$out" | grep -q '^service/good-one created' && printf '%s' "$out" | grep -q '^service/good-two created' &&
	printf '%s' "$out" | grep -q 'The Service "bad-zero" is invalid'; then ok "apply continues after a failed object, exit 1"; else fail "apply continues after a failed object, exit 1" "exit $rc: $out"; fi
expect_out "apply the seed's extensions/v1beta1 Ingress (a deprecated version, served)" '^ingress.extensions/kubia created$' ctl apply -f $M/ctl-ingress-v1beta1.yaml
expect_fail "apply an unknown apiVersion/kind" 'no matches for kind "Deployment" in version "extensions/v1beta1"' \
	bash -c "printf 'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n' | '$SVCPLANE' ctl apply -f -"
expect_fail "apply with a namespace other than the object's" "the namespace from the provided object \"prod\" does not match the namespace \"default\"" \
	ctl apply -n default -f $M/multi.yaml
expect_fail "apply without -f" 'must specify -f' ctl apply
expect_fail "apply of bad YAML" 'error parsing STDIN: error converting YAML to JSON' bash -c "printf 'a: [\n b' | '$SVCPLANE' ctl apply -f -"

# ---- get: tables like kubectl ----
$K label svc my-service env=test >/dev/null
same "get svc" get svc
same "get services" get services
same "get service (singular)" get service
same "get Service (Kind)" get Service
same "get svc NAME" get svc my-service
same "get svc/NAME" get svc/my-service
same "get svc two names" get svc my-service kubia
same "get svc -o wide" get svc -o wide
same "get svc -A" get svc -A
same "get svc -A -o wide --show-labels" get svc -A -o wide --show-labels
same "get svc --show-labels" get svc --show-labels
same "get svc -l app=MyApp" get svc -l app=MyApp
same "get svc -l 'app in (kubia)'" get svc -l 'app in (kubia)'
same "get svc --no-headers" get svc --no-headers
same "get ns" get ns
same "get namespaces -o wide" get namespaces -o wide
same "get no" get no
same "get nodes -A" get nodes -A
same "get ep" get ep
same "get endpoints NAME" get endpoints external-service
same "get endpointslices" get endpointslices
same "get endpointslices -o wide" get endpointslices -o wide
same "get po" get po
same "get ing" get ing
same "get ingressclasses" get ingressclasses
same "get ev" get ev
same "get svc,ep (kind prefixes)" get svc,ep
same "get ep,svc NAME" get ep,svc external-service
same "get svc/NAME ep/NAME" get svc/my-service ep/external-service
same "get svc -n empty namespace" get svc -n kube-public
same "get svc -l no match" get svc -l app=nothing
same "get svc -A -l no match" get svc -A -l app=nothing
same "get svc missing: NotFound" get svc nope
same "get svc found and missing" get svc my-service nope
same "get unknown type" get foo
same "get svc -o name" get svc -o name
same "get endpointslices -o name" get endpointslices -o name
same "get svc -o yaml (List)" get svc -o yaml
same "get svc NAME -o yaml" get svc my-service -o yaml
same "get svc NAME -o json" get svc my-service -o json
same "get svc -o json (List)" get svc -o json
same "get svc two names -o yaml" get svc my-service kubia -o yaml
same "get ns NAME -o yaml" get ns default -o yaml
same "get endpointslice -o yaml" get endpointslices my-service-manual -o yaml
same "get po -o json (empty List)" get po -o json
same "get svc missing -o yaml" get svc nope -o yaml
same "get svc -l no match -o name" get svc -l app=nothing -o name
expect_fail "get without a type" 'Required resource not specified' ctl get
expect_fail "get with a bad -o" 'unable to match a printer suitable for the output format "xml"' ctl get svc -o xml
out=$(ctl get svc my-service -o yaml)
printf '%s' "$out" | grep -q managedFields && fail "-o yaml strips managedFields" "$out" || ok "-o yaml strips managedFields"

# ---- describe ----
same "describe svc (with EndpointSlice endpoints)" describe svc my-service
same "describe service/NAME" describe service/my-service
same "describe svc NodePort" describe svc my-nodeport-service
same "describe svc LoadBalancer" describe svc db-mariadb-slave-lb
same "describe svc headless" describe svc kubia-headless
same "describe svc ExternalName" describe svc external-name
same "describe svc without selector" describe svc external-service
same "describe svc ClientIP affinity" describe svc kubia
same "describe all svc in a namespace" describe svc -n ca
same "describe svc by name prefix" describe svc kubia
same "describe svc -l" describe svc -l app=kubia
same "describe svc missing: NotFound" describe svc nope
same "describe ns" describe ns default
same "describe ep" describe ep external-service
same "describe svc in an empty namespace" describe svc -n kube-public
expect_out "describe generic fallback (EndpointSlice)" 'Address Type: +IPv4' ctl describe endpointslice my-service-manual
out=$(ctl describe svc my-service)
printf '%s' "$out" | grep -Eq '^Endpoints: +198\.18\.0\.5:9376,198\.18\.0\.7:9376$' && ok "describe: ready endpoints of the named port" || fail "describe: ready endpoints of the named port" "$out"

# ---- delete ----
$K apply -n ca -f $M/ctl-external.yaml >/dev/null; $K apply -n ka -f $M/ctl-external.yaml >/dev/null
# The Endpoints first: once its Service is gone the endpoints controller deletes it too
# (as kube's does), and the two deletes would race that controller.
same_in "delete TYPE/NAME: same as kubectl" ca ka delete endpoints/external-service
same_in "delete TYPE NAME: same as kubectl" ca ka delete svc external-service
same_in "delete again: NotFound like kubectl" ca ka delete svc external-service
same_in "delete -f: same as kubectl" ca ka delete -f $M/ctl-types.yaml
same_in "delete -f missing: same as kubectl" ca ka delete -f $M/ctl-types.yaml
same_in "delete -l: same as kubectl" ca ka delete svc -l app=kubia
same_in "delete -l no match: same as kubectl" ca ka delete svc -l app=kubia
same_in "delete TYPE without name: same as kubectl" ca ka delete svc
same_in "delete --ignore-not-found: same as kubectl" ca ka delete svc nope --ignore-not-found
expect_out "delete svc" '^service "stdin-svc" deleted$' ctl delete svc stdin-svc
expect_fail "delete missing: NotFound" 'Error from server \(NotFound\): services "stdin-svc" not found' ctl delete svc stdin-svc
expect_out "delete an EndpointSlice" '^endpointslice.discovery.k8s.io "my-service-manual" deleted$' ctl delete endpointslices my-service-manual
expect_out "delete several" 'service "list-a" deleted.*service "list-b" deleted' bash -c "'$SVCPLANE' ctl delete svc list-a list-b | tr '\n' ' '"
expect_out "delete a namespace waits until it is gone" '^namespace "ca" deleted$' ctl delete ns ca
expect_fail "deleted namespace is gone" 'NotFound' $K get ns ca
expect_fail "get after delete: NotFound" 'services "stdin-svc" not found' ctl get svc stdin-svc

# ---- kubeconfig and connection ----
expect_out "--kubeconfig flag" 'my-service' env -u KUBECONFIG "$SVCPLANE" ctl --kubeconfig "$KUBECONFIG" get svc
mkdir -p "$HOME/.kube" && cp "$KUBECONFIG" "$HOME/.kube/config"
expect_out "~/.kube/config when KUBECONFIG is unset" 'my-service' env -u KUBECONFIG "$SVCPLANE" ctl get svc
rm -f "$HOME/.kube/config"
expect_out "KUBECONFIG list: missing files skipped" 'my-service' env KUBECONFIG="$T_DIR/none:$KUBECONFIG" "$SVCPLANE" ctl get svc
expect_fail "no kubeconfig at all" 'no kubeconfig found' env -u KUBECONFIG HOME="$T_DIR/nohome" "$SVCPLANE" ctl get svc
expect_fail "--context that does not exist" 'context "nope" does not exist' ctl --context nope get svc
sed "s/namespace: default/namespace: ctxns/" "$KUBECONFIG" >"$T_DIR/kc-prod"
$K create ns ctxns >/dev/null
same "context namespace (ctxns)" --kubeconfig "$T_DIR/kc-prod" get svc
expect_out "-n beats the context namespace" 'my-service' ctl --kubeconfig "$T_DIR/kc-prod" get svc -n default
sed -E "s/token: .*/token: wrong/" "$KUBECONFIG" >"$T_DIR/kc-bad"
same "wrong token: Unauthorized like kubectl" --kubeconfig "$T_DIR/kc-bad" get svc
python3 - "$KUBECONFIG" "$T_DIR/kc-file" "$CA" "$T_DIR/tok" "$TOKEN" <<'EOF'
import sys, re
src, dst, ca, tokpath, tok = sys.argv[1:]
open(tokpath, "w").write(tok + "\n")
s = open(src).read()
s = re.sub(r"certificate-authority-data: .*", "certificate-authority: " + ca, s)
s = re.sub(r"token: .*", "tokenFile: " + tokpath, s)
open(dst, "w").write(s)
EOF
expect_out "certificate-authority file and tokenFile" 'my-service' ctl --kubeconfig "$T_DIR/kc-file" get svc
sed -E "s/certificate-authority-data: .*/insecure-skip-tls-verify: true/" "$KUBECONFIG" >"$T_DIR/kc-insecure"
expect_out "insecure-skip-tls-verify" 'my-service' ctl --kubeconfig "$T_DIR/kc-insecure" get svc
# A CA the server's certificate does not chain to (the system bundle).
sed -E "s|certificate-authority-data: .*|certificate-authority: /etc/ssl/certs/ca-certificates.crt|" "$KUBECONFIG" >"$T_DIR/kc-wrongca"
expect_fail "a CA that does not sign the server is refused" 'Unable to connect to the server' ctl --kubeconfig "$T_DIR/kc-wrongca" get svc

stop_server
expect_fail "server down: connection refused like kubectl" "The connection to the server 127.0.0.1:$PORT was refused - did you specify the right host or port\?" ctl get svc
finish
