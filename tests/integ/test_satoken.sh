#!/usr/bin/env bash
# ServiceAccount tokens in pods (issue 20): the agent projects the pod's token (a
# TokenRequest bound to the pod), ca.crt and namespace at
# /var/run/secrets/kubernetes.io/serviceaccount/ in the pod's mount view; real kubectl
# run inside the pod with only that directory and KUBERNETES_SERVICE_HOST/PORT (in-cluster
# config, through the kubernetes Service and the node's proxy) lists what its Role
# allows and is refused otherwise; the token stops working once the pod is deleted;
# automountServiceAccountToken: false gives no directory.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
KUBECTL=$(readlink -f "$(command -v kubectl)")
cluster_down_hook() { [ -n "${SATOK_KEEP:-}" ] && cp "$T_DIR"/server.* "$SATOK_KEEP"/; }
cluster_up 1

kubectl create namespace sat >/dev/null
kubectl create serviceaccount reader -n sat >/dev/null
kubectl create role svc-reader -n sat --verb=get,list --resource=services >/dev/null
kubectl create rolebinding reader-svc -n sat --role=svc-reader --serviceaccount=sat:reader >/dev/null
kubectl create service clusterip web -n sat --tcp=80:8080 >/dev/null
kubectl create secret generic used -n sat --from-literal=k=s3cret >/dev/null
kubectl create secret generic unused -n sat --from-literal=k=other >/dev/null
kubectl create configmap cfg -n sat --from-literal=greeting=hello >/dev/null
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: sat}
spec:
  nodeName: n1
  serviceAccountName: reader
  terminationGracePeriodSeconds: 1
  volumes: [{name: cfg, configMap: {name: cfg}}]
  containers:
  - name: c
    image: none
    command: [sleep, '600']
    env: [{name: SECRET_V, valueFrom: {secretKeyRef: {name: used, key: k}}}]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
---
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: sat}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, command: [sleep, '600']}
---
apiVersion: v1
kind: Pod
metadata: {name: nomount, namespace: sat}
spec:
  nodeName: n1
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, command: [sleep, '600']}
Y
running() { [ "$(kubectl get pod "$1" -n sat -o jsonpath='{.status.phase}')" = Running ]; }
check "pod with a ServiceAccount runs" wait_for 60 running client
check "pod without automount runs" wait_for 60 running nomount
check "pod without volumes runs" wait_for 60 running plain

SA=/var/run/secrets/kubernetes.io/serviceaccount
incluster() { kubectl exec -n sat client -- env -u KUBECONFIG HOME=/nonexistent "$KUBECTL" "$@"; }
expect_out "token, ca.crt and namespace are projected" '^ca.crt namespace token $' \
	sh -c "kubectl exec -n sat client -- ls $SA | tr '\n' ' '"
expect_out "namespace file holds the pod's namespace" '^sat$' kubectl exec -n sat client -- cat $SA/namespace
check "ca.crt is the cluster CA" sh -c "kubectl exec -n sat client -- cat $SA/ca.crt | cmp - '$CA'"
expect_out "the token is bound to the pod" '"name":"client"' \
	sh -c "kubectl exec -n sat client -- cat $SA/token | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null"
expect_out "KUBERNETES_SERVICE_HOST/PORT are in the pod's env" 'KUBERNETES_SERVICE_HOST=198.19.0.1' \
	kubectl exec -n sat client -- env
expect_out "in-cluster kubectl: whoami is the ServiceAccount" 'system:serviceaccount:sat:reader' incluster auth whoami
expect_out "in-cluster kubectl: lists Services its Role allows" 'web' incluster get services
expect_fail "in-cluster kubectl: refused what its Role does not allow" \
	'pods is forbidden: User "system:serviceaccount:sat:reader" cannot list resource "pods" in API group "" in the namespace "sat"' \
	incluster get pods
expect_fail "in-cluster kubectl: refused in another namespace" \
	'cannot list resource "services" in API group "" in the namespace "default"' incluster get services -n default
expect_fail "automountServiceAccountToken: false: no token" 'No such file' \
	kubectl exec -n sat nomount -- cat $SA/token

expect_out "a pod without volumes (the node's filesystem) gets the directory too" '^ca.crt namespace token $' \
	sh -c "kubectl exec -n sat plain -- ls $SA | tr '\n' ' '"
check "nothing of the tokens lands in the node's own directory" \
	sh -c "[ -z \"\$(ls -A /run/secrets/kubernetes.io/serviceaccount 2>/dev/null)\" ]"

# The agent reads the Secrets and ConfigMaps its pods use one by one (the Node authorizer
# lets it do no more): env and volume files arrive, and a change reaches the files.
expect_out "a Secret the pod uses reaches its env" 'SECRET_V=s3cret' kubectl exec -n sat client -- env
expect_out "a ConfigMap the pod uses reaches its files" '^hello$' kubectl exec -n sat client -- cat /cfg/greeting
kubectl create configmap cfg -n sat --from-literal=greeting=bye --dry-run=client -o yaml | kubectl apply -f - >/dev/null 2>&1
cfg_bye() { [ "$(kubectl exec -n sat client -- cat /cfg/greeting)" = bye ]; }
check "a ConfigMap change reaches the pod's files" wait_for 60 cfg_bye

# A node's credential: only what its pods use (kube's Node authorizer graph).
node_user() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/$1.key" \
		-subj "/CN=system:node:$1/O=system:nodes" -out "$T_DIR/$1.csr" 2>/dev/null
	openssl x509 -req -in "$T_DIR/$1.csr" -CA "$CA" -CAkey "$T_DIR/data/pki/ca.key" -CAcreateserial \
		-days 1 -out "$T_DIR/$1.crt" 2>/dev/null
}
node_user n1
node_user n2
as_node() { local n=$1; shift; kubectl --kubeconfig=/dev/null --server="$URL" --certificate-authority="$CA" \
	--client-certificate="$T_DIR/$n.crt" --client-key="$T_DIR/$n.key" "$@"; }
expect_out "node n1 reads a Secret its pod uses" '^used$' as_node n1 get secret used -n sat -o jsonpath='{.metadata.name}'
expect_out "node n1 reads a ConfigMap its pod uses" '^cfg$' as_node n1 get configmap cfg -n sat -o jsonpath='{.metadata.name}'
expect_out "node n1 reads its pod's ServiceAccount" '^reader$' as_node n1 get serviceaccount reader -n sat -o jsonpath='{.metadata.name}'
expect_fail "node n1 cannot read a Secret no pod on it uses" \
	'secrets "unused" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "sat"' \
	as_node n1 get secret unused -n sat
expect_fail "node n1 cannot list Secrets" 'User "system:node:n1" cannot list resource "secrets"' as_node n1 get secrets -n sat
expect_fail "node n1 cannot watch ConfigMaps" 'User "system:node:n1" cannot (list|watch) resource "configmaps"' as_node n1 get configmaps -A --watch --request-timeout=5s
expect_fail "node n2 cannot read the Secret n1's pod uses" 'User "system:node:n2" cannot get resource "secrets"' as_node n2 get secret used -n sat
check "a node lists TLS Secrets (its Ingress proxy's)" as_node n1 get --raw '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls'

TOK=$(kubectl exec -n sat client -- cat $SA/token)
tok_get() { kubectl --token="$TOK" --kubeconfig=/dev/null --server="$URL" --certificate-authority="$CA" get services -n sat "$@"; }
check "the pod's token works from outside while the pod lives" tok_get
kubectl delete pod client -n sat --wait=false >/dev/null
tok_refused() { ! tok_get >/dev/null 2>&1 && tok_get 2>&1 | grep -q Unauthorized; }
check "the token stops working once the pod is deleted" wait_for 60 tok_refused
finish
