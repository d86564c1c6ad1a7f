#!/usr/bin/env bash
# The workload controllers against a server without nodes (no cluster lock, no root):
# pods are made Ready by writing their status as a kubelet would, so every step of a
# Deployment rollout is checked deterministically with real kubectl: the maxSurge /
# maxUnavailable bounds after each step, rollout status, history, undo; Recreate;
# ReplicaSet adoption and release; StatefulSet order; DaemonSet on fake Ready Nodes;
# garbage collection with each propagation policy; the scale subresource (GET, PATCH,
# PUT with a stale resourceVersion); ConfigMap and Secret validation. The server is the
# ASan+UBSan build in make test: a leak or UB report in its stderr fails the script.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh

start_server || { fail "server starts"; finish; exit 1; }

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# ready SELECTOR: marks every pod matching SELECTOR Running and Ready (as kubelet would).
ready() {
	local p t
	t=$(now)
	for p in $(kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.metadata.name} {end}'); do
		kubectl patch pod "$p" --subresource=status --type=merge -p \
			"{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$t\"}]}}" >/dev/null 2>&1
	done
}
count() { kubectl get "$1" -l "$2" --no-headers 2>/dev/null | grep -c .; }
n_is() { [ "$(count "$1" "$2")" = "$3" ]; }
rs_sum() { kubectl get rs -l "$1" -o jsonpath='{range .items[*]}{.spec.replicas}{"\n"}{end}' | awk '{s+=$1} END {print s+0}'; }

# ---- a rolling update, step by step: 4 replicas, maxSurge 1, maxUnavailable 1 ----
cat >"$T_DIR/d.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll}
spec:
  replicas: 4
  selector: {matchLabels: {app: roll}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: roll}}
    spec: {containers: [{name: c, image: "img:1", command: [sleep, "3600"]}]}
Y
check "apply deployment" kubectl apply -f "$T_DIR/d.yaml"
if wait_for 20 n_is pods app=roll 4; then ok "4 pods"; else fail "4 pods" "$(kubectl get rs,pods 2>&1)"; fi
ready app=roll
check "rollout status" kubectl rollout status deploy/roll --timeout=60s
check "set image" kubectl set image deploy/roll c=img:2
bounds_ok=1 steps=0
for _ in $(seq 1 60); do
	# The controller's step settles before we look: the ReplicaSets' sum and pod count.
	wait_for 10 sh -c "[ \"\$(kubectl get pods -l app=roll --no-headers | grep -c .)\" = \"\$(kubectl get rs -l app=roll -o jsonpath='{range .items[*]}{.spec.replicas}{\"\\n\"}{end}' | awk '{s+=\$1} END {print s+0}')\" ]"
	total=$(rs_sum app=roll)
	readyn=$(kubectl get pods -l app=roll -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
	[ "$total" -le 5 ] || { bounds_ok=0; echo "step $steps: $total pods > 4 + 1"; }
	[ "$readyn" -ge 3 ] || { bounds_ok=0; echo "step $steps: $readyn ready < 4 - 1"; }
	steps=$((steps + 1))
	upd=$(kubectl get deploy roll -o jsonpath='{.status.updatedReplicas} {.status.availableReplicas} {.status.replicas}')
	[ "$upd" = "4 4 4" ] && break
	ready app=roll
	sleep 0.3
done
if [ "$bounds_ok" = 1 ] && [ "$upd" = "4 4 4" ]; then ok "rolled in $steps steps within 5 pods and >= 3 Ready"; else
	fail "rolled within 5 pods and >= 3 Ready" "bounds_ok=$bounds_ok last=$upd $(kubectl get rs,pods 2>&1)"; fi
check "rollout status after the update" kubectl rollout status deploy/roll --timeout=30s
expect_out "two revisions" '^1 2 $' sh -c "kubectl get rs -l app=roll -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision} {end}' | tr ' ' '\\n' | sort -n | tr '\\n' ' '"
check "rollout undo" kubectl rollout undo deploy/roll
wait_for 10 sh -c '[ "$(kubectl get deploy roll -o jsonpath={.spec.template.spec.containers[0].image})" = img:1 ]'
for _ in $(seq 1 40); do ready app=roll; kubectl rollout status deploy/roll --timeout=1s >/dev/null 2>&1 && break; done
check "undo completes" kubectl rollout status deploy/roll --timeout=5s
expect_out "undo reused revision 1's ReplicaSet as revision 3" '^2$' sh -c "kubectl get rs -l app=roll --no-headers | wc -l"

# ---- Recreate: old pods all gone before new ones ----
check "switch to Recreate" kubectl patch deploy roll --type=merge -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}'
check "set image img:3" kubectl set image deploy/roll c=img:3
old_zero() { [ "$(kubectl get rs -l app=roll -o jsonpath='{range .items[?(@.spec.template.spec.containers[0].image!="img:3")]}{.spec.replicas}{end}' | tr -d 0)" = "" ]; }
if wait_for 20 old_zero && wait_for 20 n_is pods app=roll 4; then ok "Recreate: old scaled to 0, then 4 new"; else fail "Recreate" "$(kubectl get rs,pods 2>&1)"; fi
expect_out "Recreate: only new pods" '^img:3 img:3 img:3 img:3 $' sh -c "kubectl get pods -l app=roll -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'"

# ---- scale subresource ----
expect_out "GET scale" '"kind":"Scale".*"replicas":4' kubectl get --raw /apis/apps/v1/namespaces/default/deployments/roll/scale
check "PATCH scale (kubectl scale)" kubectl scale deploy roll --replicas=1
if wait_for 20 n_is pods app=roll 1; then ok "scaled down to 1 pod"; else fail "scaled down to 1 pod"; fi
cat >"$T_DIR/scale.json" <<'J'
{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"roll","namespace":"default","resourceVersion":"1"},"spec":{"replicas":3}}
J
expect_out "PUT scale with a stale resourceVersion: 409" '409$' api PUT /apis/apps/v1/namespaces/default/deployments/roll/scale \
	-H 'Content-Type: application/json' --data-binary @"$T_DIR/scale.json"
expect_out "scale of a kind without it: 404" '404$' api GET /apis/apps/v1/namespaces/default/daemonsets/x/scale
expect_fail "kubectl scale --current-replicas mismatch" 'Expected replicas to be 7' kubectl scale deploy roll --current-replicas=7 --replicas=2

# ---- ReplicaSet: adoption, release, scale-down choice ----
cat >"$T_DIR/orphans.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: orphan-a, labels: {app: adopt}}
spec: {containers: [{name: c, image: x, command: [sleep, "1"]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: orphan-b, labels: {app: adopt}}
spec: {containers: [{name: c, image: x, command: [sleep, "1"]}]}
Y
check "two orphan pods" kubectl apply -f "$T_DIR/orphans.yaml"
cat >"$T_DIR/rs.yaml" <<'Y'
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: adopter}
spec:
  replicas: 3
  selector: {matchLabels: {app: adopt}}
  template:
    metadata: {labels: {app: adopt}}
    spec: {containers: [{name: c, image: x, command: [sleep, "1"]}]}
Y
check "replicaset over them" kubectl apply -f "$T_DIR/rs.yaml"
if wait_for 20 n_is pods app=adopt 3; then ok "adopted 2, made 1"; else fail "adopted 2, made 1" "$(kubectl get pods --show-labels 2>&1)"; fi
expect_out "orphan-a now owned by the ReplicaSet" '^ReplicaSet adopter true$' kubectl get pod orphan-a -o jsonpath='{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}'
check "relabel orphan-b" kubectl label pod orphan-b app=away --overwrite
released() { [ -z "$(kubectl get pod orphan-b -o jsonpath='{.metadata.ownerReferences}')" ] && n_is pods app=adopt 3; }
if wait_for 20 released; then ok "relabelled pod released and replaced"; else fail "relabelled pod released and replaced" "$(kubectl get pods --show-labels; kubectl get pod orphan-b -o yaml | head -20)"; fi
ready app=adopt
newest=$(kubectl get pods -l app=adopt --sort-by=.metadata.creationTimestamp -o jsonpath='{.items[2].metadata.name}')
kubectl patch pod "$newest" --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
check "scale replicaset to 2" kubectl scale rs adopter --replicas=2
gone_newest() { ! kubectl get pod "$newest" >/dev/null 2>&1; }
if wait_for 20 gone_newest; then ok "scale-down removed the unready pod"; else fail "scale-down removed the unready pod" "$(kubectl get pods 2>&1)"; fi
expect_out "replicaset status" '^2 2 2$' kubectl get rs adopter -o jsonpath='{.status.replicas} {.status.readyReplicas} {.status.availableReplicas}'

# ---- StatefulSet order ----
cat >"$T_DIR/sts.yaml" <<'Y'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: sts}}
  template:
    metadata: {labels: {app: sts}}
    spec: {containers: [{name: c, image: x, command: [sleep, "1"]}]}
Y
check "apply statefulset" kubectl apply -f "$T_DIR/sts.yaml"
wait_for 10 n_is pods app=sts 1
sleep 0.5
expect_out "only web-0 until it is Ready" '^web-0 $' sh -c "kubectl get pods -l app=sts -o jsonpath='{range .items[*]}{.metadata.name} {end}'"
for i in 1 2; do
	ready app=sts
	wait_for 10 n_is pods app=sts $((i + 1))
done
ready app=sts
expect_out "web-0..2 in order, with identity" '^web-0 nginx web-1 nginx web-2 nginx $' \
	sh -c "kubectl get pods -l app=sts -o jsonpath='{range .items[*]}{.spec.hostname} {.spec.subdomain} {end}'"

expect_out "statefulset rollout history (ControllerRevisions)" '^1 $' sh -c "kubectl rollout history sts/web | awk 'NR>2 && NF {printf \"%s \", \$1}'"
check "statefulset set image" kubectl set image sts/web c=x2
rev2() { [ "$(kubectl get controllerrevisions -l app=sts --no-headers | grep -c .)" = 2 ]; }
if wait_for 10 rev2; then ok "a second ControllerRevision"; else fail "a second ControllerRevision" "$(kubectl get controllerrevisions 2>&1)"; fi
expect_out "controllerrevision columns" 'web-[a-z0-9]+ +statefulset.apps/web +2' kubectl get controllerrevisions
check "statefulset rollout undo" kubectl rollout undo sts/web
expect_out "undo restored the template" '^x$' kubectl get sts web -o jsonpath='{.spec.template.spec.containers[0].image}'

# ---- DaemonSet on fake nodes ----
for n in fake1 fake2; do
	api POST /api/v1/nodes -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$n\",\"labels\":{\"zone\":\"a\"}}}" >/dev/null
	kubectl patch node $n --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
done
cat >"$T_DIR/ds.yaml" <<'Y'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: perzone}
spec:
  selector: {matchLabels: {app: perzone}}
  template:
    metadata: {labels: {app: perzone}}
    spec: {nodeSelector: {zone: a}, containers: [{name: c, image: x, command: [sleep, "1"]}]}
Y
check "apply daemonset" kubectl apply -f "$T_DIR/ds.yaml"
if wait_for 20 n_is pods app=perzone 2; then ok "a pod per matching node"; else fail "a pod per matching node" "$(kubectl get ds,pods -o wide 2>&1)"; fi
check "label a node out of the selector" kubectl label node fake2 zone=b --overwrite
if wait_for 20 n_is pods app=perzone 1; then ok "the pod leaves a node that no longer matches"; else fail "the pod leaves a node that no longer matches"; fi

# ---- garbage collection ----
check "delete replicaset (background)" kubectl delete rs adopter
if wait_for 20 n_is pods app=adopt 0; then ok "background: pods collected"; else fail "background: pods collected" "$(kubectl get pods 2>&1)"; fi
check "delete statefulset --cascade=orphan" kubectl delete sts web --cascade=orphan
sts_gone() { ! kubectl get sts web >/dev/null 2>&1; }
if wait_for 20 sts_gone && n_is pods app=sts 3 && [ -z "$(kubectl get pod web-0 -o jsonpath='{.metadata.ownerReferences}')" ]; then
	ok "orphan: pods stay, released"; else fail "orphan: pods stay, released" "$(kubectl get sts,pods 2>&1)"; fi
check "delete deployment --cascade=foreground" kubectl delete deploy roll --cascade=foreground --timeout=30s
if n_is rs app=roll 0 && n_is pods app=roll 0; then ok "foreground: ReplicaSets and pods gone with the owner"; else
	fail "foreground: ReplicaSets and pods gone with the owner" "$(kubectl get deploy,rs,pods 2>&1)"; fi
check "delete a pod with propagationPolicy Foreground" kubectl delete pod web-0 --cascade=foreground --timeout=20s

# ---- ConfigMap / Secret / ServiceAccount ----
expect_fail "immutable ConfigMap cannot change" 'field is immutable when `immutable` is set' sh -c \
	'kubectl create configmap frozen --from-literal=a=1 -o json --dry-run=client | python3 -c "import json,sys; o=json.load(sys.stdin); o[\"immutable\"]=True; print(json.dumps(o))" | kubectl create -f - >/dev/null && kubectl patch cm frozen --type=merge -p "{\"data\":{\"a\":\"2\"}}"'
expect_fail "tls Secret without tls.key" 'data\[tls.key\]: Required value' sh -c \
	'echo "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"t\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"eA==\"}}" | kubectl create -f -'
expect_out "stringData folded into data" '^aGk=$' sh -c \
	'echo "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"sd\"},\"stringData\":{\"k\":\"hi\"}}" | kubectl create -f - >/dev/null && kubectl get secret sd -o jsonpath="{.data.k}"'
expect_out "default ServiceAccount" '^default$' kubectl get sa default -o jsonpath='{.metadata.name}'
check "deleted default ServiceAccount comes back" kubectl delete sa default
back() { kubectl get sa default >/dev/null 2>&1; }
if wait_for 10 back; then ok "default ServiceAccount re-made"; else fail "default ServiceAccount re-made"; fi
# kube-root-ca.crt in every namespace: the cluster CA (the one in the kubeconfig), put
# back when deleted or changed, as kube-controller-manager's root-ca-cert-publisher.
kca() { kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d; }
cm_is_ca() { [ "$(kubectl get cm kube-root-ca.crt -n "$1" -o jsonpath='{.data.ca\.crt}' 2>/dev/null)" = "$(kca)" ]; }
check "kubeconfig has the CA" sh -c "kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d | grep -q 'BEGIN CERTIFICATE'"
if wait_for 10 cm_is_ca default; then ok "kube-root-ca.crt in default holds the cluster CA"; else
	fail "kube-root-ca.crt in default holds the cluster CA" "$(kubectl get cm kube-root-ca.crt -o yaml 2>&1 | head -20)"; fi
check "a new namespace" kubectl create namespace rootca
if wait_for 10 cm_is_ca rootca; then ok "kube-root-ca.crt in a new namespace"; else
	fail "kube-root-ca.crt in a new namespace" "$(kubectl get cm -n rootca 2>&1)"; fi
check "delete kube-root-ca.crt" kubectl delete cm kube-root-ca.crt -n rootca
if wait_for 10 cm_is_ca rootca; then ok "kube-root-ca.crt comes back"; else fail "kube-root-ca.crt comes back"; fi
check "change kube-root-ca.crt" kubectl patch cm kube-root-ca.crt -n rootca --type=merge -p '{"data":{"ca.crt":"x","extra":"kept"}}'
put_back() { cm_is_ca rootca && [ "$(kubectl get cm kube-root-ca.crt -n rootca -o jsonpath='{.data.extra}')" = kept ]; }
if wait_for 10 put_back; then ok "its ca.crt is put back, other keys left"; else
	fail "its ca.crt is put back, other keys left" "$(kubectl get cm kube-root-ca.crt -n rootca -o yaml 2>&1 | head -20)"; fi

stop_server TERM
finish
