#!/usr/bin/env bash
# API details of issue 12 point 5 checked with real kubectl (the default binary and 1.27):
#   - empty maps and lists (labels: {}, annotations: {}, externalIPs: [], env: []) are
#     not stored or returned, as Kubernetes' JSON omits them; `kubectl diff` (client- and
#     server-side) of the unchanged applied manifest is clean (exit 0);
#   - server-side apply honours k8s.io/api's markers: a Service's spec.selector is
#     mapType=atomic (a second manager conflicts on .spec.selector and, forced, replaces
#     it whole), a Deployment's LabelSelector is one field (f:selector: {}), ports are
#     keyed by port+protocol;
#   - a pod no node fits: PodScheduled=False, reason Unschedulable, kube-scheduler's
#     message, lastProbeTime: null (kept by the scheduler's JSON patch), a Warning
#     FailedScheduling event from default-scheduler; bound once a node
#     fits;
#   - `kubectl explain` lists enum values (ENUM:) from /openapi/v3, with Kubernetes' own
#     field descriptions (src/api/schema_docs.c);
#   - /metrics has the controller managers' workqueue_* metrics (client-go's names).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }

cat >"$T_DIR/empty.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata:
  name: e1
  labels: {}
  annotations: {}
spec:
  selector: {app: e1}
  externalIPs: []
  ports: [{port: 80, name: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: e1, labels: {}}
spec:
  replicas: 0
  selector: {matchLabels: {app: e1}}
  template:
    metadata: {labels: {app: e1}, annotations: {}}
    spec:
      nodeSelector: {}
      containers: [{name: c, image: busybox, command: [sleep, "1000"], env: [], ports: [], resources: {}}]
Y
check "apply a manifest with empty maps and lists" kubectl apply -f "$T_DIR/empty.yaml"
expect_out "empty maps and lists are not returned" '^<><><>$' kubectl get svc e1 -o jsonpath='<{.metadata.labels}><{.spec.externalIPs}><{.metadata.managedFields[0].fieldsV1.f:metadata.f:labels}>'
expect_out "... in a pod template either; an empty struct (resources: {}) stays" '^<><><>\{\}$' kubectl get deploy e1 -o jsonpath='<{.spec.template.spec.containers[0].env}><{.spec.template.spec.containers[0].ports}><{.spec.template.spec.nodeSelector}>{.spec.template.spec.containers[0].resources}'
check "kubectl diff of the unchanged manifest: clean" kubectl diff -f "$T_DIR/empty.yaml"
check "kubectl diff --server-side of the unchanged manifest: clean" kubectl diff --server-side --force-conflicts -f "$T_DIR/empty.yaml"
check "kubectl 1.27 diff: clean too" "$KDIR/kubectl.1.27" diff -f "$T_DIR/empty.yaml"
sed 's/name: e1\b/name: e2/' "$T_DIR/empty.yaml" >"$T_DIR/empty2.yaml"
check "server-side apply of the same manifest" kubectl apply --server-side -f "$T_DIR/empty2.yaml"
check "... its diff --server-side is clean" kubectl diff --server-side -f "$T_DIR/empty2.yaml"
expect_out "... and stores no empty map" '^<>$' kubectl get svc e2 -o jsonpath='<{.metadata.labels}>'

cat >"$T_DIR/a1.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sel}
spec:
  selector: {app: a, tier: b}
  ports: [{port: 80, name: http}]
Y
cat >"$T_DIR/a2.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sel}
spec:
  selector: {app: z}
Y
check "SSA: manager m1 applies a selector" kubectl apply --server-side --field-manager=m1 -f "$T_DIR/a1.yaml"
expect_out "SSA: the selector is owned whole (f:selector: {}), ports by port+protocol" '"f:ports":\{"k:\{\\"port\\":80,\\"protocol\\":\\"TCP\\"\}":\{.*"f:selector":\{\}' kubectl get svc sel -o jsonpath='{.metadata.managedFields[0].fieldsV1.f:spec}'
expect_fail "SSA: another manager's selector conflicts on .spec.selector" 'conflict with "m1": \.spec\.selector' kubectl apply --server-side --field-manager=m2 -f "$T_DIR/a2.yaml"
check "SSA: forced" kubectl apply --server-side --field-manager=m2 --force-conflicts -f "$T_DIR/a2.yaml"
expect_out "SSA: ... replaces the selector whole (mapType=atomic)" '^\{"app":"z"\}$' kubectl get svc sel -o jsonpath='{.spec.selector}'
expect_out "SSA: a Deployment's LabelSelector is one field (structType=atomic)" '"f:selector":\{\}' kubectl get deploy e2 -o jsonpath='{.metadata.managedFields[0].fieldsV1.f:spec}'

# Scheduling: no node at all, then a Ready node the selector does not match, then one it does.
check "a pod with a nodeSelector" kubectl run px --image=busybox --overrides='{"spec":{"nodeSelector":{"disk":"ssd"}}}' -- sleep 100
cond() { kubectl get pod px -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].status} {.status.conditions[?(@.type=="PodScheduled")].reason} {.status.conditions[?(@.type=="PodScheduled")].message}'; }
has_cond() { cond | grep -qE -- "$1"; }
if wait_for 10 has_cond '^False Unschedulable no nodes available to schedule pods$'; then ok "no node: PodScheduled=False Unschedulable"; else fail "no node: PodScheduled=False Unschedulable" "$(cond 2>&1)"; fi
probe_null() { kubectl get pod px -o json | python3 -c 'import json,sys; c=[c for c in json.load(sys.stdin)["status"]["conditions"] if c["type"]=="PodScheduled"]; print(len(c), "lastProbeTime" in c[0] and c[0]["lastProbeTime"] is None)'; }
expect_out "... with lastProbeTime: null, as kube-scheduler writes it" '^1 True$' probe_null
cat >"$T_DIR/node.yaml" <<'Y'
apiVersion: v1
kind: Node
metadata: {name: fake1, labels: {disk: hdd}}
Y
check "a node" kubectl create -f "$T_DIR/node.yaml"
check "... made Ready" kubectl patch node fake1 --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
want="0/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
if wait_for 10 has_cond "^False Unschedulable $want\$"; then ok "no node fits: kube-scheduler's message"; else fail "no node fits: kube-scheduler's message" "$(cond 2>&1)"; fi
expect_out "... the condition replaced in place, lastProbeTime still null" '^1 True$' probe_null
events() { kubectl get events --field-selector involvedObject.name=px,reason=FailedScheduling -o jsonpath='{range .items[*]}{.type} {.source.component} {.message}{"\n"}{end}'; }
expect_out "... and a Warning FailedScheduling event from default-scheduler" "^Warning default-scheduler $want\$" events
expect_out "kubectl describe shows it" "Warning +FailedScheduling .*default-scheduler +0/1 nodes are available" kubectl describe pod px
check "the node gets the label" kubectl label node fake1 disk=ssd --overwrite
bound() { [ "$(kubectl get pod px -o jsonpath='{.spec.nodeName}')" = fake1 ]; }
if wait_for 10 bound; then ok "... and the pod is bound to it"; else fail "... and the pod is bound to it" "$(kubectl get pod px -o yaml 2>&1)"; fi
n_events=$(events | wc -l)
expect_out "one event per distinct reason, not one per pass" '^[23]$' echo "$n_events"

explain() { "$@" | tr '\n' ' '; }
expect_out "explain: enum values of Service spec.type" 'ENUM:[[:space:]]+ClusterIP[[:space:]]+ExternalName[[:space:]]+LoadBalancer[[:space:]]+NodePort' explain kubectl explain service.spec.type
expect_out "explain: enum values of a container's imagePullPolicy" 'ENUM:[[:space:]]+Always[[:space:]]+IfNotPresent[[:space:]]+Never' explain kubectl explain pod.spec.containers.imagePullPolicy
expect_out "explain: Kubernetes' full description, not a shortened one" 'published as a set of endpoints rather than a virtual IP.*"ExternalName" aliases this service' explain kubectl explain service.spec.type
expect_out "explain: a type's description too" 'DeploymentSpec is the specification of the desired behavior of the[[:space:]]+Deployment' explain kubectl explain deployment.spec
expect_out "explain (kubectl 1.30): ENUM: section" 'ENUM:[[:space:]]+ClientIP[[:space:]]+None' explain "$KDIR/kubectl.1.30" explain service.spec.sessionAffinity
expect_out "explain (kubectl 1.27, no ENUM: section): the values in the description" 'Possible enum values:[[:space:]]+- `"ClientIP"`[[:space:]]+- `"None"`' explain "$KDIR/kubectl.1.27" explain service.spec.sessionAffinity
expect_out "openapi v3: list-map keys and map type" '"x-kubernetes-list-map-keys":\["port","protocol"\].*' kubectl get --raw /openapi/v3/api/v1

# The controller managers' queues on /metrics, with client-go's workqueue names.
expect_out "metrics: workqueue_adds_total of the endpoints and workloads queues" 'workqueue_adds_total\{name="endpoints"\} [1-9].*workqueue_adds_total\{name="workloads"\} [1-9]' sh -c 'kubectl get --raw /metrics | tr "\n" " "'
expect_out "metrics: workqueue_depth, queue/work duration histograms, retries, unfinished work" \
	'workqueue_depth\{name="workloads"\} [0-9]+ .*workqueue_queue_duration_seconds_bucket\{name="endpoints",le="1e-08"\} .*workqueue_work_duration_seconds_count\{name="workloads"\} [1-9].*workqueue_retries_total\{name="endpoints"\} [0-9]+ .*workqueue_unfinished_work_seconds\{name="workloads"\} .*workqueue_longest_running_processor_seconds\{name="endpoints"\}' \
	sh -c 'kubectl get --raw /metrics | tr "\n" " "'

stop_server
finish
