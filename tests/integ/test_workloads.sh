#!/usr/bin/env bash
# Workloads with real kubectl on a namespace cluster (tests/integ/cluster.sh): the server
# with its embedded agent in node 1, `svcplane agent` in node 2 (node 3 joins later).
# create deployment -> 3 Ready pods on the nodes -> expose -> the EndpointSlice lists
# them; scale to 5 and back to 2; set image rolls with maxSurge 1 / maxUnavailable 0
# never exceeded (pods watched during the rollout); rollout history, undo, restart,
# pause/resume; StatefulSet pods web-0 then web-1 with hostname and subdomain; DaemonSet
# a pod per node and one more when a node joins; delete with Background, Foreground
# and Orphan propagation; a ReplicationController with the seeds' exec readiness probe
# (ls /var/ready) joins its Service's endpoints only once the file exists; every
# namespace has a default ServiceAccount; a pod's env reads a ConfigMap, a Secret, envFrom
# and resourceFieldRef, and waits with CreateContainerConfigError for a missing ConfigMap;
# secret, configMap and emptyDir volumes in a root of the pod's own, the file following
# `kubectl apply` of its ConfigMap; a missing required ConfigMap volume holds the pod in
# ContainerCreating with a FailedMount event until it exists; a StatefulSet pod deleted
# below the RollingUpdate partition comes back at the current revision.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
MADE_VAR_READY=
cluster_down_hook() { [ -n "$MADE_VAR_READY" ] && rm -f /var/ready; }
cluster_up 3 --cluster-dns 198.19.0.10

start_agent() { cluster_agent "$1" --cluster-dns 198.19.0.10; } # start_agent I
start_agent 2
check_nodes_ready 2 20

expect_out "default ServiceAccount in default" '^default$' kubectl get sa default -o jsonpath='{.metadata.name}'
kubectl create namespace wl-extra >/dev/null
has_sa() { kubectl -n wl-extra get sa default >/dev/null 2>&1; }
if wait_for 10 has_sa; then ok "default ServiceAccount made in a new namespace"; else fail "default ServiceAccount made in a new namespace"; fi

# ---- Deployment: create, expose, scale ----
n_ready() { # n_ready SELECTOR N: exactly N pods match and all are Ready
	local out
	out=$(kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
	[ "$(printf '%s\n' "$out" | grep -c True)" = "$2" ] && [ "$(printf '%s\n' "$out" | grep -c .)" = "$2" ]
}
check "create deployment" kubectl create deployment web --image=python --replicas=3 -- python3 -m http.server 8080
if wait_for 40 n_ready app=web 3; then ok "3 Ready pods"; else fail "3 Ready pods" "$(kubectl get deploy,rs,pods -o wide 2>&1; tail -5 "$T_DIR"/*.err)"; fi
expect_out "pods named <rs>-<5>" '^(web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5} ){3}$' \
	sh -c "kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {end}'"
expect_out "pods on both nodes" '^2$' sh -c "kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort -u | wc -l"
expect_out "pods owned by the ReplicaSet (controller: true)" '^ReplicaSet true$' \
	sh -c "kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.ownerReferences[0].kind} {.items[0].metadata.ownerReferences[0].controller}'"
check "rollout status" kubectl rollout status deploy/web --timeout=60s
expect_out "deployment status 3/3" '^3 3 3$' kubectl get deploy web -o jsonpath='{.status.readyReplicas} {.status.updatedReplicas} {.status.availableReplicas}'
check "expose deployment" kubectl expose deployment web --port=80 --target-port=8080
slice_n() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' | grep -c .)" = "$1" ]; }
if wait_for 20 slice_n 3; then ok "EndpointSlice lists the 3 pods"; else fail "EndpointSlice lists the 3 pods" "$(kubectl get endpointslices -o yaml)"; fi
expect_out "get all shows deploy, rs, pods, svc" 'deployment.apps/web.*replicaset.apps/web-' sh -c "kubectl get all 2>&1 | tr '\n' ' '"
check "scale to 5" kubectl scale deployment web --replicas=5
if wait_for 40 n_ready app=web 5; then ok "5 Ready pods"; else fail "5 Ready pods" "$(kubectl get rs,pods 2>&1)"; fi
if wait_for 20 slice_n 5; then ok "EndpointSlice follows to 5"; else fail "EndpointSlice follows to 5"; fi
check "scale to 2" kubectl scale deployment web --replicas=2
if wait_for 40 n_ready app=web 2; then ok "2 pods left"; else fail "2 pods left" "$(kubectl get rs,pods 2>&1)"; fi
expect_out "scale subresource reads 2" '"kind":"Scale".*"spec":\{"replicas":2\}' kubectl get --raw /apis/apps/v1/namespaces/default/deployments/web/scale

# ---- rolling update within maxSurge 1 / maxUnavailable 0 ----
check "strategy maxSurge 1 maxUnavailable 0, 3 replicas" kubectl patch deploy web --type=merge \
	-p '{"spec":{"replicas":3,"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}'
if wait_for 40 n_ready app=web 3; then ok "3 Ready before the rollout"; else fail "3 Ready before the rollout" "$(kubectl get rs,pods 2>&1)"; fi
# The watcher: a kubectl watch of the pods; after every event, the pods that count (not
# terminating) and how many of them are Ready.
cat >"$T_DIR/watch.py" <<'PY'
import json, sys
dec, buf, pods = json.JSONDecoder(), "", {}
for chunk in iter(lambda: sys.stdin.readline(), ""):
    buf += chunk
    while True:
        buf = buf.lstrip()
        try:
            ev, n = dec.raw_decode(buf)
        except ValueError:
            break
        buf = buf[n:]
        o = ev.get("object", ev)
        name = o["metadata"]["name"]
        if ev.get("type") == "DELETED" or o["metadata"].get("deletionTimestamp"):
            pods.pop(name, None)
        else:
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in o.get("status", {}).get("conditions", []))
            pods[name] = ready
        print(len(pods), sum(pods.values()), flush=True)
PY
( (timeout 180 kubectl get pods -l app=web -w --output-watch-events -o json 2>/dev/null & echo $! >"$T_DIR/kw.pid"; wait) |
	python3 "$T_DIR/watch.py" >"$T_DIR/watch.log") &
WATCHER=$!
sleep 1 # the watch's initial list is in before the rollout starts
check "set image" kubectl set image deploy/web python=python:3
check "rollout status after set image" kubectl rollout status deploy/web --timeout=120s
sleep 1
kill "$(cat "$T_DIR/kw.pid")" 2>/dev/null
wait $WATCHER 2>/dev/null
# Skip the initial list (pods arriving one by one), then the bounds hold at every event.
samples=$(awk 'NR>3' "$T_DIR/watch.log")
max_pods=$(printf '%s\n' "$samples" | awk '{print $1}' | sort -n | tail -1)
min_ready=$(printf '%s\n' "$samples" | awk '{print $2}' | sort -n | head -1)
if [ -n "$samples" ] && [ "${max_pods:-9}" -le 4 ] && [ "${min_ready:-0}" -ge 3 ]; then
	ok "rollout stayed within 3+1 pods and >= 3 Ready at every watch event (max $max_pods, min Ready $min_ready, $(printf '%s\n' "$samples" | wc -l) events)"
else
	fail "rollout stayed within 3+1 pods and >= 3 Ready" "max $max_pods min ready $min_ready; $(cat "$T_DIR/watch.log")"
fi
expect_out "pods run the new image" '^python:3 python:3 python:3 $' \
	sh -c "kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'"
expect_out "rollout history has 2 revisions" '1 .*2 ' sh -c "kubectl rollout history deploy/web | tr '\n' ' '"
check "rollout undo" kubectl rollout undo deploy/web
check "rollout status after undo" kubectl rollout status deploy/web --timeout=120s
expect_out "undo brought the old image back" '^python$' kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}'
expect_out "undo is revision 3" '^3$' kubectl get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}'
check "rollout pause" kubectl rollout pause deploy/web
check "set image while paused" kubectl set image deploy/web python=python:3.11
sleep 1
expect_out "paused: no new ReplicaSet" '^2$' sh -c "kubectl get rs -l app=web --no-headers | wc -l"
expect_out "paused: Progressing Unknown DeploymentPaused" 'Unknown DeploymentPaused' \
	kubectl get deploy web -o jsonpath='{.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason}'
check "rollout resume" kubectl rollout resume deploy/web
check "rollout status after resume" kubectl rollout status deploy/web --timeout=120s
expect_out "resume made a new ReplicaSet" '^3$' sh -c "kubectl get rs -l app=web --no-headers | wc -l"
check "rollout restart" kubectl rollout restart deploy/web
check "rollout status after restart" kubectl rollout status deploy/web --timeout=120s
expect_out "restart made a fourth ReplicaSet" '^4$' sh -c "kubectl get rs -l app=web --no-headers | wc -l"
expect_out "conditions when complete" 'True MinimumReplicasAvailable True NewReplicaSetAvailable' \
	kubectl get deploy web -o jsonpath='{.status.conditions[?(@.type=="Available")].status} {.status.conditions[?(@.type=="Available")].reason} {.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason}'

# ---- StatefulSet ----
cat >"$T_DIR/sts.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec: {clusterIP: None, selector: {app: sts}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: sts}}
  template:
    metadata: {labels: {app: sts}}
    spec:
      containers:
      - name: c
        image: python
        command: [python3, -m, http.server, "8080"]
        readinessProbe: {httpGet: {port: 8080, path: /}, periodSeconds: 1}
Y
check "apply statefulset" kubectl apply -f "$T_DIR/sts.yaml"
if wait_for 60 n_ready app=sts 2; then ok "web-0 and web-1 Ready"; else fail "web-0 and web-1 Ready" "$(kubectl get sts,pods -o wide 2>&1)"; fi
expect_out "hostname and subdomain" '^web-0 nginx web-1 nginx $' \
	sh -c "kubectl get pod web-0 web-1 -o jsonpath='{range .items[*]}{.spec.hostname} {.spec.subdomain} {end}'"
t0=$(kubectl get pod web-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
t1=$(kubectl get pod web-1 -o jsonpath='{.metadata.creationTimestamp}')
if [ -n "$t0" ] && [[ ! "$t1" < "$t0" ]]; then ok "web-1 made only after web-0 was Ready ($t0 <= $t1)"; else fail "web-1 made only after web-0 was Ready" "$t0 vs $t1"; fi
expect_out "statefulset status" '^2 2$' kubectl get sts web -o jsonpath='{.status.readyReplicas} {.status.replicas}'
check "scale statefulset to 1" kubectl scale sts web --replicas=1
gone_web1() { ! kubectl get pod web-1 >/dev/null 2>&1; }
if wait_for 30 gone_web1; then ok "scale down removed the highest ordinal"; else fail "scale down removed the highest ordinal"; fi
# RollingUpdate with a partition: web-1 (at the partition) takes the new template; web-0,
# deleted, comes back from status.currentRevision's ControllerRevision (Kubernetes'
# newVersionedStatefulSetPod), not the new template.
check "scale statefulset back to 2" kubectl scale sts web --replicas=2
if wait_for 60 n_ready app=sts 2; then ok "web-0 and web-1 Ready again"; else fail "web-0 and web-1 Ready again" "$(kubectl get sts,pods -o wide 2>&1)"; fi
check "set partition 1" kubectl patch sts web --type=merge -p '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":1}}}}'
sts_cur=$(kubectl get sts web -o jsonpath='{.status.currentRevision}')
check "change the statefulset's template" kubectl patch sts web --type=merge -p '{"spec":{"template":{"metadata":{"annotations":{"tmpl":"two"}}}}}'
pod_rev() { kubectl get pod "$1" -o jsonpath='{.metadata.labels.controller-revision-hash} {.metadata.annotations.tmpl}' 2>/dev/null; }
web1_updated() { local upd; upd=$(kubectl get sts web -o jsonpath='{.status.updateRevision}'); [ -n "$upd" ] && [ "$upd" != "$sts_cur" ] && [ "$(pod_rev web-1)" = "$upd two" ] && n_ready app=sts 2; }
if wait_for 60 web1_updated; then ok "web-1 rolled to the update revision, web-0 kept"; else
	fail "web-1 rolled to the update revision, web-0 kept" "cur=$sts_cur web-0: $(pod_rev web-0) web-1: $(pod_rev web-1); $(kubectl get sts web -o yaml | tail -15)"; fi
web0_uid=$(kubectl get pod web-0 -o jsonpath='{.metadata.uid}')
check "delete web-0 (below the partition)" kubectl delete pod web-0 --wait=true --timeout=60s
web0_back() { local u; u=$(kubectl get pod web-0 -o jsonpath='{.metadata.uid}' 2>/dev/null); [ -n "$u" ] && [ "$u" != "$web0_uid" ]; }
if wait_for 60 web0_back && [ "$(pod_rev web-0)" = "$sts_cur " ]; then ok "web-0 re-created from the current revision"; else
	fail "web-0 re-created from the current revision" "cur=$sts_cur web-0: $(pod_rev web-0)"; fi
expect_out "currentRevision unchanged below the partition" "^$sts_cur\$" kubectl get sts web -o jsonpath='{.status.currentRevision}'

# ---- DaemonSet ----
cat >"$T_DIR/ds.yaml" <<Y
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nodeagent}
spec:
  selector: {matchLabels: {app: nodeagent}}
  template:
    metadata: {labels: {app: nodeagent}}
    spec:
      containers: [{name: c, image: python, command: [python3, -m, http.server, "8090"]}]
Y
check "apply daemonset" kubectl apply -f "$T_DIR/ds.yaml"
if wait_for 40 n_ready app=nodeagent 2; then ok "a DaemonSet pod per node"; else fail "a DaemonSet pod per node" "$(kubectl get ds,pods -o wide 2>&1)"; fi
start_agent 3
if wait_for 40 n_ready app=nodeagent 3; then ok "a node joins: one more DaemonSet pod"; else fail "a node joins: one more DaemonSet pod" "$(kubectl get nodes; kubectl get ds,pods -o wide 2>&1)"; fi
expect_out "the new pod is on n3" 'n3' sh -c "kubectl get pods -l app=nodeagent -o jsonpath='{range .items[*]}{.spec.nodeName} {end}'"
expect_out "daemonset status" '^3 3 3$' kubectl get ds nodeagent -o jsonpath='{.status.desiredNumberScheduled} {.status.currentNumberScheduled} {.status.numberReady}'

# ---- deletion propagation ----
n_pods() { [ "$(kubectl get pods -l "$1" --no-headers 2>/dev/null | grep -c .)" = "$2" ]; }
n_rs() { [ "$(kubectl get rs -l "$1" --no-headers 2>/dev/null | grep -c .)" = "$2" ]; }
check "delete deployment (background)" kubectl delete deploy web
if wait_for 30 n_rs app=web 0 && wait_for 30 n_pods app=web 0; then ok "background: ReplicaSets and pods collected"; else
	fail "background: ReplicaSets and pods collected" "$(kubectl get rs,pods 2>&1)"; fi
check "create deployment fg" kubectl create deployment fg --image=python --replicas=2 -- python3 -m http.server 8081
wait_for 40 n_ready app=fg 2
check "delete --cascade=foreground" kubectl delete deploy fg --cascade=foreground --timeout=60s
if n_rs app=fg 0 && n_pods app=fg 0 && ! kubectl get deploy fg >/dev/null 2>&1; then ok "foreground: dependents gone before the owner"; else
	fail "foreground: dependents gone before the owner" "$(kubectl get deploy,rs,pods 2>&1)"; fi
check "create deployment orph" kubectl create deployment orph --image=python --replicas=2 -- python3 -m http.server 8082
wait_for 40 n_ready app=orph 2
check "delete --cascade=orphan" kubectl delete deploy orph --cascade=orphan
gone_orph() { ! kubectl get deploy orph >/dev/null 2>&1; }
wait_for 20 gone_orph
if n_rs app=orph 1 && n_pods app=orph 2 && [ -z "$(kubectl get rs -l app=orph -o jsonpath='{.items[0].metadata.ownerReferences}')" ]; then
	ok "orphan: ReplicaSet and pods stay, without the owner reference"; else
	fail "orphan: ReplicaSet and pods stay, without the owner reference" "$(kubectl get deploy,rs,pods 2>&1; kubectl get rs -l app=orph -o yaml)"; fi

# ---- the seeds' ReplicationController with its exec readiness probe, unchanged (the
# runtime knows luksa/kubia's entrypoint: node/images.h) ----
if [ -e /var/ready ]; then
	echo "skip: /var/ready exists on this host; the readiness part needs it absent"
	T_SKIP=$((T_SKIP + 1))
else
	cat >"$T_DIR/rc.yaml" <<Y
apiVersion: v1
kind: ReplicationController
metadata: {name: kubia}
spec:
  replicas: 3
  selector: {app: kubia}
  template:
    metadata: {labels: {app: kubia}}
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
        ports:
        - containerPort: 8080
        readinessProbe:
          exec:
            command:
            - ls
            - /var/ready
---
apiVersion: v1
kind: Service
metadata: {name: kubia}
spec: {selector: {app: kubia}, ports: [{port: 80, targetPort: 8080}]}
Y
	check "apply rc + service" kubectl apply -f "$T_DIR/rc.yaml"
	running3() { [ "$(kubectl get pods -l app=kubia -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c Running)" = 3 ]; }
	if wait_for 40 running3; then ok "3 kubia pods Running"; else fail "3 kubia pods Running" "$(kubectl get rc,pods 2>&1)"; fi
	expect_out "rc columns" 'kubia +3 +3 +0' kubectl get rc kubia
	no_ready_ep() { [ -z "$(kubectl get endpoints kubia -o jsonpath='{.subsets[*].addresses[*].ip}')" ] &&
		[ -n "$(kubectl get endpoints kubia -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}')" ]; }
	check "not ready: only notReadyAddresses" no_ready_ep
	touch /var/ready
	MADE_VAR_READY=1
	ep3() { [ "$(kubectl get endpoints kubia -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}' | grep -c .)" = 3 ]; }
	if wait_for 30 ep3; then ok "after touch /var/ready: 3 endpoints"; else fail "after touch /var/ready: 3 endpoints" "$(kubectl get endpoints kubia -o yaml)"; fi
	ip=$(kubectl get pods -l app=kubia -o jsonpath='{.items[0].status.podIP}')
	expect_out "luksa/kubia answers as the book's app" "^You've hit kubia-" ip netns exec svcp-n1 curl -s --max-time 5 "http://$ip:8080/"
	rm -f /var/ready
	MADE_VAR_READY=
	victim=$(kubectl get pods -l app=kubia -o jsonpath='{.items[0].metadata.name}')
	kubectl delete pod "$victim" >/dev/null
	replaced() { [ "$(kubectl get pods -l app=kubia --no-headers | grep -c .)" = 3 ] && ! kubectl get pod "$victim" >/dev/null 2>&1; }
	if wait_for 30 replaced; then ok "a deleted pod is replaced"; else fail "a deleted pod is replaced" "$(kubectl get pods 2>&1)"; fi
	expect_out "expose rc takes its selector" '^app=kubia$' sh -c 'kubectl expose rc kubia --name=kubia2 --port=80 --target-port=8080 >/dev/null && kubectl get svc kubia2 -o jsonpath="{.spec.selector}" | tr -d "{}\" " | tr : ='
fi

# ---- ConfigMaps and Secrets in a pod's environment ----
check "create configmap" kubectl create configmap cfg --from-literal=color=blue
check "create secret" kubectl create secret generic sec --from-literal=pw=s3cret
expect_out "secret data is base64" '^czNjcmV0$' kubectl get secret sec -o jsonpath='{.data.pw}'
cat >"$T_DIR/envpod.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: envpod}
spec:
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo "COLOR=$COLOR PW=$PW CM_color=$CM_color LATER=$LATER MEM=$MEM"; exec sleep 3600']
    resources: {limits: {memory: 64Mi}}
    envFrom: [{prefix: CM_, configMapRef: {name: cfg}}]
    env:
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: cfg, key: color}}}
    - {name: PW, valueFrom: {secretKeyRef: {name: sec, key: pw}}}
    - {name: LATER, valueFrom: {configMapKeyRef: {name: later, key: k}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
Y
check "apply pod reading a ConfigMap and a Secret" kubectl apply -f "$T_DIR/envpod.yaml"
cfg_err() { kubectl get pod envpod -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}' | grep -q 'CreateContainerConfigError: configmap "later" not found'; }
if wait_for 30 cfg_err; then ok "missing ConfigMap: CreateContainerConfigError with kubelet's message"; else
	fail "missing ConfigMap: CreateContainerConfigError with kubelet's message" "$(kubectl get pod envpod -o yaml 2>&1 | tail -30)"; fi
check "create the missing ConfigMap" kubectl create configmap later --from-literal=k=now
env_logged() { kubectl logs envpod 2>/dev/null | grep -q 'COLOR=blue PW=s3cret CM_color=blue LATER=now MEM=64'; }
if wait_for 30 env_logged; then ok "container started with ConfigMap, Secret, envFrom and resource values"; else
	fail "container started with ConfigMap, Secret, envFrom and resource values" "$(kubectl logs envpod 2>&1; kubectl get pod envpod -o yaml | tail -20)"; fi

# ---- ConfigMap and Secret volumes in a root of the pod's own ----
cat >"$T_DIR/volcm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: volcfg}
data: {color: red}
Y
check "apply the volume's ConfigMap" kubectl apply -f "$T_DIR/volcm.yaml"
cat >"$T_DIR/volpod.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: volpod}
spec:
  volumes:
  - {name: sec, secret: {secretName: sec}}
  - {name: cfg, configMap: {name: volcfg}}
  - {name: scratch, emptyDir: {}}
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo "pw=$(cat /etc/svcp-sec/pw)"; touch /etc/svcp-written /scratch/x && echo wrote; while true; do echo "color=$(cat /etc/svcp-cfg/color)"; sleep 1; done']
    readinessProbe: {exec: {command: [cat, /etc/svcp-cfg/color]}, periodSeconds: 1}
    volumeMounts:
    - {name: sec, mountPath: /etc/svcp-sec}
    - {name: cfg, mountPath: /etc/svcp-cfg}
    - {name: scratch, mountPath: /scratch}
Y
check "apply a pod with secret, configMap and emptyDir volumes" kubectl apply -f "$T_DIR/volpod.yaml"
if check "the pod is Ready (its exec probe reads the configMap file)" kubectl wait --for=condition=Ready pod volpod --timeout=90s; then :; else
	kubectl get pod volpod -o yaml | tail -30; fi
vol_logged() { kubectl logs volpod 2>/dev/null | grep -q 'pw=s3cret' && kubectl logs volpod | grep -q 'wrote' && kubectl logs volpod | grep -q 'color=red'; }
if wait_for 30 vol_logged; then ok "the Secret and ConfigMap files are at their mount paths"; else fail "the Secret and ConfigMap files are at their mount paths" "$(kubectl logs volpod 2>&1 | tail -5)"; fi
if [ ! -e /etc/svcp-sec ] && [ ! -e /etc/svcp-cfg ] && [ ! -e /etc/svcp-written ] && [ ! -e /scratch ]; then
	ok "mount points and writes stay in the pod's root"; else fail "mount points and writes stay in the pod's root" "$(ls -d /etc/svcp-* /scratch 2>&1)"; fi
sed -i 's/color: red/color: green/' "$T_DIR/volcm.yaml"
check "kubectl apply the changed ConfigMap" kubectl apply -f "$T_DIR/volcm.yaml"
green() { kubectl logs volpod --tail=3 2>/dev/null | grep -q 'color=green'; }
if wait_for 30 green; then ok "the pod sees the file change"; else fail "the pod sees the file change" "$(kubectl logs volpod --tail=5 2>&1)"; fi
VOLPOD_UID=$(kubectl get pod volpod -o jsonpath='{.metadata.uid}')
check "delete the volume pod" kubectl delete pod volpod --wait=true --timeout=60s
# This pod's mounts only: every running pod has its ServiceAccount files on a tmpfs.
no_vol_mounts() { ! grep -q "$T_DIR/.*/volumes/$VOLPOD_UID" /proc/self/mountinfo; }
if wait_for 20 no_vol_mounts; then ok "its tmpfs is unmounted"; else fail "its tmpfs is unmounted" "$(grep "$T_DIR/.*/volumes/$VOLPOD_UID" /proc/self/mountinfo)"; fi

# A required ConfigMap volume that does not exist holds the container in ContainerCreating
# with kubelet's FailedMount event, until the ConfigMap appears; an optional missing
# Secret is an empty volume.
cat >"$T_DIR/mountwait.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: mountwait}
spec:
  volumes:
  - {name: late, configMap: {name: latecfg}}
  - {name: maybe, secret: {secretName: nosuchsecret, optional: true}}
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo "late=$(cat /etc/svcp-late/k) maybe=$(ls /etc/svcp-maybe | wc -l)"; sleep 3600']
    volumeMounts:
    - {name: late, mountPath: /etc/svcp-late}
    - {name: maybe, mountPath: /etc/svcp-maybe}
Y
check "apply a pod whose ConfigMap volume does not exist yet" kubectl apply -f "$T_DIR/mountwait.yaml"
failed_mount() { kubectl get events --field-selector involvedObject.name=mountwait -o jsonpath='{range .items[*]}{.type} {.reason} {.message}{"\n"}{end}' 2>/dev/null |
	grep -qx 'Warning FailedMount MountVolume.SetUp failed for volume "late" : configmap "latecfg" not found'; }
if wait_for 40 failed_mount; then ok "FailedMount event with kubelet's message"; else
	fail "FailedMount event with kubelet's message" "$(kubectl get events --field-selector involvedObject.name=mountwait 2>&1)"; fi
expect_out "container waits in ContainerCreating, pod Pending" '^Pending ContainerCreating$' \
	kubectl get pod mountwait -o jsonpath='{.status.phase} {.status.containerStatuses[0].state.waiting.reason}'
if kubectl logs mountwait 2>/dev/null | grep -q late=; then fail "the container did not start" "$(kubectl logs mountwait 2>&1)"; else ok "the container did not start"; fi
check "create the missing ConfigMap" kubectl create configmap latecfg --from-literal=k=arrived
late_logged() { kubectl logs mountwait 2>/dev/null | grep -q 'late=arrived maybe=0'; }
if wait_for 40 late_logged; then ok "the volume is written and the container starts once it exists"; else
	fail "the volume is written and the container starts once it exists" "$(kubectl logs mountwait 2>&1; kubectl get pod mountwait -o yaml | tail -20)"; fi
check "delete the mount-wait pod" kubectl delete pod mountwait --wait=true --timeout=60s

# ---- API errors ----
expect_fail "bad selector rejected" 'does not match template' kubectl create -f - <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: a}}
  template: {metadata: {labels: {app: b}}, spec: {containers: [{name: c, image: x}]}}
Y
expect_fail "negative scale rejected" 'greater than or equal to 0' kubectl scale rc kubia --replicas=-1
expect_fail "bad secret key rejected" 'valid config key' kubectl create secret generic bad --from-literal='a b=c'

finish
