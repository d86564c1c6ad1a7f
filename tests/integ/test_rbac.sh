#!/usr/bin/env bash
# RBAC with real kubectl (issue 20): users from client certificates signed by the cluster
# CA (CN = user, O = groups), the default roles, 403 messages worded as kube-apiserver's,
# a `view` user that cannot create, a RoleBinding that grants exactly one namespace,
# `kubectl auth can-i --as` and whoami from the same rules, impersonation needing the
# `impersonate` verb, escalation refused on Role and RoleBinding writes, and validation
# of the RBAC kinds.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
start_server || { fail "server starts"; finish; exit 1; }

# user NAME [GROUP...]: a key and a certificate signed by the cluster CA, and a kubeconfig
# $T_DIR/NAME.kubeconfig that uses them (no token).
user() {
	local n=$1 subj="/CN=$1" g; shift
	for g in "$@"; do subj="$subj/O=$g"; done
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/$n.key" \
		-subj "$subj" -out "$T_DIR/$n.csr" 2>/dev/null
	openssl x509 -req -in "$T_DIR/$n.csr" -CA "$CA" -CAkey "$T_DIR/data/pki/ca.key" -CAcreateserial \
		-days 1 -out "$T_DIR/$n.crt" 2>/dev/null
	local kc=$T_DIR/$n.kubeconfig
	KUBECONFIG=$kc kubectl config set-cluster c --server="$URL" --certificate-authority="$CA" >/dev/null
	KUBECONFIG=$kc kubectl config set-credentials "$n" --client-certificate="$T_DIR/$n.crt" --client-key="$T_DIR/$n.key" >/dev/null
	KUBECONFIG=$kc kubectl config set-context c --cluster=c --user="$n" --namespace=default >/dev/null
	KUBECONFIG=$kc kubectl config use-context c >/dev/null
}
as() { local n=$1; shift; KUBECONFIG=$T_DIR/$n.kubeconfig kubectl "$@"; }

user alice dev
user bob
kubectl create namespace a >/dev/null
kubectl create namespace b >/dev/null

# Authentication by certificate; default roles exist.
expect_out "client certificate: whoami is the CN" 'alice' as alice auth whoami
expect_out "client certificate: groups are the O and system:authenticated" 'dev.*system:authenticated' as alice auth whoami -o jsonpath='{.status.userInfo.groups}'
expect_out "default ClusterRoles exist" 'admin.*cluster-admin.*edit.*view' sh -c "kubectl get clusterroles -o name | grep -E '/(cluster-admin|admin|edit|view)$' | sort | tr '\n' ' '"
expect_out "cluster-admin is bound to system:masters" 'system:masters' kubectl get clusterrolebinding cluster-admin -o jsonpath='{.subjects[0].name}'
expect_out "discovery works for any authenticated user" 'v1' as alice api-versions

# No binding: nothing, with kube's words.
expect_fail "no binding: list pods is 403 in kube's words" \
	'Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "a"' \
	as alice get pods -n a
expect_fail "no binding: get a named Node at the cluster scope" \
	'nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope' \
	as alice get node n1
expect_fail "no binding: /metrics is a forbidden path" 'forbidden: User "alice" cannot get path "/metrics"' as alice get --raw /metrics

# view in namespace a only, by a RoleBinding.
kubectl create rolebinding alice-view --clusterrole=view --user=alice -n a >/dev/null
can_list_a() { as alice get pods -n a; }
check "RoleBinding to view: alice lists pods in a" wait_for 10 can_list_a
check "view: alice lists services in a" as alice get svc -n a
expect_fail "view: alice cannot list pods in b (one namespace only)" 'cannot list resource "pods" in API group "" in the namespace "b"' as alice get pods -n b
expect_fail "view: alice cannot create a ConfigMap in a" \
	'configmaps is forbidden: User "alice" cannot create resource "configmaps" in API group "" in the namespace "a"' \
	as alice create configmap c1 -n a --from-literal=k=v
expect_fail "view: alice cannot read Secrets in a" 'cannot list resource "secrets"' as alice get secrets -n a
expect_fail "view: alice cannot list pods across namespaces" 'cannot list resource "pods" in API group "" at the cluster scope' as alice get pods -A

# can-i: the caller's own, and --as through impersonation (the admin may impersonate).
expect_out "can-i (alice): list pods -n a yes" '^yes$' as alice auth can-i list pods -n a
expect_out "can-i (alice): create pods -n a no" '^no$' as alice auth can-i create pods -n a
expect_out "can-i --as alice: list pods -n a yes" '^yes$' kubectl auth can-i list pods -n a --as alice
expect_out "can-i --as alice: list pods -n b no" '^no$' kubectl auth can-i list pods -n b --as alice
expect_out "can-i --as alice --as-group: a group's binding counts" '^yes$' sh -c "kubectl create clusterrolebinding dev-view --clusterrole=view --group=dev-team >/dev/null; sleep 0; kubectl auth can-i list pods -n b --as alice --as-group dev-team"
expect_out "--as: requests run as the impersonated user" 'cannot list resource "pods" in API group "" in the namespace "b"' kubectl get pods -n b --as alice
expect_fail "impersonation needs the impersonate verb" 'users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope' as alice get pods -n a --as carol
expect_out "can-i --list (alice, a): pods get/list/watch" 'pods +\[\] +\[\] +\[get list watch\]' as alice auth can-i --list -n a

# Escalation: bob is admin of namespace a.
kubectl create rolebinding bob-admin --clusterrole=admin --user=bob -n a >/dev/null
bob_ready() { as bob get rolebindings -n a; }
check "admin in a: bob reads RoleBindings" wait_for 10 bob_ready
check "admin in a: bob makes a Role with what he holds" as bob create role reader -n a --verb=get,list --resource=pods,secrets
expect_fail "escalation: a Role with nodes is refused" \
	'roles.rbac.authorization.k8s.io "noder" is forbidden: user "bob" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:' \
	as bob create role noder -n a --verb=get --resource=nodes
expect_fail "escalation: the refusal names the missing rule" '\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["get"\]\}' \
	as bob create role noder -n a --verb=get --resource=nodes
expect_fail "escalation: binding cluster-admin is refused" \
	'rolebindings.rbac.authorization.k8s.io "bob-root" is forbidden: user "bob" .*attempting to grant RBAC permissions not currently held' \
	as bob create rolebinding bob-root -n a --clusterrole=cluster-admin --user=bob
check "escalation: binding a role he holds (view) is allowed" as bob create rolebinding carol-view -n a --clusterrole=view --user=carol
expect_fail "admin in a: nothing in b" 'cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "b"' \
	as bob create role r -n b --verb=get --resource=pods
# An aggregationRule pulls rules in by label: only for cluster-admins (kube's rule).
kubectl create clusterrole role-writer --verb=create,get,list --resource=clusterroles.rbac.authorization.k8s.io >/dev/null
kubectl create clusterrolebinding bob-role-writer --clusterrole=role-writer --user=bob >/dev/null
agg_json='{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"sneaky"},"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.authorization.k8s.io/aggregate-to-admin":"true"}}]}}'
bob_writes_roles() { as bob get clusterroles >/dev/null; }
wait_for 10 bob_writes_roles
expect_fail "escalation: an aggregationRule needs cluster-admin" \
	'clusterroles.rbac.authorization.k8s.io "sneaky" is forbidden: must have cluster-admin privileges to use the aggregationRule' \
	sh -c "printf '%s' '$agg_json' | KUBECONFIG=$T_DIR/bob.kubeconfig kubectl create -f -"
kubectl create clusterrole escalator --verb=escalate,create --resource=roles.rbac.authorization.k8s.io >/dev/null
kubectl create rolebinding bob-escalate -n a --clusterrole=escalator --user=bob >/dev/null
esc() { as bob create role noder2 -n a --verb=get --resource=nodes; }
check "the escalate verb lets bob write rules he does not hold" wait_for 10 esc

# Validation of the RBAC kinds (kube's messages).
rb() { printf '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"x","namespace":"a"},%s}' "$1"; }
expect_fail "RoleBinding: roleRef.kind must be Role or ClusterRole" 'roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"' \
	sh -c "printf '%s' '$(rb '"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Pod","name":"p"}')' | kubectl create -f -"
expect_fail "RoleBinding: subject kind must be known" 'subjects\[0\].kind: Unsupported value: "Robot"' \
	sh -c "printf '%s' '$(rb '"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"p"},"subjects":[{"kind":"Robot","name":"r"}]')' | kubectl create -f -"
expect_fail "Role: rules need verbs" 'rules\[0\].verbs: Required value: verbs must contain at least one value' \
	sh -c "printf '%s' '{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"r\",\"namespace\":\"a\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]}' | kubectl create -f -"
expect_fail "Role: no nonResourceURLs in a namespace" 'namespaced rules cannot apply to non-resource URLs' \
	sh -c "printf '%s' '{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"r\",\"namespace\":\"a\"},\"rules\":[{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/x\"]}]}' | kubectl create -f -"
expect_fail "RoleBinding: roleRef is immutable" 'cannot change roleRef' \
	kubectl patch rolebinding alice-view -n a --type=merge -p '{"roleRef":{"name":"edit"}}'
check "names like system:x are valid for RBAC kinds" kubectl create clusterrole system:svcplane-test --verb=get --resource=pods

# Revoking: deleting the binding takes the rights away.
kubectl delete rolebinding alice-view -n a >/dev/null
gone() { ! as alice get pods -n a; }
check "deleting the RoleBinding revokes alice's view" wait_for 10 gone

# Node identity: the join credential (the admin token) gets a node its client
# certificate; with it the node writes only its own objects (Node authorizer and
# NodeRestriction), never another node's or any Service.
node_cert() { # node_cert NAME: $T_DIR/NAME.kubeconfig with system:node:NAME's certificate
	local n=$1 kc=$T_DIR/$1.kubeconfig
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/$n.key" \
		-subj "/CN=ignored" -out "$T_DIR/$n.csr" 2>/dev/null
	jq -n --rawfile csr "$T_DIR/$n.csr" '{csr: $csr}' >"$T_DIR/$n.req"
	curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -o "$T_DIR/$n.crt" -w '%{http_code}' \
		-X POST --data-binary @"$T_DIR/$n.req" "$URL/svcplane/v1/nodes/$n/client-certificate"
	KUBECONFIG=$kc kubectl config set-cluster c --server="$URL" --certificate-authority="$CA" >/dev/null
	KUBECONFIG=$kc kubectl config set-credentials "$n" --client-certificate="$T_DIR/$n.crt" --client-key="$T_DIR/$n.key" >/dev/null
	KUBECONFIG=$kc kubectl config set-context c --cluster=c --user="$n" --namespace=default >/dev/null
	KUBECONFIG=$kc kubectl config use-context c >/dev/null
}
expect_out "join: the admin token gets a node client certificate (201)" '^201$' node_cert n1
expect_out "node certificate: CN system:node:n1, O system:nodes, clientAuth only" 'CN *= *system:node:n1.*O *= *system:nodes|O *= *system:nodes.*CN *= *system:node:n1' \
	openssl x509 -in "$T_DIR/n1.crt" -noout -subject
expect_out "node certificate: TLS Web Client Authentication" 'TLS Web Client Authentication' openssl x509 -in "$T_DIR/n1.crt" -noout -ext extendedKeyUsage
# Bootstrap tokens (kube's format, a Secret in kube-system): a short-lived join credential
# that can do nothing but have a node client certificate signed.
boot_secret() { # boot_secret ID SECRET EXPIRATION
	kubectl create secret generic "bootstrap-token-$1" -n kube-system --type bootstrap.kubernetes.io/token \
		--from-literal=token-id="$1" --from-literal=token-secret="$2" --from-literal=expiration="$3" \
		--from-literal=usage-bootstrap-authentication=true >/dev/null
}
boot_secret abcdef 0123456789abcdef "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
boot_secret expird 0123456789abcdef "$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)"
boot_sign() { # boot_sign TOKEN NODE: the HTTP code of a client-certificate request
	curl -sS --cacert "$CA" -H "Authorization: Bearer $1" -o "$T_DIR/boot.crt" -w '%{http_code}' \
		-X POST --data-binary @"$T_DIR/n1.req" "$URL/svcplane/v1/nodes/$2/client-certificate"
}
expect_out "bootstrap token: a node client certificate is signed (201)" '^201$' boot_sign abcdef.0123456789abcdef n7
expect_out "bootstrap token: the certificate is the node's" 'system:node:n7' openssl x509 -in "$T_DIR/boot.crt" -noout -subject
expect_out "bootstrap token: nothing else (403 as system:bootstrap:abcdef)" 'cannot list resource \\"pods\\".*|User \\"system:bootstrap:abcdef\\"' \
	curl -sS --cacert "$CA" -H "Authorization: Bearer abcdef.0123456789abcdef" "$URL/api/v1/pods"
expect_out "bootstrap token: no serving certificate" '^403$' sh -c "curl -sS --cacert '$CA' -H 'Authorization: Bearer abcdef.0123456789abcdef' -o /dev/null -w '%{http_code}' -X POST --data-binary @'$T_DIR/n1.req' '$URL/svcplane/v1/nodes/n7/serving-certificate'"
expect_out "bootstrap token: a wrong secret is 401" '^401$' boot_sign abcdef.0123456789abcdee n7
expect_out "bootstrap token: an expired one is 401" '^401$' boot_sign expird.0123456789abcdef n7
kubectl delete secret bootstrap-token-abcdef -n kube-system >/dev/null
expect_out "bootstrap token: deleted, it is 401" '^401$' boot_sign abcdef.0123456789abcdef n7
expect_out "no credential: the signer is 401" '^401$' curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -X POST -d '{}' "$URL/svcplane/v1/nodes/n1/client-certificate"
expect_out "node identity: whoami" 'system:node:n1' as n1 auth whoami
expect_fail "node cannot sign a certificate for another node" 'cannot post path "/svcplane/v1/nodes/n2/client-certificate"' \
	as n1 create --raw /svcplane/v1/nodes/n2/client-certificate -f "$T_DIR/n1.req"
node_json() { printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"}}' "$1"; }
check "node registers its own Node" sh -c "printf '%s' '$(node_json n1)' | KUBECONFIG=$T_DIR/n1.kubeconfig kubectl create -f -"
expect_fail "node cannot register another Node" 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"' \
	sh -c "printf '%s' '$(node_json n2)' | KUBECONFIG=$T_DIR/n1.kubeconfig kubectl create -f -"
printf '%s' "$(node_json n2)" | kubectl create -f - >/dev/null
check "node patches its own Node" as n1 label node n1 a=b
check "node patches its own Node's status" as n1 patch node n1 --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}'
expect_fail "node cannot patch another Node" 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"' as n1 label node n2 a=b
expect_fail "node cannot patch another Node's status" 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"' \
	as n1 patch node n2 --subresource=status --type=merge -p '{"status":{"conditions":[]}}'
expect_fail "node cannot delete another Node" 'node "n1" is not allowed to modify node "n2"' as n1 delete node n2
check "node reads Services, EndpointSlices and Pods" sh -c "KUBECONFIG=$T_DIR/n1.kubeconfig kubectl get svc,endpointslices,pods -A"
expect_fail "node cannot patch any Service" \
	'services "kubernetes" is forbidden: User "system:node:n1" cannot patch resource "services" in API group "" in the namespace "default"' \
	as n1 label svc kubernetes a=b
expect_fail "node cannot create a Service" 'cannot create resource "services"' as n1 create service clusterip x --tcp=80:80
expect_fail "node cannot delete a Service" 'cannot delete resource "services"' as n1 delete svc kubernetes
pod_json() { printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"a"},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"x","command":["sleep","1"]}]}}' "$1" "$2"; }
pod_json p1 n1 | kubectl create -f - >/dev/null
pod_json p2 n2 | kubectl create -f - >/dev/null
check "node patches the status of its own pod" as n1 patch pod p1 -n a --subresource=status --type=merge -p '{"status":{"message":"mine"}}'
expect_fail "node cannot patch the status of another node's pod" 'pods "p2" is forbidden: node "n1" can only update the status of pods with spec.nodeName set to itself' \
	as n1 patch pod p2 -n a --subresource=status --type=merge -p '{"status":{"message":"theirs"}}'
expect_fail "node cannot change a pod's spec" 'cannot patch resource "pods" in API group "" in the namespace "a"' as n1 label pod p1 -n a x=y
expect_fail "node cannot delete another node's pod" 'node "n1" can only delete pods with spec.nodeName set to itself' as n1 delete pod p2 -n a --grace-period=0
check "node deletes its own pod" as n1 delete pod p1 -n a --grace-period=0
expect_out "can-i --as a node: patch own node yes" '^yes$' kubectl auth can-i patch nodes/n1 --as system:node:n1 --as-group system:nodes
expect_out "can-i --as a node: patch another node no, with NodeRestriction's reason" '^no - node "n1" is not allowed to modify node "n2"' kubectl auth can-i patch nodes/n2 --as system:node:n1 --as-group system:nodes

# ServiceAccount tokens: TokenRequest (kubectl create token), bound to a pod, ended by its
# deletion, and authorized by RBAC like any user.
kubectl create serviceaccount app -n a >/dev/null
SAKC=$T_DIR/sa.kubeconfig
KUBECONFIG=$SAKC kubectl config set-cluster c --server="$URL" --certificate-authority="$CA" >/dev/null
KUBECONFIG=$SAKC kubectl config set-context c --cluster=c --namespace=a >/dev/null
KUBECONFIG=$SAKC kubectl config use-context c >/dev/null
with_token() { local t=$1; shift; KUBECONFIG=$SAKC kubectl --token="$t" "$@"; }
TOK=$(kubectl create token app -n a 2>&1)
expect_out "kubectl create token: a JWT" '^ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' printf '%s' "$TOK"
expect_out "ServiceAccount token: whoami" 'system:serviceaccount:a:app' with_token "$TOK" auth whoami
expect_out "ServiceAccount token: groups" 'system:serviceaccounts.*system:serviceaccounts:a.*system:authenticated' with_token "$TOK" auth whoami -o jsonpath='{.status.userInfo.groups}'
expect_fail "ServiceAccount token without a Role: list Services is 403" \
	'services is forbidden: User "system:serviceaccount:a:app" cannot list resource "services" in API group "" in the namespace "a"' \
	with_token "$TOK" get svc
kubectl create role svc-lister -n a --verb=list,get,watch --resource=services >/dev/null
kubectl create rolebinding app-svc -n a --role=svc-lister --serviceaccount=a:app >/dev/null
sa_lists() { with_token "$TOK" get svc -n a; }
check "ServiceAccount token with a Role: lists Services" wait_for 10 sa_lists
expect_fail "ServiceAccount token: only where the Role is" 'cannot list resource "services" in API group "" in the namespace "b"' with_token "$TOK" get svc -n b
expect_fail "ServiceAccount token: nothing the Role does not say" 'cannot list resource "pods"' with_token "$TOK" get pods
pod_json p3 n1 | kubectl create -f - >/dev/null
PTOK=$(kubectl create token app -n a --bound-object-kind Pod --bound-object-name p3 --audience https://kubernetes.default.svc.cluster.local --duration 20m 2>&1)
check "pod-bound token lists Services" with_token "$PTOK" get svc -n a
expect_out "pod-bound token: its claims name the pod" '"pod":\{"name":"p3"' sh -c "printf '%s' '$PTOK' | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null"
kubectl delete pod p3 -n a --grace-period=0 --force >/dev/null 2>&1
kubectl delete pod p3 -n a --grace-period=0 >/dev/null 2>&1
pod_gone() { ! kubectl get pod p3 -n a; }
wait_for 10 pod_gone
expect_fail "pod-bound token stops working once the pod is deleted (401)" 'Unauthorized|provide credentials' with_token "$PTOK" get svc -n a
expect_fail "bound to a missing pod: 404" 'pods "nope" not found' kubectl create token app -n a --bound-object-kind Pod --bound-object-name nope
expect_fail "token shorter than 10 minutes: 422" 'may not specify a duration less than 10 minutes' kubectl create token app -n a --duration 5m
expect_fail "token for a missing ServiceAccount: 404" 'serviceaccounts "ghost" not found' kubectl create token ghost -n a
# A changed character in the middle of the signature, and the same signature spelled with
# non-zero unused bits in its last character: both refused.
SIG=${TOK##*.}
MID=$(( ${#SIG} / 2 ))
C=${SIG:$MID:1}; [ "$C" = A ] && C=B || C=A
BAD=${TOK%.*}.${SIG:0:$MID}$C${SIG:$((MID + 1))}
expect_fail "a token with a changed signature is 401" 'Unauthorized|provide credentials' with_token "$BAD" get svc -n a
L=${SIG: -1}
case $L in A) NC=B ;; Q) NC=R ;; g) NC=h ;; w) NC=x ;; *) NC=$L ;; esac
expect_fail "a token with a non-canonical signature spelling is 401" 'Unauthorized|provide credentials' with_token "${TOK%?}$NC" get svc -n a
expect_fail "a token for another audience is 401" 'Unauthorized|provide credentials' with_token "$(kubectl create token app -n a --audience vault)" get svc -n a
# A node gets tokens only for the ServiceAccounts of pods bound to it.
sa_pod() { printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"a"},"spec":{"nodeName":"%s","serviceAccountName":"app","containers":[{"name":"c","image":"x","command":["sleep","1"]}]}}' "$1" "$2"; }
sa_pod p4 n1 | kubectl create -f - >/dev/null
sa_pod p5 n2 | kubectl create -f - >/dev/null
NTOK=$(as n1 create token app -n a --bound-object-kind Pod --bound-object-name p4 2>&1)
check "node: a token for its own pod's ServiceAccount" with_token "$NTOK" get svc -n a
expect_fail "node: no token bound to another node's pod" 'node "n1" may only request tokens bound to pods on it that run as this ServiceAccount' \
	as n1 create token app -n a --bound-object-kind Pod --bound-object-name p5
expect_fail "node: no unbound token" 'node "n1" may only request tokens bound to pods on it' as n1 create token app -n a
kubectl delete serviceaccount app -n a >/dev/null
expect_fail "the token stops working once the ServiceAccount is deleted" 'Unauthorized|provide credentials' with_token "$TOK" get svc -n a

# Default roles are reconciled at start, as kube-apiserver does: a rule taken from
# system:basic-user comes back, a subject taken from its binding too, the admin's own
# additions stay; with autoupdate "false" the admin's version is left alone.
check "cut a rule from system:basic-user" kubectl patch clusterrole system:basic-user --type=json \
	-p '[{"op":"remove","path":"/rules/1"},{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}}]'
check "and replace the subject of its binding" kubectl patch clusterrolebinding system:basic-user --type=json \
	-p '[{"op":"replace","path":"/subjects","value":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"jane"}]}]'
stop_server
start_server || { fail "server restarts"; finish; exit 1; }
expect_out "the rule is back, the admin's rule kept" 'selfsubjectaccessreviews.*pods|pods.*selfsubjectaccessreviews' sh -c \
	"kubectl get clusterrole system:basic-user -o json | tr -d ' \n'"
expect_out "the default subject is back, the admin's kept" '^jane system:authenticated $' \
	sh -c "kubectl get clusterrolebinding system:basic-user -o jsonpath='{range .subjects[*]}{.name} {end}'"
check "autoupdate false on system:discovery, a rule cut" sh -c \
	"kubectl annotate clusterrole system:discovery --overwrite rbac.authorization.kubernetes.io/autoupdate=false >/dev/null &&
	 kubectl patch clusterrole system:discovery --type=json -p '[{\"op\":\"replace\",\"path\":\"/rules\",\"value\":[]}]'"
stop_server
start_server || { fail "server restarts"; finish; exit 1; }
expect_out "autoupdate false: left as the admin made it" '^0$' sh -c \
	"kubectl get clusterrole system:discovery -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get(\"rules\") or []))'"

stop_server
finish
