/* rbac.c - the RBAC authorizer over a compiled set of roles and bindings (see rbac.h).
 *
 * Objects are compiled into plain C arrays when added (so a decision never touches
 * JSON): roles keep their rules as string vectors, bindings their subjects and roleRef.
 * Sealing sorts roles by (namespace, name) and bindings by namespace, resolves each
 * binding's role once, and folds aggregated ClusterRoles' rules in (repeated until
 * nothing changes, at most 8 rounds, since an aggregated role may itself be aggregated:
 * admin takes edit's rules, which take view's). A decision then looks only at the
 * bindings of the request's namespace and the cluster ones, found by binary search.
 */
#include "auth/rbac.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

/* ---- users ---- */

void auth_user_init(struct auth_user *u, const char *name)
{
	memset(u, 0, sizeof(*u));
	u->name = xstrdup(name ? name : "");
}

bool auth_user_in_group(const struct auth_user *u, const char *g)
{
	for (size_t i = 0; i < u->groups.len; i++)
		if (!strcmp(u->groups.v[i], g))
			return true;
	return false;
}

void auth_user_add_group(struct auth_user *u, const char *g)
{
	if (auth_user_in_group(u, g))
		return;
	*vec_push(&u->groups) = xstrdup(g);
}

void auth_user_copy(struct auth_user *dst, const struct auth_user *src)
{
	auth_user_init(dst, src->name);
	dst->uid = src->uid ? xstrdup(src->uid) : NULL;
	for (size_t i = 0; i < src->groups.len; i++)
		auth_user_add_group(dst, src->groups.v[i]);
}

void auth_user_fini(struct auth_user *u)
{
	for (size_t i = 0; i < u->groups.len; i++)
		free(u->groups.v[i]);
	vec_free(&u->groups);
	free(u->name);
	free(u->uid);
	memset(u, 0, sizeof(*u));
}

json_t *auth_user_groups_json(const struct auth_user *u)
{
	json_t *a = json_array();
	for (size_t i = 0; i < u->groups.len; i++)
		json_array_append_new(a, json_string(u->groups.v[i]));
	return a;
}

/* ---- compiled objects ---- */

struct strv {
	char **v;
	size_t n;
};

struct rule {
	struct strv verbs, groups, resources, names, urls;
};

struct role {
	char *ns; /* "" for a ClusterRole */
	char *name;
	VEC(struct rule) rules;
	json_t *labels;	   /* ClusterRoles: for aggregation */
	json_t *selectors; /* aggregationRule.clusterRoleSelectors, or NULL */
	size_t own_rules;  /* rules of the object itself (aggregated ones follow) */
};

enum { SUBJ_USER, SUBJ_GROUP, SUBJ_SA };

struct subject {
	int kind;
	char *name;	/* user/group name, or for SA the user name system:serviceaccount:ns:name */
	char *describe; /* kube's describeSubject, for the reason */
};

struct binding {
	char *ns; /* "" for a ClusterRoleBinding */
	char *name;
	char *role_kind, *role_name;
	struct subject *subs;
	size_t nsubs;
	const struct role *role; /* resolved at seal */
};

struct rbac_set {
	VEC(struct role) roles;
	VEC(struct binding) binds;
	bool sealed;
};

static void strv_from(struct strv *sv, const json_t *arr)
{
	sv->n = 0;
	sv->v = NULL;
	if (!json_is_array(arr))
		return;
	sv->v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) if (json_is_string(x)) sv->v[sv->n++] = xstrdup(json_string_value(x));
}

static void strv_fini(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

static void strv_copy(struct strv *dst, const struct strv *src)
{
	dst->n = src->n;
	dst->v = xcalloc(src->n + 1, sizeof(char *));
	for (size_t i = 0; i < src->n; i++)
		dst->v[i] = xstrdup(src->v[i]);
}

static bool strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static bool strv_equal(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static void rule_from(struct rule *r, const json_t *o)
{
	strv_from(&r->verbs, json_object_get(o, "verbs"));
	strv_from(&r->groups, json_object_get(o, "apiGroups"));
	strv_from(&r->resources, json_object_get(o, "resources"));
	strv_from(&r->names, json_object_get(o, "resourceNames"));
	strv_from(&r->urls, json_object_get(o, "nonResourceURLs"));
}

static void rule_copy(struct rule *dst, const struct rule *src)
{
	strv_copy(&dst->verbs, &src->verbs);
	strv_copy(&dst->groups, &src->groups);
	strv_copy(&dst->resources, &src->resources);
	strv_copy(&dst->names, &src->names);
	strv_copy(&dst->urls, &src->urls);
}

static bool rule_equal(const struct rule *a, const struct rule *b)
{
	return strv_equal(&a->verbs, &b->verbs) && strv_equal(&a->groups, &b->groups) &&
	       strv_equal(&a->resources, &b->resources) && strv_equal(&a->names, &b->names) &&
	       strv_equal(&a->urls, &b->urls);
}

static void rule_fini(struct rule *r)
{
	strv_fini(&r->verbs);
	strv_fini(&r->groups);
	strv_fini(&r->resources);
	strv_fini(&r->names);
	strv_fini(&r->urls);
}

static json_t *strv_json(const struct strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *rule_json(const struct rule *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "verbs", strv_json(&r->verbs));
	if (r->groups.n)
		json_object_set_new(o, "apiGroups", strv_json(&r->groups));
	if (r->resources.n)
		json_object_set_new(o, "resources", strv_json(&r->resources));
	if (r->names.n)
		json_object_set_new(o, "resourceNames", strv_json(&r->names));
	if (r->urls.n)
		json_object_set_new(o, "nonResourceURLs", strv_json(&r->urls));
	return o;
}

struct rbac_set *rbac_set_new(void)
{
	return xcalloc(1, sizeof(struct rbac_set));
}

size_t rbac_set_count(const struct rbac_set *s)
{
	return s->roles.len + s->binds.len;
}

static void add_role(struct rbac_set *s, const json_t *obj, bool cluster)
{
	struct role *r = vec_push(&s->roles);
	const char *ns = api_str(obj, "metadata.namespace"), *name = api_str(obj, "metadata.name");
	r->ns = xstrdup(cluster || !ns ? "" : ns);
	r->name = xstrdup(name ? name : "");
	json_t *rules = json_object_get(obj, "rules");
	for (size_t i = 0; i < json_array_size(rules); i++)
		rule_from(vec_push(&r->rules), json_array_get(rules, i));
	r->own_rules = r->rules.len;
	if (cluster) {
		json_t *l = api_get(obj, "metadata.labels");
		r->labels = json_is_object(l) ? json_deep_copy(l) : NULL;
		json_t *sel = api_get(obj, "aggregationRule.clusterRoleSelectors");
		r->selectors = json_is_array(sel) ? json_deep_copy(sel) : NULL;
	}
}

static void add_binding(struct rbac_set *s, const json_t *obj, bool cluster)
{
	struct binding *b = vec_push(&s->binds);
	const char *ns = api_str(obj, "metadata.namespace"), *name = api_str(obj, "metadata.name");
	b->ns = xstrdup(cluster || !ns ? "" : ns);
	b->name = xstrdup(name ? name : "");
	const char *rk = api_str(obj, "roleRef.kind"), *rn = api_str(obj, "roleRef.name");
	b->role_kind = xstrdup(rk ? rk : "");
	b->role_name = xstrdup(rn ? rn : "");
	json_t *subs = json_object_get(obj, "subjects");
	b->subs = xcalloc(json_array_size(subs) + 1, sizeof(struct subject));
	size_t i;
	json_t *x;
	json_array_foreach(subs, i, x)
	{
		const char *kind = api_str(x, "kind"), *sn = api_str(x, "name"),
			   *sns = api_str(x, "namespace");
		if (!kind || !sn)
			continue;
		struct subject *sub = &b->subs[b->nsubs];
		if (!strcmp(kind, "User")) {
			sub->kind = SUBJ_USER;
			sub->name = xstrdup(sn);
		} else if (!strcmp(kind, "Group")) {
			sub->kind = SUBJ_GROUP;
			sub->name = xstrdup(sn);
		} else if (!strcmp(kind, "ServiceAccount")) {
			const char *sa_ns = sns && *sns ? sns : b->ns;
			sub->kind = SUBJ_SA;
			sub->name = xasprintf("system:serviceaccount:%s:%s", sa_ns, sn);
			sub->describe = xasprintf("ServiceAccount \"%s/%s\"", sn, sa_ns);
		} else {
			continue;
		}
		if (!sub->describe)
			sub->describe = xasprintf("%s \"%s\"", kind, sn);
		b->nsubs++;
	}
}

int rbac_set_add(struct rbac_set *s, const json_t *obj)
{
	const char *kind = api_str(obj, "kind");
	if (!json_is_object(obj))
		return -EINVAL;
	if (!kind || s->sealed)
		return 0;
	if (!strcmp(kind, "Role"))
		add_role(s, obj, false);
	else if (!strcmp(kind, "ClusterRole"))
		add_role(s, obj, true);
	else if (!strcmp(kind, "RoleBinding"))
		add_binding(s, obj, false);
	else if (!strcmp(kind, "ClusterRoleBinding"))
		add_binding(s, obj, true);
	return 0;
}

static int role_cmp(const void *a, const void *b)
{
	const struct role *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

static int binding_cmp(const void *a, const void *b)
{
	const struct binding *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

static const struct role *find_role(const struct rbac_set *s, const char *ns, const char *name)
{
	struct role key = {.ns = (char *)ns, .name = (char *)name};
	if (!s->roles.len)
		return NULL;
	return bsearch(&key, s->roles.v, s->roles.len, sizeof(*s->roles.v), role_cmp);
}

/* Folds the rules of every ClusterRole matching r's selectors into r; true if r grew. */
static bool aggregate_one(struct rbac_set *s, struct role *r)
{
	bool grew = false;
	size_t i;
	json_t *sel;
	json_array_foreach(r->selectors, i, sel)
	{
		struct api_selector *as = NULL;
		char err[128];
		if (api_selector_from_label_selector(sel, &as, err, sizeof(err)) < 0)
			continue;
		for (size_t j = 0; j < s->roles.len; j++) {
			struct role *src = &s->roles.v[j];
			if (src == r || src->ns[0] || !src->labels ||
			    !api_label_selector_match(as, src->labels))
				continue;
			for (size_t k = 0; k < src->rules.len; k++) {
				bool have = false;
				for (size_t m = 0; m < r->rules.len && !have; m++)
					have = rule_equal(&r->rules.v[m], &src->rules.v[k]);
				if (have)
					continue;
				rule_copy(vec_push(&r->rules), &src->rules.v[k]);
				grew = true;
			}
		}
		api_selector_free(as);
	}
	return grew;
}

void rbac_set_seal(struct rbac_set *s)
{
	if (s->sealed)
		return;
	for (int round = 0; round < 8; round++) {
		bool grew = false;
		for (size_t i = 0; i < s->roles.len; i++)
			if (s->roles.v[i].selectors && aggregate_one(s, &s->roles.v[i]))
				grew = true;
		if (!grew)
			break;
	}
	if (s->roles.len)
		qsort(s->roles.v, s->roles.len, sizeof(*s->roles.v), role_cmp);
	if (s->binds.len)
		qsort(s->binds.v, s->binds.len, sizeof(*s->binds.v), binding_cmp);
	for (size_t i = 0; i < s->binds.len; i++) {
		struct binding *b = &s->binds.v[i];
		if (!strcmp(b->role_kind, "ClusterRole"))
			b->role = find_role(s, "", b->role_name);
		else if (!strcmp(b->role_kind, "Role") && b->ns[0])
			b->role = find_role(s, b->ns, b->role_name);
	}
	s->sealed = true;
}

void rbac_set_free(struct rbac_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->roles.len; i++) {
		struct role *r = &s->roles.v[i];
		for (size_t j = 0; j < r->rules.len; j++)
			rule_fini(&r->rules.v[j]);
		vec_free(&r->rules);
		free(r->ns);
		free(r->name);
		json_decref(r->labels);
		json_decref(r->selectors);
	}
	for (size_t i = 0; i < s->binds.len; i++) {
		struct binding *b = &s->binds.v[i];
		for (size_t j = 0; j < b->nsubs; j++) {
			free(b->subs[j].name);
			free(b->subs[j].describe);
		}
		free(b->subs);
		free(b->ns);
		free(b->name);
		free(b->role_kind);
		free(b->role_name);
	}
	vec_free(&s->roles);
	vec_free(&s->binds);
	free(s);
}

/* ---- matching ---- */

static bool verb_matches(const struct rule *r, const char *verb)
{
	return strv_has(&r->verbs, "*") || strv_has(&r->verbs, verb);
}

static bool resource_matches(const struct rule *r, const char *res, const char *sub)
{
	char combined[256];
	if (sub && *sub)
		snprintf(combined, sizeof(combined), "%s/%s", res, sub);
	else
		snprintf(combined, sizeof(combined), "%s", res);
	for (size_t i = 0; i < r->resources.n; i++) {
		const char *x = r->resources.v[i];
		if (!strcmp(x, "*") || !strcmp(x, combined))
			return true;
		if (sub && *sub && x[0] == '*' && x[1] == '/' && !strcmp(x + 2, sub))
			return true;
	}
	return false;
}

static bool url_matches(const struct rule *r, const char *path)
{
	for (size_t i = 0; i < r->urls.n; i++) {
		const char *u = r->urls.v[i];
		size_t n = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, path))
			return true;
		if (n && u[n - 1] == '*' && !strncmp(u, path, n - 1))
			return true;
	}
	return false;
}

static bool rule_allows(const struct rule *r, const struct auth_attrs *a)
{
	if (!a->resource_request)
		return verb_matches(r, a->verb) && url_matches(r, a->path ? a->path : "");
	if (!verb_matches(r, a->verb))
		return false;
	if (!strv_has(&r->groups, "*") && !strv_has(&r->groups, a->group ? a->group : ""))
		return false;
	if (!resource_matches(r, a->resource ? a->resource : "", a->sub))
		return false;
	if (r->names.n == 0)
		return true;
	return a->name && *a->name && strv_has(&r->names, a->name);
}

static const struct subject *applies_to(const struct binding *b, const struct auth_user *u)
{
	for (size_t i = 0; i < b->nsubs; i++) {
		const struct subject *sub = &b->subs[i];
		if (sub->kind == SUBJ_GROUP ? auth_user_in_group(u, sub->name) : !strcmp(sub->name, u->name))
			return sub;
	}
	return NULL;
}

/* The range [*lo, *hi) of bindings in namespace ns (sorted by namespace). */
static void binds_in(const struct rbac_set *s, const char *ns, size_t *lo, size_t *hi)
{
	size_t a = 0, b = s->binds.len;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (strcmp(s->binds.v[m].ns, ns) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	size_t e = a;
	while (e < s->binds.len && !strcmp(s->binds.v[e].ns, ns))
		e++;
	*hi = e;
}

/* Calls fn for each (binding, subject) of u that applies in ns (cluster bindings first,
 * then ns's RoleBindings when ns is not empty); stops when fn returns true. */
static bool each_binding(const struct rbac_set *s, const struct auth_user *u, const char *ns,
			 bool (*fn)(void *ud, const struct binding *b, const struct subject *sub), void *ud)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? "" : ns;
		if (pass == 1 && (!ns || !*ns))
			break;
		size_t lo, hi;
		binds_in(s, want, &lo, &hi);
		for (size_t i = lo; i < hi; i++) {
			const struct binding *b = &s->binds.v[i];
			if (!b->role)
				continue;
			const struct subject *sub = applies_to(b, u);
			if (sub && fn(ud, b, sub))
				return true;
		}
	}
	return false;
}

struct authz_ctx {
	const struct auth_attrs *a;
	char *reason;
	size_t reasonlen;
};

static bool authz_visit(void *ud, const struct binding *b, const struct subject *sub)
{
	struct authz_ctx *x = ud;
	for (size_t i = 0; i < b->role->rules.len; i++) {
		if (!rule_allows(&b->role->rules.v[i], x->a))
			continue;
		if (x->reasonlen) {
			if (b->ns[0])
				snprintf(x->reason, x->reasonlen,
					 "RBAC: allowed by RoleBinding \"%s/%s\" of %s \"%s\" to %s", b->name,
					 b->ns, b->role_kind, b->role_name, sub->describe);
			else
				snprintf(x->reason, x->reasonlen,
					 "RBAC: allowed by ClusterRoleBinding \"%s\" of %s \"%s\" to %s",
					 b->name, b->role_kind, b->role_name, sub->describe);
		}
		return true;
	}
	return false;
}

bool rbac_authorize(const struct rbac_set *s, const struct auth_user *u, const struct auth_attrs *a,
		    char *reason, size_t reasonlen)
{
	if (reasonlen)
		reason[0] = 0;
	if (!s || !a->verb)
		return false;
	struct authz_ctx x = {a, reason, reasonlen};
	const char *ns = a->resource_request ? a->ns : NULL;
	return each_binding(s, u, ns, authz_visit, &x);
}

/* ---- escalation ---- */

struct owner_ctx {
	VEC(const struct rule *) rules;
};

static bool owner_visit(void *ud, const struct binding *b, const struct subject *sub)
{
	struct owner_ctx *x = ud;
	for (size_t i = 0; i < b->role->rules.len; i++) {
		*vec_push(&x->rules) = &b->role->rules.v[i];
	}
	return false;
}

/* kube's resourceCoversAll for one requested resource. */
static bool owner_covers_resource(const struct rule *o, const char *res)
{
	if (strv_has(&o->resources, "*") || strv_has(&o->resources, res))
		return true;
	const char *slash = strchr(res, '/');
	if (!slash)
		return false;
	char star[256];
	snprintf(star, sizeof(star), "*%s", slash);
	return strv_has(&o->resources, star);
}

static bool owner_covers_url(const struct rule *o, const char *url)
{
	for (size_t i = 0; i < o->urls.n; i++) {
		const char *u = o->urls.v[i];
		size_t n = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, url) || (n && u[n - 1] == '*' && !strncmp(u, url, n - 1)))
			return true;
	}
	return false;
}

/* One atomic requested rule (one verb, and one group+resource+name or one URL). */
static bool covered_atomic(const struct owner_ctx *x, const char *verb, const char *group, const char *res,
			   const char *name, const char *url)
{
	for (size_t i = 0; i < x->rules.len; i++) {
		const struct rule *o = x->rules.v[i];
		if (!strv_has(&o->verbs, "*") && !strv_has(&o->verbs, verb))
			continue;
		if (url) {
			if (owner_covers_url(o, url))
				return true;
			continue;
		}
		if (!strv_has(&o->groups, "*") && !strv_has(&o->groups, group))
			continue;
		if (!owner_covers_resource(o, res))
			continue;
		if (o->names.n == 0 || (name && strv_has(&o->names, name)))
			return true;
	}
	return false;
}

/* Go's %q of a []string: ["a" "b"]. */
static void put_goq(struct buf *b, const struct strv *sv)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			buf_putc(b, ' ');
		buf_putc(b, '"');
		for (const char *p = sv->v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, ']');
}

/* kube's rbacv1helpers.CompactString of one rule. */
static void put_compact(struct buf *b, const struct rule *r)
{
	bool first = true;
	buf_putc(b, '{');
	struct {
		const char *label;
		const struct strv *sv;
	} parts[] = {{"APIGroups", &r->groups},
		     {"Resources", &r->resources},
		     {"NonResourceURLs", &r->urls},
		     {"ResourceNames", &r->names},
		     {"Verbs", &r->verbs}};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].sv->n)
			continue;
		buf_printf(b, "%s%s:", first ? "" : ", ", parts[i].label);
		put_goq(b, parts[i].sv);
		first = false;
	}
	buf_putc(b, '}');
}

static void put_missing(struct buf *b, const char *group, const char *res, const char *name, const char *url,
			struct strv *verbs)
{
	if (!b || !verbs->n)
		return;
	char *g[] = {(char *)group}, *rs[] = {(char *)res}, *nm[] = {(char *)name}, *u[] = {(char *)url};
	struct rule r = {.verbs = *verbs};
	if (url) {
		r.urls = (struct strv){u, 1};
	} else {
		r.groups = (struct strv){g, 1};
		r.resources = (struct strv){rs, 1};
		if (name)
			r.names = (struct strv){nm, 1};
	}
	if (b->len)
		buf_putc(b, '\n');
	put_compact(b, &r);
}

/* Walks rules (a JSON array) broken down as kube's BreakdownRule does (group x resource x
 * name, or URL, each with its verbs) and calls emit with the verbs x does not cover, for
 * each part that has some. Returns true when x covers every rule. */
typedef void (*missing_fn)(void *ud, const char *group, const char *res, const char *name, const char *url,
			   struct strv *verbs);
static bool each_missing(const struct owner_ctx *x, const json_t *rules, missing_fn emit, void *ud)
{
	bool ok = true;
	size_t i;
	json_t *jr;
	json_array_foreach(rules, i, jr)
	{
		struct rule r;
		rule_from(&r, jr);
		/* Resource part: group x resource x (name | none), verbs gathered per triple. */
		for (size_t g = 0; g < r.groups.n; g++) {
			for (size_t re = 0; re < r.resources.n; re++) {
				size_t nn = r.names.n ? r.names.n : 1;
				for (size_t n = 0; n < nn; n++) {
					const char *name = r.names.n ? r.names.v[n] : NULL;
					char *miss[64];
					struct strv mv = {miss, 0};
					for (size_t v = 0; v < r.verbs.n; v++)
						if (!covered_atomic(x, r.verbs.v[v], r.groups.v[g],
								    r.resources.v[re], name, NULL) &&
						    mv.n < 64)
							miss[mv.n++] = r.verbs.v[v];
					if (mv.n) {
						ok = false;
						emit(ud, r.groups.v[g], r.resources.v[re], name, NULL, &mv);
					}
				}
			}
		}
		for (size_t ui = 0; ui < r.urls.n; ui++) {
			char *miss[64];
			struct strv mv = {miss, 0};
			for (size_t v = 0; v < r.verbs.n; v++)
				if (!covered_atomic(x, r.verbs.v[v], NULL, NULL, NULL, r.urls.v[ui]) &&
				    mv.n < 64)
					miss[mv.n++] = r.verbs.v[v];
			if (mv.n) {
				ok = false;
				emit(ud, NULL, NULL, NULL, r.urls.v[ui], &mv);
			}
		}
		rule_fini(&r);
	}
	return ok;
}

static void emit_compact(void *ud, const char *group, const char *res, const char *name, const char *url,
			 struct strv *verbs)
{
	put_missing(ud, group, res, name, url, verbs);
}

bool rbac_rules_covered(const struct rbac_set *s, const struct auth_user *u, const char *ns,
			const json_t *rules, struct buf *missing)
{
	struct owner_ctx x = {0};
	each_binding(s, u, ns, owner_visit, &x);
	bool ok = each_missing(&x, rules, emit_compact, missing);
	vec_free(&x.rules);
	return ok;
}

/* One atomic rule per missing verb (kube's Covers gives the broken-down rules). */
static void emit_rules(void *ud, const char *group, const char *res, const char *name, const char *url,
		       struct strv *verbs)
{
	for (size_t v = 0; v < verbs->n; v++) {
		json_t *r = json_object();
		if (url) {
			json_object_set_new(r, "nonResourceURLs", json_pack("[s]", url));
		} else {
			json_object_set_new(r, "apiGroups", json_pack("[s]", group));
			json_object_set_new(r, "resources", json_pack("[s]", res));
			if (name)
				json_object_set_new(r, "resourceNames", json_pack("[s]", name));
		}
		json_object_set_new(r, "verbs", json_pack("[s]", verbs->v[v]));
		json_array_append_new(ud, r);
	}
}

/* Adds to dst (an object) the keys of src it lacks; true when it added one. */
static bool merge_missing_keys(json_t *dst, const json_t *src)
{
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v)
	{
		if (!json_object_get(dst, k)) {
			json_object_set(dst, k, v);
			changed = true;
		}
	}
	return changed;
}

/* Sets obj.metadata.<field> to itself plus expected's missing keys; true when changed. */
static bool merge_meta(json_t *obj, const json_t *expected, const char *field)
{
	const json_t *want = json_object_get(json_object_get(expected, "metadata"), field);
	if (!json_object_size(want))
		return false;
	json_t *meta = json_object_get(obj, "metadata");
	json_t *have = json_object_get(meta, field);
	if (!json_is_object(have)) {
		have = json_object();
		json_object_set_new(meta, field, have);
	}
	return merge_missing_keys(have, want);
}

/* o[key] as an array, made empty when missing or not an array. */
static json_t *array_at(json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	return a;
}

static bool same_json(const json_t *a, const json_t *b)
{
	return json_equal(a, b);
}

/* Subjects are the same one when kind, name and namespace are (apiGroup is defaulted). */
static bool same_subject(const json_t *a, const json_t *b)
{
	static const char *const keys[] = {"kind", "name", "namespace"};
	for (size_t i = 0; i < 3; i++)
		if (strcmp(json_string_value(json_object_get(a, keys[i])) ?: "",
			   json_string_value(json_object_get(b, keys[i])) ?: "") != 0)
			return false;
	return true;
}

/* Appends to have each element of want it has no same() of; true when it appended. */
static bool append_missing(json_t *have, const json_t *want, bool (*same)(const json_t *, const json_t *))
{
	bool changed = false;
	size_t i, j;
	json_t *w, *h;
	json_array_foreach(want, i, w)
	{
		bool found = false;
		json_array_foreach(have, j, h) found = found || same(h, w);
		if (!found) {
			json_array_append(have, w);
			changed = true;
		}
	}
	return changed;
}

json_t *rbac_reconcile(const json_t *existing, const json_t *expected, bool *recreate)
{
	*recreate = false;
	const json_t *ann = json_object_get(json_object_get(existing, "metadata"), "annotations");
	const char *au =
	    json_string_value(json_object_get(ann, "rbac.authorization.kubernetes.io/autoupdate"));
	if (au && !strcmp(au, "false"))
		return NULL;
	json_t *o = json_deep_copy(existing);
	if (!json_is_object(json_object_get(o, "metadata")))
		json_object_set_new(o, "metadata", json_object());
	bool changed = merge_meta(o, expected, "labels");
	changed |= merge_meta(o, expected, "annotations");
	const char *kind = json_string_value(json_object_get(expected, "kind"));
	if (kind && (!strcmp(kind, "ClusterRole") || !strcmp(kind, "Role"))) {
		/* Missing rules, appended as atomic rules. */
		json_t *have = json_object_get(o, "rules");
		size_t nh = json_array_size(have);
		struct rule *hr = xcalloc(nh + 1, sizeof(*hr));
		struct owner_ctx x = {0};
		for (size_t i = 0; i < nh; i++) {
			rule_from(&hr[i], json_array_get(have, i));
			*vec_push(&x.rules) = &hr[i];
		}
		json_t *miss = json_array();
		each_missing(&x, json_object_get(expected, "rules"), emit_rules, miss);
		for (size_t i = 0; i < nh; i++)
			rule_fini(&hr[i]);
		free(hr);
		vec_free(&x.rules);
		if (json_array_size(miss)) {
			json_array_extend(array_at(o, "rules"), miss);
			changed = true;
		}
		json_decref(miss);
		/* Aggregation: selectors expected but missing are added; an aggregation the
		 * default does not have is removed. */
		const json_t *want_agg = json_object_get(expected, "aggregationRule");
		json_t *agg = json_object_get(o, "aggregationRule");
		if (!want_agg && agg) {
			json_object_del(o, "aggregationRule");
			changed = true;
		} else if (want_agg) {
			if (!json_is_object(agg)) {
				agg = json_object();
				json_object_set_new(o, "aggregationRule", agg);
			}
			changed |=
			    append_missing(array_at(agg, "clusterRoleSelectors"),
					   json_object_get(want_agg, "clusterRoleSelectors"), same_json);
		}
	} else {
		/* A binding: expected's roleRef (immutable: delete and create), missing subjects. */
		const json_t *want_ref = json_object_get(expected, "roleRef");
		if (want_ref && !json_equal(json_object_get(o, "roleRef"), want_ref)) {
			json_object_set(o, "roleRef", (json_t *)want_ref);
			*recreate = changed = true;
		}
		changed |= append_missing(array_at(o, "subjects"), json_object_get(expected, "subjects"),
					  same_subject);
	}
	if (!changed) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *rbac_role_rules(const struct rbac_set *s, const char *kind, const char *ns, const char *name)
{
	const struct role *r = NULL;
	if (kind && !strcmp(kind, "ClusterRole"))
		r = find_role(s, "", name);
	else if (kind && !strcmp(kind, "Role") && ns && *ns)
		r = find_role(s, ns, name);
	if (!r)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < r->rules.len; i++)
		json_array_append_new(a, rule_json(&r->rules.v[i]));
	return a;
}

json_t *rbac_user_rules(const struct rbac_set *s, const struct auth_user *u, const char *ns)
{
	struct owner_ctx x = {0};
	each_binding(s, u, ns, owner_visit, &x);
	json_t *a = json_array();
	for (size_t i = 0; i < x.rules.len; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = rule_equal(x.rules.v[i], x.rules.v[j]);
		if (!dup)
			json_array_append_new(a, rule_json(x.rules.v[i]));
	}
	vec_free(&x.rules);
	return a;
}

char *auth_forbidden_message(const struct auth_user *u, const struct auth_attrs *a, const char *reason)
{
	struct buf b;
	buf_init(&b);
	if (!a->resource_request) {
		buf_printf(&b, "User \"%s\" cannot %s path \"%s\"", u->name, a->verb, a->path ? a->path : "");
	} else {
		char res[300];
		if (a->sub && *a->sub)
			snprintf(res, sizeof(res), "%s/%s", a->resource, a->sub);
		else
			snprintf(res, sizeof(res), "%s", a->resource ? a->resource : "");
		buf_printf(&b, "User \"%s\" cannot %s resource \"%s\" in API group \"%s\"", u->name, a->verb,
			   res, a->group ? a->group : "");
		if (a->ns && *a->ns)
			buf_printf(&b, " in the namespace \"%s\"", a->ns);
		else
			buf_puts(&b, " at the cluster scope");
	}
	if (reason && *reason)
		buf_printf(&b, ": %s", reason);
	return buf_take(&b);
}
