#!/usr/bin/env bash
# rbac.sh [N] - request latency with RBAC on vs off at 1,000 Roles and 1,000 RoleBindings
# (issue 20). Release build, --disable-agent, loopback. 100 namespaces hold 10 Roles and
# 10 RoleBindings each (other users); user "bench" (a client certificate signed by the
# cluster CA) has `view` in namespace default through one more RoleBinding. One keep-alive
# client GETs the kubernetes Service N times (default 5000) as:
#   off: the admin token (system:masters: allowed before any RBAC evaluation),
#   on:  user bench (the Node authorizer has no opinion, RBAC looks at the cluster
#        bindings and default's RoleBindings over the compiled set of 2,000+ objects).
# Prints one line per case: p50, p99 and mean in ms.
. "$(dirname "$0")/lib.sh"
N=${1:-5000}
sp_start "$BD/d"
export KUBECONFIG=$BD/d/kubeconfig
python3 - "$BD/objs.json" <<'PY'
import json, sys
items = []
for i in range(100):
    ns = "rb%03d" % i
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
for i in range(100):
    ns = "rb%03d" % i
    for j in range(10):
        items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                      "metadata": {"name": "r%d" % j, "namespace": ns},
                      "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}]})
        items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                      "metadata": {"name": "b%d" % j, "namespace": ns},
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r%d" % j},
                      "subjects": [{"kind": "User", "name": "u%d-%d" % (i, j), "apiGroup": "rbac.authorization.k8s.io"}]})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"))
PY
kubectl create -f "$BD/objs.json" >/dev/null
kubectl create rolebinding bench-view -n default --clusterrole=view --user=bench >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$BD/u.key" -subj /CN=bench \
	-out "$BD/u.csr" 2>/dev/null
openssl x509 -req -in "$BD/u.csr" -CA "$SP_CA" -CAkey "$BD/d/pki/ca.key" -CAcreateserial -days 1 -out "$BD/u.crt" 2>/dev/null
echo "roles: $(kubectl get roles -A --no-headers | wc -l), rolebindings: $(kubectl get rolebindings -A --no-headers | wc -l), clusterroles: $(kubectl get clusterroles --no-headers | wc -l)"
PORT=${SP_URL##*:}
P=/api/v1/namespaces/default/services/kubernetes
for round in 1 2 3; do
	echo "round $round off (admin token):   $(python3 bench/rbac_latency.py "$PORT" "$SP_CA" "$P" "$N" --token "$SP_TOKEN")"
	echo "round $round on  (RBAC, user):    $(python3 bench/rbac_latency.py "$PORT" "$SP_CA" "$P" "$N" --cert "$BD/u.crt" "$BD/u.key")"
done
sp_stop
