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
HOST_RUN_SECRETS=$([ -e /run/secrets ] && echo yes)
cluster_up 1

kubectl create namespace sat >/dev/null
kubectl create serviceaccount reader -n sat >/dev/null
kubectl create role svc-reader -n sat --verb=get,list --resource=services >/dev/null
kubectl create rolebinding reader-svc -n sat --role=svc-reader --serviceaccount=sat:reader >/dev/null
kubectl create service clusterip web -n sat --tcp=80:8080 >/dev/null
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: sat}
spec:
  nodeName: n1
  serviceAccountName: reader
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
expect_fail "automountServiceAccountToken: false: no directory" 'No such file' \
	kubectl exec -n sat nomount -- ls $SA

if [ -z "$HOST_RUN_SECRETS" ]; then
	check "the mount point is made in the pod's /run, not the node's" test ! -e /run/secrets
fi

TOK=$(kubectl exec -n sat client -- cat $SA/token)
tok_get() { kubectl --token="$TOK" --kubeconfig=/dev/null --server="$URL" --certificate-authority="$CA" get services -n sat "$@"; }
check "the pod's token works from outside while the pod lives" tok_get
kubectl delete pod client -n sat --wait=false >/dev/null
tok_refused() { ! tok_get >/dev/null 2>&1 && tok_get 2>&1 | grep -q Unauthorized; }
check "the token stops working once the pod is deleted" wait_for 60 tok_refused
finish
