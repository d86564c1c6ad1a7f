/* node.h - the Node authorizer and NodeRestriction: what a node's own credential may do.
 *
 * Pure, as kube's plugin/pkg/auth/authorizer/node and plugin/pkg/admission/noderestriction
 * decide it, for a user system:node:<name> in group system:nodes:
 *   - read (get/list/watch) what its pods and its data plane need: nodes, pods, services,
 *     endpoints, endpointslices, namespaces, ingresses and ingressclasses, and the
 *     Leases of kube-node-lease (configmaps, secrets, serviceaccounts: see below);
 *   - write only its own Node (create, update, patch, delete, status), the status of and
 *     deletion of pods bound to it (spec.nodeName), events, and its own Lease in
 *     kube-node-lease; ask for its own serving and client certificates; request
 *     ServiceAccount tokens (the TokenRequest handler then requires a token bound to a
 *     pod on this node that runs as that ServiceAccount);
 *   - never another node's objects: those writes are refused outright (NodeRestriction),
 *     whatever RBAC says; anything else (any Service write, ...) gets no opinion here, so
 *     RBAC decides (and the system:node role is not bound, as in Kubernetes).
 * ConfigMaps, Secrets and ServiceAccounts: as kube's graph, a node may get (by name, never
 * list or watch) only those a pod bound to it references (auth_node_pod_uses: volumes,
 * projected sources, env, envFrom, imagePullSecrets, serviceAccountName); the caller
 * looks the pods up (auth_node_needs_graph). The one exception is svcplane's: its
 * node-local Ingress proxy lists and watches Secrets of type kubernetes.io/tls (only with
 * that fieldSelector), which kube's nodes do not (its ingress controllers do, by RBAC).
 */
#ifndef AUTH_NODE_H
#define AUTH_NODE_H

#include <jansson.h>
#include <stddef.h>

#include "auth/rbac.h"

enum auth_decision { AUTH_NO_OPINION, AUTH_ALLOW, AUTH_DENY };

/* The node name of a node identity (system:node:<name> in group system:nodes), pointing
 * into u->name, or NULL. */
const char *auth_node_name(const struct auth_user *u);
/* True when the decision on a needs the node of the pod it names (the caller reads the
 * pod's spec.nodeName and passes it to auth_node_authorize). */
bool auth_node_needs_pod(const struct auth_attrs *a);
/* The decision for node's request a; pod_node is the named pod's spec.nodeName when
 * auth_node_needs_pod (NULL when the pod does not exist). On AUTH_DENY, reason holds
 * NodeRestriction's sentence (`node "n1" is not allowed to modify node "n2"`), which is
 * the whole of kube's message after `<resource> "<name>" is forbidden: `. */
enum auth_decision auth_node_authorize(const char *node, const struct auth_attrs *a, const char *pod_node,
				       char *reason, size_t reasonlen);

/* True when a is a get of a ConfigMap, Secret or ServiceAccount by name: the caller
 * allows it when auth_node_authorize has no opinion and a pod bound to the node in a's
 * namespace uses it. */
bool auth_node_needs_graph(const struct auth_attrs *a);
/* Whether pod references resource ("secrets", "configmaps", "serviceaccounts") name in
 * its volumes, projected sources, containers' env/envFrom, imagePullSecrets or
 * serviceAccountName (kube's node authorizer graph edges). Pure. */
bool auth_node_pod_uses(const json_t *pod, const char *resource, const char *name);

/* A bootstrapper (a user in group system:bootstrappers, authenticated by a short-lived
 * bootstrap token) may have a node client certificate signed, for any node name, as
 * kube's bootstrappers may create node CSRs: true for POST
 * /svcplane/v1/nodes/<name>/client-certificate, false for anything else (RBAC then). */
bool auth_bootstrap_allows(const struct auth_attrs *a);

#endif
