/* authz.c - who a request is (authentication), whether it may (authorization), and the
 * RBAC admission rules on writes of roles and bindings (escalation).
 *
 * Authentication, in kube-apiserver's order: a client certificate that the cluster CA
 * verified (user = CN, groups = every O), then the bearer token (the admin token is
 * user system:admin in group system:masters). Every authenticated user is also in
 * system:authenticated. Impersonate-User / Impersonate-Group headers then replace the
 * identity when the requester may `impersonate` users, groups or serviceaccounts.
 *
 * Authorization: system:masters is allowed everything (kube's superuser group); everyone
 * else is decided by auth/rbac.c over the stored RBAC objects. The compiled set is built
 * on first use and rebuilt when an RBAC object was written (apiserver__rbac_dirty, called
 * after every write to the rbac group and every delete by the namespace finalizer);
 * readers hold a reference, so a rebuild never frees a set in use.
 *
 * Request attributes follow kube's RequestInfoFactory: /api/v1/... and /apis/g/v/...
 * below a resource are resource requests (verb from the method: get/list/watch, create,
 * update, patch, delete/deletecollection; pods' exec/attach/portforward need create, as
 * kube asks since 1.30 for WebSocket upgrades too); the namespace of /api/v1/namespaces/X
 * is X; everything else (discovery, /metrics, /openapi, svcplane's own paths) is a
 * non-resource request whose verb is the lower-case method.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/object.h"
#include "api/rbac.h"
#include "apiserver/internal.h"
#include "auth/jwt.h"
#include "auth/node.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

/* ---- authentication ---- */

static bool token_is_admin(const struct apiserver *as, const char *t)
{
	size_t n = strlen(as->token);
	return t && strlen(t) == n && CRYPTO_memcmp(t, as->token, n) == 0;
}

int apiserver__authenticate(struct apiserver *as, const struct http_conn *c, const struct http_req *r,
			    struct auth_user *u)
{
	const char *cn = c ? http_conn_client_cn(c, NULL) : NULL;
	if (cn && *cn) {
		auth_user_init(u, cn);
		const char *o;
		for (size_t i = 0; (o = http_conn_client_org(c, i)); i++)
			auth_user_add_group(u, o);
		auth_user_add_group(u, "system:authenticated");
		return 0;
	}
	const char *t = http_req_bearer(r);
	if (token_is_admin(as, t)) {
		auth_user_init(u, "system:admin");
		auth_user_add_group(u, "system:masters");
		auth_user_add_group(u, "system:authenticated");
		return 0;
	}
	if (!t)
		return ERR_UNAUTHORIZED;
	return auth_jwt_shaped(t) ? apiserver__sa_authenticate(as, t, u)
				  : apiserver__bootstrap_authenticate(as, t, u);
}

/* ---- the compiled RBAC set ---- */

struct apiserver_rbac {
	struct rbac_set *set;
	int refs;
};

void apiserver__rbac_dirty(struct apiserver *as)
{
	pthread_mutex_lock(&as->rbac_mu);
	as->rbac_stale = true;
	pthread_mutex_unlock(&as->rbac_mu);
}

static void snap_unref_locked(struct apiserver_rbac *sn)
{
	if (sn && --sn->refs == 0) {
		rbac_set_free(sn->set);
		free(sn);
	}
}

static struct apiserver_rbac *build(struct apiserver *as)
{
	static const char *const plurals[] = {"roles", "clusterroles", "rolebindings", "clusterrolebindings"};
	static const char *const kinds[] = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"};
	struct rbac_set *set = rbac_set_new();
	for (size_t i = 0; i < 4; i++) {
		char *prefix = xasprintf("/registry/%s/%s/", API_RBAC_GROUP, plurals[i]);
		struct store_list l;
		if (store_range(as->store, prefix, NULL, 0, 0, &l) == 0) {
			for (size_t j = 0; j < l.len; j++) {
				json_t *o = json_loadb(l.kvs[j]->value, l.kvs[j]->value_len, 0, NULL);
				if (json_is_object(o)) {
					json_object_set_new(o, "kind", json_string(kinds[i]));
					rbac_set_add(set, o);
				}
				json_decref(o);
			}
			store_list_fini(&l);
		}
		free(prefix);
	}
	rbac_set_seal(set);
	struct apiserver_rbac *sn = xcalloc(1, sizeof(*sn));
	sn->set = set;
	sn->refs = 1; /* the server's */
	return sn;
}

/* A reference to the current set (rebuilt first when stale); release with put. */
static struct apiserver_rbac *rbac_get(struct apiserver *as)
{
	pthread_mutex_lock(&as->rbac_mu);
	if (!as->rbac || as->rbac_stale) {
		as->rbac_stale = false;
		struct apiserver_rbac *fresh = build(as);
		snap_unref_locked(as->rbac);
		as->rbac = fresh;
	}
	struct apiserver_rbac *sn = as->rbac;
	sn->refs++;
	pthread_mutex_unlock(&as->rbac_mu);
	return sn;
}

static void rbac_put(struct apiserver *as, struct apiserver_rbac *sn)
{
	pthread_mutex_lock(&as->rbac_mu);
	snap_unref_locked(sn);
	pthread_mutex_unlock(&as->rbac_mu);
}

void apiserver__rbac_fini(struct apiserver *as)
{
	pthread_mutex_lock(&as->rbac_mu);
	snap_unref_locked(as->rbac);
	as->rbac = NULL;
	pthread_mutex_unlock(&as->rbac_mu);
}

/* The spec.nodeName of the pod a names (heap), or NULL. */
static char *pod_node(struct apiserver *as, const struct auth_attrs *a)
{
	if (!a->ns || !a->name)
		return NULL;
	char *key = xasprintf("/registry/core/pods/%s/%s", a->ns, a->name);
	struct store_kv *kv = NULL;
	char *node = NULL;
	if (store_get(as->store, key, &kv) == 0 && kv) {
		json_t *o = json_loadb(kv->value, kv->value_len, 0, NULL);
		const char *n = api_str(o, "spec.nodeName");
		node = n ? xstrdup(n) : NULL;
		json_decref(o);
	}
	store_kv_unref(kv);
	free(key);
	return node;
}

/* The Node authorizer's graph (auth/node.h): whether a pod bound to node in a's namespace
 * uses the object a names. */
static bool node_graph(struct apiserver *as, const char *node, const struct auth_attrs *a)
{
	if (!a->ns || !a->name)
		return false;
	char *prefix = xasprintf("/registry/core/pods/%s/", a->ns);
	struct store_list l;
	bool found = false;
	if (store_range(as->store, prefix, NULL, 0, 0, &l) == 0) {
		for (size_t j = 0; j < l.len && !found; j++) {
			json_t *o = json_loadb(l.kvs[j]->value, l.kvs[j]->value_len, 0, NULL);
			const char *pn = api_str(o, "spec.nodeName");
			found = pn && !strcmp(pn, node) && auth_node_pod_uses(o, a->resource, a->name);
			json_decref(o);
		}
		store_list_fini(&l);
	}
	free(prefix);
	return found;
}

enum auth_decision apiserver__decide(struct apiserver *as, const struct auth_user *u,
				     const struct auth_attrs *a, char *reason, size_t reasonlen)
{
	if (reasonlen)
		reason[0] = 0;
	if (auth_user_in_group(u, "system:masters"))
		return AUTH_ALLOW;
	if (auth_user_in_group(u, "system:bootstrappers") && auth_bootstrap_allows(a))
		return AUTH_ALLOW;
	const char *node = auth_node_name(u);
	if (node) {
		char *pn = auth_node_needs_pod(a) ? pod_node(as, a) : NULL;
		enum auth_decision d = auth_node_authorize(node, a, pn, reason, reasonlen);
		free(pn);
		if (d == AUTH_NO_OPINION && auth_node_needs_graph(a) && node_graph(as, node, a))
			d = AUTH_ALLOW;
		if (d != AUTH_NO_OPINION)
			return d;
	}
	struct apiserver_rbac *sn = rbac_get(as);
	bool ok = a->verb && rbac_authorize(sn->set, u, a, reason, reasonlen);
	rbac_put(as, sn);
	return ok ? AUTH_ALLOW : AUTH_NO_OPINION;
}

bool apiserver__allowed(struct apiserver *as, const struct auth_user *u, const struct auth_attrs *a,
			char *reason, size_t reasonlen)
{
	return apiserver__decide(as, u, a, reason, reasonlen) == AUTH_ALLOW;
}

/* ---- request attributes ---- */

static void lower_method(const char *m, char *out, size_t len)
{
	size_t i = 0;
	for (; m[i] && i + 1 < len; i++)
		out[i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ? m[i] - 'A' + 'a' : m[i]);
	out[i] = 0;
}

void apiserver__request_attrs(const struct http_req *r, struct apiserver_attrs *x)
{
	memset(x, 0, sizeof(*x));
	x->buf = xstrdup(r->path);
	char *seg[16];
	int n = apiserver__split(x->buf, seg, 16), i;
	const char *group = "";
	x->a.path = r->path;
	lower_method(r->method, x->verb, sizeof(x->verb));
	if (!strcmp(x->verb, "head"))
		snprintf(x->verb, sizeof(x->verb), "get");
	x->a.verb = x->verb;
	if (n >= 3 && !strcmp(seg[0], "api")) {
		i = 2;
	} else if (n >= 4 && !strcmp(seg[0], "apis")) {
		group = seg[1];
		i = 3;
	} else {
		return; /* non-resource */
	}
	const char *ns = NULL;
	if (n - i >= 2 && !strcmp(seg[i], "namespaces") && n - i != 2) {
		/* /namespaces/{ns}/{resource}... ; /namespaces/{name} and /namespaces/{name}/{sub}
		 * (status, finalize) are the namespace itself. */
		if (n - i >= 3 && strcmp(seg[i + 2], "status") && strcmp(seg[i + 2], "finalize")) {
			ns = seg[i + 1];
			i += 2;
		}
	}
	x->a.resource_request = true;
	x->a.group = group;
	x->a.ns = ns;
	x->a.resource = seg[i];
	if (i + 1 < n)
		x->a.name = seg[i + 1];
	if (i + 2 < n)
		x->a.sub = seg[i + 2];
	if (!strcmp(seg[i], "namespaces") && x->a.name)
		x->a.ns = x->a.name;
	const char *m = r->method;
	x->fsel = http_query_get(r->query, "fieldSelector");
	x->a.field_selector = x->fsel;
	char *w = http_query_get(r->query, "watch");
	bool watch = w && (!strcmp(w, "true") || !strcmp(w, "1"));
	free(w);
	const char *verb;
	if (x->a.sub &&
	    (!strcmp(x->a.sub, "exec") || !strcmp(x->a.sub, "attach") || !strcmp(x->a.sub, "portforward")))
		verb = "create";
	else if (x->a.sub && !strcmp(x->a.sub, "proxy"))
		verb = x->verb; /* kube: the HTTP verb, lower case */
	else if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		verb = watch ? "watch" : x->a.name ? "get" : "list";
	else if (!strcmp(m, "POST"))
		verb = "create";
	else if (!strcmp(m, "PUT"))
		verb = "update";
	else if (!strcmp(m, "PATCH"))
		verb = "patch";
	else if (!strcmp(m, "DELETE"))
		verb = x->a.name ? "delete" : "deletecollection";
	else
		verb = x->verb;
	snprintf(x->verb, sizeof(x->verb), "%s", verb);
}

void apiserver__attrs_fini(struct apiserver_attrs *x)
{
	free(x->buf);
	x->buf = NULL;
	free(x->fsel);
	x->fsel = NULL;
}

void apiserver__send_forbidden(struct http_conn *c, const struct auth_user *u, const struct auth_attrs *a,
			       const char *reason, bool restricted)
{
	char *why = restricted ? xstrdup(reason) : auth_forbidden_message(u, a, reason);
	char *msg;
	const char *g = a->resource_request && a->group ? a->group : "";
	if (!a->resource_request)
		msg = xasprintf("forbidden: %s", why);
	else if (a->name && *a->name)
		msg =
		    xasprintf("%s%s%s \"%s\" is forbidden: %s", a->resource, *g ? "." : "", g, a->name, why);
	else
		msg = xasprintf("%s%s%s is forbidden: %s", a->resource, *g ? "." : "", g, why);
	json_t *d = json_object();
	if (a->resource_request) {
		if (a->name && *a->name)
			json_object_set_new(d, "name", json_string(a->name));
		if (*g)
			json_object_set_new(d, "group", json_string(g));
		json_object_set_new(d, "kind", json_string(a->resource));
	}
	apiserver__send_status(c, -EACCES, msg, d);
	free(msg);
	free(why);
}

/* ---- impersonation ---- */

static bool may_impersonate(struct apiserver *as, struct http_conn *c, const struct auth_user *u,
			    const char *res, const char *ns, const char *name)
{
	struct auth_attrs a = {.resource_request = true,
			       .verb = "impersonate",
			       .group = "",
			       .resource = res,
			       .ns = ns,
			       .name = name};
	if (apiserver__allowed(as, u, &a, NULL, 0))
		return true;
	apiserver__send_forbidden(c, u, &a, "", false);
	return false;
}

int apiserver__impersonate(struct apiserver *as, struct http_conn *c, const struct http_req *r,
			   struct auth_user *u)
{
	const char *who = http_req_header(r, "Impersonate-User");
	bool any_group = false;
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, "Impersonate-Group"))
			any_group = true;
	if (!who) {
		if (any_group) {
			apiserver__send_status(c, -EACCES, "requested groups without impersonating a user",
					       NULL);
			return -EACCES;
		}
		return 0;
	}
	struct auth_user nu;
	auth_user_init(&nu, who);
	static const char sa[] = "system:serviceaccount:";
	if (!strncmp(who, sa, sizeof(sa) - 1) && strchr(who + sizeof(sa) - 1, ':')) {
		char *ns = xstrdup(who + sizeof(sa) - 1);
		char *colon = strchr(ns, ':');
		*colon = 0;
		bool ok = may_impersonate(as, c, u, "serviceaccounts", ns, colon + 1);
		if (ok) {
			auth_user_add_group(&nu, "system:serviceaccounts");
			char *g = xasprintf("system:serviceaccounts:%s", ns);
			auth_user_add_group(&nu, g);
			free(g);
		}
		free(ns);
		if (!ok)
			goto deny;
	} else if (!may_impersonate(as, c, u, "users", NULL, who)) {
		goto deny;
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, "Impersonate-Group") != 0)
			continue;
		if (!may_impersonate(as, c, u, "groups", NULL, r->headers[i].value))
			goto deny;
		auth_user_add_group(&nu, r->headers[i].value);
	}
	if (strcmp(who, "system:anonymous") != 0)
		auth_user_add_group(&nu, "system:authenticated");
	auth_user_fini(u);
	*u = nu;
	return 0;
deny:
	auth_user_fini(&nu);
	return -EACCES;
}

/* ---- admission of RBAC writes: no escalation ---- */

static bool answer_escalation(struct rq *q, const char *name, struct buf *missing)
{
	struct buf m;
	buf_init(&m);
	buf_printf(&m, "%s.%s \"%s\" is forbidden: user \"%s\" (groups=[", q->k->plural, API_RBAC_GROUP, name,
		   q->user->name);
	for (size_t i = 0; i < q->user->groups.len; i++)
		buf_printf(&m, "%s\"%s\"", i ? " " : "", q->user->groups.v[i]);
	buf_printf(&m, "]) is attempting to grant RBAC permissions not currently held:\n%s",
		   missing->data ? missing->data : "");
	json_t *d = json_pack("{s:s, s:s, s:s}", "name", name, "group", API_RBAC_GROUP, "kind", q->k->plural);
	apiserver__send_status(q->c, -EACCES, m.data, d);
	buf_fini(&m);
	return false;
}

bool apiserver__admit(struct rq *q, const char *name, const json_t *obj)
{
	const char *node = q->user ? auth_node_name(q->user) : NULL;
	if (node && !q->k->group[0] && !strcmp(q->k->kind, "Node") && strcmp(name, node) != 0) {
		/* NodeRestriction: a node creates (or rewrites) only its own Node object. */
		char *m =
		    xasprintf("nodes \"%s\" is forbidden: node \"%s\" is not allowed to modify node \"%s\"",
			      name, node, name);
		apiserver__send_status(q->c, -EACCES, m,
				       json_pack("{s:s, s:s}", "name", name, "kind", "nodes"));
		free(m);
		return false;
	}
	if (!api_kind_is_rbac(q->k) || !q->user || auth_user_in_group(q->user, "system:masters"))
		return true;
	const char *ns = q->k->namespaced ? q->ns : NULL;
	bool is_binding = !strcmp(q->k->kind, "RoleBinding") || !strcmp(q->k->kind, "ClusterRoleBinding");
	struct apiserver_rbac *sn = rbac_get(q->as);
	bool ok;
	struct buf missing;
	buf_init(&missing);
	if (!is_binding) {
		/* The escalate verb on the role lets its holder write any rules. */
		struct auth_attrs a = {.resource_request = true,
				       .verb = "escalate",
				       .group = API_RBAC_GROUP,
				       .resource = q->k->plural,
				       .ns = ns,
				       .name = name};
		ok = rbac_authorize(sn->set, q->user, &a, NULL, 0);
		if (!ok && json_object_get(obj, "aggregationRule")) {
			/* kube: an aggregationRule pulls in rules by label, whatever their author
			 * holds, so it needs cluster-admin (or the escalate verb). */
			rbac_put(q->as, sn);
			char *m = xasprintf(
			    "%s.%s \"%s\" is forbidden: must have cluster-admin privileges to use the "
			    "aggregationRule",
			    q->k->plural, API_RBAC_GROUP, name);
			apiserver__send_status(q->c, -EACCES, m,
					       json_pack("{s:s, s:s, s:s}", "name", name, "group",
							 API_RBAC_GROUP, "kind", q->k->plural));
			free(m);
			buf_fini(&missing);
			return false;
		}
		if (!ok)
			ok =
			    rbac_rules_covered(sn->set, q->user, ns, json_object_get(obj, "rules"), &missing);
	} else {
		const char *rk = api_str(obj, "roleRef.kind"), *rn = api_str(obj, "roleRef.name");
		/* The bind verb on the referenced role lets its holder bind it. */
		bool cluster_role = rk && !strcmp(rk, "ClusterRole");
		struct auth_attrs a = {.resource_request = true,
				       .verb = "bind",
				       .group = API_RBAC_GROUP,
				       .resource = cluster_role ? "clusterroles" : "roles",
				       .ns = ns,
				       .name = rn};
		ok = rbac_authorize(sn->set, q->user, &a, NULL, 0);
		if (!ok) {
			json_t *rules = rbac_role_rules(sn->set, rk, ns, rn);
			if (!rules) {
				/* kube: the role must exist to be compared (a NotFound wrapped as Forbidden).
				 */
				buf_printf(&missing, "%s \"%s\" not found",
					   cluster_role ? "clusterroles.rbac.authorization.k8s.io"
							: "roles.rbac.authorization.k8s.io",
					   rn ? rn : "");
				ok = false;
			} else {
				ok = rbac_rules_covered(sn->set, q->user, ns, rules, &missing);
				json_decref(rules);
			}
		}
	}
	rbac_put(q->as, sn);
	if (!ok)
		answer_escalation(q, name, &missing);
	buf_fini(&missing);
	return ok;
}

json_t *apiserver__user_rules(struct apiserver *as, const struct auth_user *u, const char *ns)
{
	if (auth_user_in_group(u, "system:masters"))
		return json_pack("[{s:[s], s:[s], s:[s]}, {s:[s], s:[s]}]", "verbs", "*", "apiGroups", "*",
				 "resources", "*", "verbs", "*", "nonResourceURLs", "*");
	struct apiserver_rbac *sn = rbac_get(as);
	json_t *r = rbac_user_rules(sn->set, u, ns);
	rbac_put(as, sn);
	return r;
}
