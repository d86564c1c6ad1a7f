/* audit.c - audit policy evaluation (see audit.h). */
#include "auth/audit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = {"None", "Metadata", "Request", "RequestResponse"};

const char *auth_audit_level_name(enum auth_audit_level l)
{
	return level_names[l];
}

static int level_of(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return -1;
}

int auth_audit_policy_check(const json_t *policy, char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(policy, "kind"));
	const char *av = json_string_value(json_object_get(policy, "apiVersion"));
	if (!json_is_object(policy) || !kind || strcmp(kind, "Policy") || !av ||
	    strcmp(av, "audit.k8s.io/v1")) {
		snprintf(err, errlen, "not an audit.k8s.io/v1 Policy");
		return -EINVAL;
	}
	json_t *rules = json_object_get(policy, "rules");
	if (!json_is_array(rules)) {
		snprintf(err, errlen, "rules: Required value");
		return -EINVAL;
	}
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r)
	{
		const char *lv = json_string_value(json_object_get(r, "level"));
		if (level_of(lv) < 0) {
			snprintf(err, errlen,
				 "rules[%zu].level: Unsupported value: \"%s\": supported values: \"None\", "
				 "\"Metadata\", \"Request\", \"RequestResponse\"",
				 i, lv ? lv : "");
			return -EINVAL;
		}
		if (json_object_get(r, "nonResourceURLs") &&
		    (json_object_get(r, "resources") || json_object_get(r, "namespaces"))) {
			snprintf(
			    err, errlen,
			    "rules[%zu].nonResourceURLs: Invalid value: rules cannot apply to both regular "
			    "resources and non-resource URLs",
			    i);
			return -EINVAL;
		}
	}
	return 0;
}

static bool in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i,
			   x) if (json_is_string(x) && !strcmp(json_string_value(x), s ? s : "")) return true;
	return false;
}

static bool group_resource_matches(const json_t *grs, const struct auth_attrs *a)
{
	size_t i;
	json_t *gr;
	json_array_foreach(grs, i, gr)
	{
		const char *g = json_string_value(json_object_get(gr, "group"));
		if (strcmp(g ? g : "", a->group ? a->group : ""))
			continue;
		json_t *res = json_object_get(gr, "resources");
		bool ok = json_array_size(res) == 0;
		size_t j;
		json_t *x;
		json_array_foreach(res, j, x)
		{
			const char *r = json_string_value(x);
			if (!r)
				continue;
			char combined[300];
			bool has_sub = a->sub && *a->sub;
			snprintf(combined, sizeof(combined), "%s%s%s", a->resource ? a->resource : "",
				 has_sub ? "/" : "", has_sub ? a->sub : "");
			size_t rl = strlen(r);
			if (!strcmp(r, "*") || !strcmp(r, combined) ||
			    (has_sub && rl > 2 && !strcmp(r + rl - 2, "/*") &&
			     !strncmp(r, a->resource, rl - 2) && strlen(a->resource) == rl - 2) ||
			    (has_sub && !strncmp(r, "*/", 2) && !strcmp(r + 2, a->sub)))
				ok = true;
		}
		json_t *names = json_object_get(gr, "resourceNames");
		if (ok && json_array_size(names) && !in(names, a->name))
			ok = false;
		if (ok)
			return true;
	}
	return false;
}

static bool url_matches(const json_t *urls, const char *path)
{
	size_t i;
	json_t *x;
	json_array_foreach(urls, i, x)
	{
		const char *u = json_string_value(x);
		size_t n = u ? strlen(u) : 0;
		if (u && (!strcmp(u, "*") || !strcmp(u, path) ||
			  (n && u[n - 1] == '*' && !strncmp(u, path, n - 1))))
			return true;
	}
	return false;
}

static bool rule_matches(const json_t *r, const struct auth_user *u, const struct auth_attrs *a)
{
	json_t *users = json_object_get(r, "users"), *groups = json_object_get(r, "userGroups");
	json_t *verbs = json_object_get(r, "verbs"), *nss = json_object_get(r, "namespaces");
	json_t *res = json_object_get(r, "resources"), *urls = json_object_get(r, "nonResourceURLs");
	if (json_array_size(users) && !in(users, u->name))
		return false;
	if (json_array_size(groups)) {
		bool any = false;
		for (size_t i = 0; i < u->groups.len && !any; i++)
			any = in(groups, u->groups.v[i]);
		if (!any)
			return false;
	}
	if (json_array_size(verbs) && !in(verbs, a->verb))
		return false;
	if (a->resource_request) {
		if (json_array_size(urls))
			return false;
		if (json_array_size(nss) && !in(nss, a->ns ? a->ns : ""))
			return false;
		if (json_array_size(res) && !group_resource_matches(res, a))
			return false;
		return true;
	}
	if (json_array_size(res) || json_array_size(nss))
		return false;
	return !json_array_size(urls) || url_matches(urls, a->path ? a->path : "");
}

enum auth_audit_level auth_audit_level(const json_t *policy, const struct auth_user *u,
				       const struct auth_attrs *a)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(policy, "rules"), i, r) if (rule_matches(r, u, a))
	{
		int l = level_of(json_string_value(json_object_get(r, "level")));
		return l < 0 ? AUTH_AUDIT_NONE : (enum auth_audit_level)l;
	}
	return AUTH_AUDIT_NONE;
}
