/* rbac.c - defaults and validation of the RBAC kinds (see rbac.h). */
#include "api/rbac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

bool api_kind_is_rbac(const struct api_kind *k)
{
	return !strcmp(k->group, API_RBAC_GROUP);
}

void api_rbac_default(const struct api_kind *k, json_t *obj)
{
	if (!api_kind_is_rbac(k))
		return;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(obj, "subjects"), i, s)
	{
		const char *kind = api_str(s, "kind");
		if (!json_is_object(s) || api_str(s, "apiGroup") || !kind)
			continue;
		if (!strcmp(kind, "User") || !strcmp(kind, "Group"))
			json_object_set_new(s, "apiGroup", json_string(API_RBAC_GROUP));
		else if (!strcmp(kind, "ServiceAccount"))
			json_object_set_new(s, "apiGroup", json_string(""));
	}
}

const char *api_check_path_segment_name(const char *name)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "may not be '.' or '..'";
	if (strchr(name, '/'))
		return "may not contain '/'";
	if (strchr(name, '%'))
		return "may not contain '%'";
	return NULL;
}

static char *fld(const char *fmt, size_t i, const char *leaf)
{
	return xasprintf(fmt, i, leaf);
}

static void validate_rule(const json_t *r, size_t i, bool namespaced, struct api_errs *e)
{
	char *f;
	if (json_array_size(json_object_get(r, "verbs")) == 0) {
		f = fld("rules[%zu].%s", i, "verbs");
		api_err_required(e, f, "verbs must contain at least one value");
		free(f);
	}
	json_t *urls = json_object_get(r, "nonResourceURLs");
	if (json_array_size(urls) > 0) {
		f = fld("rules[%zu].%s", i, "nonResourceURLs");
		if (namespaced)
			api_err_invalid(e, f, urls, "namespaced rules cannot apply to non-resource URLs");
		if (json_array_size(json_object_get(r, "apiGroups")) ||
		    json_array_size(json_object_get(r, "resources")) ||
		    json_array_size(json_object_get(r, "resourceNames")))
			api_err_invalid(e, f, urls,
					"rules cannot apply to both regular resources and non-resource URLs");
		free(f);
		return;
	}
	if (json_array_size(json_object_get(r, "apiGroups")) == 0) {
		f = fld("rules[%zu].%s", i, "apiGroups");
		api_err_required(e, f, "resource rules must supply at least one api group");
		free(f);
	}
	if (json_array_size(json_object_get(r, "resources")) == 0) {
		f = fld("rules[%zu].%s", i, "resources");
		api_err_required(e, f, "resource rules must supply at least one resource");
		free(f);
	}
}

static void validate_subject(const json_t *s, size_t i, bool cluster, struct api_errs *e)
{
	const char *kind = api_str(s, "kind"), *name = api_str(s, "name"), *group = api_str(s, "apiGroup");
	const char *ns = api_str(s, "namespace");
	char *f;
	if (!name || !*name) {
		f = fld("subjects[%zu].%s", i, "name");
		api_err_required(e, f, NULL);
		free(f);
	}
	static const char *const kinds[] = {"ServiceAccount", "User", "Group", NULL};
	if (!kind || (strcmp(kind, "ServiceAccount") && strcmp(kind, "User") && strcmp(kind, "Group"))) {
		f = fld("subjects[%zu].%s", i, "kind");
		api_err_not_supported(e, f, json_object_get(s, "kind"), kinds);
		free(f);
		return;
	}
	if (!strcmp(kind, "ServiceAccount")) {
		if (group && *group) {
			static const char *const none[] = {"", NULL};
			f = fld("subjects[%zu].%s", i, "apiGroup");
			api_err_not_supported(e, f, json_object_get(s, "apiGroup"), none);
			free(f);
		}
		if (name && *name) {
			const char *m = api_check_dns1123_subdomain(name);
			if (m) {
				f = fld("subjects[%zu].%s", i, "name");
				api_err_invalid(e, f, json_object_get(s, "name"), m);
				free(f);
			}
		}
		if (cluster && (!ns || !*ns)) {
			f = fld("subjects[%zu].%s", i, "namespace");
			api_err_required(e, f, "");
			free(f);
		}
		return;
	}
	if (!group || strcmp(group, API_RBAC_GROUP) != 0) {
		static const char *const rbac[] = {API_RBAC_GROUP, NULL};
		f = fld("subjects[%zu].%s", i, "apiGroup");
		json_t *v = json_object_get(s, "apiGroup");
		json_t *empty = v ? NULL : json_string("");
		api_err_not_supported(e, f, v ? v : empty, rbac);
		json_decref(empty);
		free(f);
	}
}

void api_rbac_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	bool cluster = !k->namespaced;
	if (!strcmp(k->kind, "Role") || !strcmp(k->kind, "ClusterRole")) {
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(obj, "rules"), i, r) validate_rule(r, i, !cluster, e);
		return;
	}
	/* Bindings. */
	const char *g = api_str(obj, "roleRef.apiGroup"), *kind = api_str(obj, "roleRef.kind"),
		   *name = api_str(obj, "roleRef.name");
	static const char *const rbac[] = {API_RBAC_GROUP, NULL};
	static const char *const both[] = {"Role", "ClusterRole", NULL};
	static const char *const cr[] = {"ClusterRole", NULL};
	if (!g || strcmp(g, API_RBAC_GROUP) != 0) {
		json_t *v = api_get(obj, "roleRef.apiGroup"), *empty = v ? NULL : json_string("");
		api_err_not_supported(e, "roleRef.apiGroup", v ? v : empty, rbac);
		json_decref(empty);
	}
	if (!kind || (strcmp(kind, "ClusterRole") && (cluster || strcmp(kind, "Role")))) {
		json_t *v = api_get(obj, "roleRef.kind"), *empty = v ? NULL : json_string("");
		api_err_not_supported(e, "roleRef.kind", v ? v : empty, cluster ? cr : both);
		json_decref(empty);
	}
	if (!name || !*name) {
		api_err_required(e, "roleRef.name", "");
	} else {
		const char *m = api_check_path_segment_name(name);
		if (m)
			api_err_invalid(e, "roleRef.name", api_get(obj, "roleRef.name"), m);
	}
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(obj, "subjects"), i, s) validate_subject(s, i, cluster, e);
	if (old && !json_equal(json_object_get(old, "roleRef"), json_object_get(obj, "roleRef")))
		api_err_invalid(e, "roleRef", json_object_get(obj, "roleRef"), "cannot change roleRef");
}
