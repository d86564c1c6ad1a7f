/* workloads.c - defaulting and validation of workload kinds, ConfigMaps, Secrets and
 * ServiceAccounts; the scale subresource's Scale (see workloads.h).
 *
 * Messages and field paths follow k8s.io/kubernetes pkg/apis/apps/validation and
 * pkg/apis/core/validation (ValidatePodTemplateSpecForReplicaSet, ValidateConfigMap,
 * ValidateSecret, ValidateScale) so kubectl prints what it prints against a real cluster.
 */
#include "api/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "api/selector.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

static bool is(const struct api_kind *k, const char *group, const char *kind)
{
	return strcmp(k->group, group) == 0 && strcmp(k->kind, kind) == 0;
}

bool api_kind_is_workload(const struct api_kind *k)
{
	return is(k, "", "ReplicationController") || is(k, "apps", "ReplicaSet") ||
	       is(k, "apps", "Deployment") || is(k, "apps", "StatefulSet") || is(k, "apps", "DaemonSet");
}

bool api_kind_has_scale(const struct api_kind *k)
{
	return api_kind_is_workload(k) && !is(k, "apps", "DaemonSet");
}

bool api_kind_is_workloads_kind(const struct api_kind *k)
{
	return api_kind_is_workload(k) || is(k, "", "ConfigMap") || is(k, "", "Secret") ||
	       is(k, "", "ServiceAccount") || is(k, "apps", "ControllerRevision");
}

/* ---- defaults ---- */

static void set_default_int(json_t *o, const char *key, json_int_t v)
{
	if (!json_is_integer(json_object_get(o, key)))
		json_object_set_new(o, key, json_integer(v));
}

static void set_default_str(json_t *o, const char *key, const char *v)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s || !*s)
		json_object_set_new(o, key, json_string(v));
}

void api_workload_prepare_create(const struct api_kind *k, json_t *obj)
{
	if (is(k, "apps", "Deployment"))
		json_object_set_new(obj, "status", json_object());
	else if (is(k, "apps", "DaemonSet"))
		json_object_set_new(obj, "status",
				    json_pack("{s:i, s:i, s:i, s:i}", "currentNumberScheduled", 0,
					      "numberMisscheduled", 0, "desiredNumberScheduled", 0,
					      "numberReady", 0));
	else if (api_kind_is_workload(k))
		json_object_set_new(obj, "status", json_pack("{s:i}", "replicas", 0));
}

static void default_secret(json_t *obj)
{
	set_default_str(obj, "type", "Opaque");
	json_t *sd = json_object_get(obj, "stringData");
	if (json_is_object(sd) && json_object_size(sd)) {
		json_t *data = api_obj(obj, "data");
		const char *key;
		json_t *v;
		json_object_foreach(sd, key, v)
		{
			const char *s = json_string_value(v) ?: "";
			char *b = api_base64_encode((const unsigned char *)s, strlen(s));
			json_object_set_new(data, key, json_string(b));
			free(b);
		}
	}
	json_object_del(obj, "stringData");
}

void api_workload_default(const struct api_kind *k, json_t *obj)
{
	if (is(k, "", "Secret")) {
		default_secret(obj);
		return;
	}
	if (!api_kind_is_workload(k))
		return;
	json_t *spec = api_obj(obj, "spec");
	json_t *tmpl_labels = api_get(obj, "spec.template.metadata.labels");
	if (is(k, "", "ReplicationController")) {
		/* core/v1 SetDefaults_ReplicationController: selector and labels from the template. */
		if (json_object_size(tmpl_labels)) {
			if (!json_object_size(json_object_get(spec, "selector")))
				json_object_set_new(spec, "selector", json_deep_copy(tmpl_labels));
			json_t *meta = api_obj(obj, "metadata");
			if (!json_object_size(json_object_get(meta, "labels")))
				json_object_set_new(meta, "labels", json_deep_copy(tmpl_labels));
		}
	}
	if (!is(k, "apps", "DaemonSet"))
		set_default_int(spec, "replicas", 1);
	if (is(k, "apps", "Deployment")) {
		json_t *st = api_obj(spec, "strategy");
		set_default_str(st, "type", "RollingUpdate");
		if (!strcmp(api_str(st, "type"), "RollingUpdate")) {
			json_t *ru = api_obj(st, "rollingUpdate");
			if (!json_object_get(ru, "maxUnavailable"))
				json_object_set_new(ru, "maxUnavailable", json_string("25%"));
			if (!json_object_get(ru, "maxSurge"))
				json_object_set_new(ru, "maxSurge", json_string("25%"));
		}
		set_default_int(spec, "revisionHistoryLimit", 10);
		set_default_int(spec, "progressDeadlineSeconds", 600);
	} else if (is(k, "apps", "StatefulSet")) {
		set_default_str(spec, "podManagementPolicy", "OrderedReady");
		json_t *us = api_obj(spec, "updateStrategy");
		set_default_str(us, "type", "RollingUpdate");
		if (!strcmp(api_str(us, "type"), "RollingUpdate"))
			set_default_int(api_obj(us, "rollingUpdate"), "partition", 0);
		set_default_int(spec, "revisionHistoryLimit", 10);
		json_t *rp = api_obj(spec, "persistentVolumeClaimRetentionPolicy");
		set_default_str(rp, "whenDeleted", "Retain");
		set_default_str(rp, "whenScaled", "Retain");
	} else if (is(k, "apps", "DaemonSet")) {
		json_t *us = api_obj(spec, "updateStrategy");
		set_default_str(us, "type", "RollingUpdate");
		if (!strcmp(api_str(us, "type"), "RollingUpdate")) {
			json_t *ru = api_obj(us, "rollingUpdate");
			if (!json_object_get(ru, "maxUnavailable"))
				json_object_set_new(ru, "maxUnavailable", json_integer(1));
			if (!json_object_get(ru, "maxSurge"))
				json_object_set_new(ru, "maxSurge", json_integer(0));
		}
		set_default_int(spec, "revisionHistoryLimit", 10);
	}
}

/* ---- validation ---- */

static const char *const config_key_msg =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

static const char *check_config_key(const char *key)
{
	size_t n = strlen(key);
	if (!n)
		return config_key_msg;
	if (n > 253)
		return "must be no more than 253 characters";
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return config_key_msg;
	}
	if (!strcmp(key, "."))
		return "must not be '.'";
	if (!strcmp(key, ".."))
		return "must not be '..'";
	if (!strncmp(key, "..", 2))
		return "must not start with '..'";
	return NULL;
}

#define MAX_DATA_SIZE (1024 * 1024)

static void validate_data_map(const json_t *obj, const char *field, bool base64, size_t *total,
			      struct api_errs *e)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(obj, field), key, v)
	{
		const char *m = check_config_key(key);
		if (m) {
			char *f = xasprintf("%s[%s]", field, key);
			json_t *kv = json_string(key);
			api_err_invalid(e, f, kv, m);
			json_decref(kv);
			free(f);
		}
		const char *s = json_string_value(v);
		if (!s) {
			char *f = xasprintf("%s[%s]", field, key);
			api_err_invalid(e, f, v, "must be a string");
			free(f);
			continue;
		}
		if (base64) {
			unsigned char *b;
			size_t len;
			if (api_base64_decode(s, &b, &len) < 0) {
				char *f = xasprintf("%s[%s]", field, key);
				api_err_invalid(e, f, NULL, "illegal base64 data");
				free(f);
				continue;
			}
			free(b);
			*total += len;
		} else {
			*total += strlen(s);
		}
	}
}

static void validate_immutable_data(const json_t *obj, const json_t *old, const char *const *fields,
				    struct api_errs *e)
{
	if (!old || !json_is_true(json_object_get(old, "immutable")))
		return;
	if (!json_is_true(json_object_get(obj, "immutable")))
		api_err_forbidden(e, "immutable", "field is immutable when `immutable` is set");
	for (size_t i = 0; fields[i]; i++) {
		json_t *a = json_object_get(obj, fields[i]), *b = json_object_get(old, fields[i]);
		bool ea = !json_object_size(a), eb = !json_object_size(b);
		if (!(ea && eb) && !json_equal(a, b))
			api_err_forbidden(e, fields[i], "field is immutable when `immutable` is set");
	}
}

static void validate_config_map(const json_t *obj, const json_t *old, struct api_errs *e)
{
	size_t total = 0;
	validate_data_map(obj, "data", false, &total, e);
	validate_data_map(obj, "binaryData", true, &total, e);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(obj, "data"), key, v)
	{
		if (json_object_get(json_object_get(obj, "binaryData"), key)) {
			char *f = xasprintf("data[%s]", key);
			json_t *kv = json_string(key);
			api_err_invalid(e, f, kv, "duplicate of key present in binaryData");
			json_decref(kv);
			free(f);
		}
	}
	if (total > MAX_DATA_SIZE)
		api_err_too_long(e, "", MAX_DATA_SIZE);
	static const char *const fields[] = {"data", "binaryData", NULL};
	validate_immutable_data(obj, old, fields, e);
}

static void validate_secret(const json_t *obj, const json_t *old, struct api_errs *e)
{
	size_t total = 0;
	validate_data_map(obj, "data", true, &total, e);
	if (total > MAX_DATA_SIZE)
		api_err_too_long(e, "data", MAX_DATA_SIZE);
	const char *type = api_str(obj, "type") ?: "Opaque";
	const json_t *data = json_object_get(obj, "data");
	if (!strcmp(type, "kubernetes.io/service-account-token")) {
		if (!json_object_get(api_get(obj, "metadata.annotations"),
				     "kubernetes.io/service-account.name"))
			api_err_required(e, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
	} else if (!strcmp(type, "kubernetes.io/dockerconfigjson")) {
		if (!json_object_get(data, ".dockerconfigjson"))
			api_err_required(e, "data[.dockerconfigjson]", NULL);
	} else if (!strcmp(type, "kubernetes.io/dockercfg")) {
		if (!json_object_get(data, ".dockercfg"))
			api_err_required(e, "data[.dockercfg]", NULL);
	} else if (!strcmp(type, "kubernetes.io/basic-auth")) {
		if (!json_object_get(data, "username") && !json_object_get(data, "password"))
			api_err_required(e, "data[username]", NULL);
	} else if (!strcmp(type, "kubernetes.io/ssh-auth")) {
		if (!json_object_get(data, "ssh-privatekey"))
			api_err_required(e, "data[ssh-privatekey]", NULL);
	} else if (!strcmp(type, "kubernetes.io/tls")) {
		if (!json_object_get(data, "tls.crt"))
			api_err_required(e, "data[tls.crt]", NULL);
		if (!json_object_get(data, "tls.key"))
			api_err_required(e, "data[tls.key]", NULL);
	}
	if (old) {
		const char *ot = api_str(old, "type") ?: "Opaque";
		if (strcmp(ot, type))
			api_err_invalid(e, "type", json_object_get(obj, "type"), "field is immutable");
	}
	static const char *const fields[] = {"data", NULL};
	validate_immutable_data(obj, old, fields, e);
}

json_t *api_workload_selector(const struct api_kind *k, const json_t *obj)
{
	json_t *sel = api_get(obj, "spec.selector");
	if (!sel || json_is_null(sel))
		return NULL;
	if (is(k, "", "ReplicationController"))
		return json_pack("{s:O}", "matchLabels", sel);
	return json_incref(sel);
}

static bool selector_is_empty(const json_t *ls)
{
	return !json_object_size(json_object_get(ls, "matchLabels")) &&
	       !json_array_size(json_object_get(ls, "matchExpressions"));
}

/* IsValidPercent / intstr checks of ValidateRollingUpdateDeployment. Returns the value as
 * an integer or percentage (*pct), -1 when invalid (error added). */
static int intstr_check(const json_t *v, const char *field, struct api_errs *e, bool *pct)
{
	*pct = false;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0) {
			api_err_invalid(e, field, v, "must be greater than or equal to 0");
			return -1;
		}
		return (int)(n > 1 << 30 ? 1 << 30 : n);
	}
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	char *end = NULL;
	long p = n > 1 && s[n - 1] == '%' ? strtol(s, &end, 10) : -1;
	if (p < 0 || end != s + n - 1) {
		api_err_invalid(
		    e, field, v,
		    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
		return -1;
	}
	*pct = true;
	if (p > 100) {
		api_err_invalid(e, field, v, "must not be greater than 100%");
		return -1;
	}
	return (int)p;
}

static void validate_nonneg(const json_t *spec, const char *key, const char *field, struct api_errs *e)
{
	json_t *v = json_object_get(spec, key);
	if (json_is_integer(v) && json_integer_value(v) < 0)
		api_err_invalid(e, field, v, "must be greater than or equal to 0");
}

static void validate_template(const struct api_kind *k, const json_t *obj, struct api_errs *e)
{
	const json_t *tmpl = api_get(obj, "spec.template");
	if (!tmpl || json_is_null(tmpl)) {
		api_err_required(e, "spec.template", NULL);
		return;
	}
	api_validate_labels(api_get(tmpl, "metadata.labels"), "spec.template.metadata.labels", e);
	json_t *cs = api_get(tmpl, "spec.containers");
	if (json_array_size(cs) == 0)
		api_err_required(e, "spec.template.spec.containers", NULL);
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		const char *n = api_str(c, "name");
		char *f = xasprintf("spec.template.spec.containers[%zu].name", i);
		if (!n || !*n)
			api_err_required(e, f, NULL);
		else if (api_check_dns1123_label(n))
			api_err_invalid(e, f, json_object_get(c, "name"), api_check_dns1123_label(n));
		free(f);
		if (!api_str(c, "image") || !*api_str(c, "image")) {
			f = xasprintf("spec.template.spec.containers[%zu].image", i);
			api_err_required(e, f, NULL);
			free(f);
		}
	}
	/* Workloads keep their pods running: only restartPolicy Always. */
	const char *rp = api_str(tmpl, "spec.restartPolicy");
	if (rp && strcmp(rp, "Always")) {
		static const char *const always[] = {"Always", NULL};
		api_err_not_supported(e, "spec.template.spec.restartPolicy",
				      api_get(tmpl, "spec.restartPolicy"), always);
	}
	/* The selector must select the template's pods. */
	json_t *ls = api_workload_selector(k, obj);
	if (ls) {
		struct api_selector *sel = NULL;
		char err[256];
		if (api_selector_from_label_selector(ls, &sel, err, sizeof(err)) < 0)
			api_err_invalid(e, "spec.selector",
					json_object_get(json_object_get(obj, "spec"), "selector"), err);
		else if (!api_label_selector_match(sel, api_get(tmpl, "metadata.labels")))
			api_err_invalid(e, "spec.template.metadata.labels", api_get(tmpl, "metadata.labels"),
					"`selector` does not match template `labels`");
		api_selector_free(sel);
		json_decref(ls);
	}
}

static void validate_workload(const struct api_kind *k, const json_t *obj, const json_t *old,
			      struct api_errs *e)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *sel = json_object_get(spec, "selector");
	bool rc = is(k, "", "ReplicationController");
	if (!sel || json_is_null(sel)) {
		api_err_required(e, "spec.selector", NULL);
	} else if (rc ? !json_object_size(sel) : selector_is_empty(sel)) {
		char *m = xasprintf("empty selector is invalid for %s",
				    rc ? "replication controller" : k->singular);
		if (rc)
			api_err_required(e, "spec.selector", NULL);
		else
			api_err_invalid(e, "spec.selector", sel, m);
		free(m);
	}
	if (rc && json_is_object(sel))
		api_validate_labels(sel, "spec.selector", e);
	validate_nonneg(spec, "replicas", "spec.replicas", e);
	validate_nonneg(spec, "minReadySeconds", "spec.minReadySeconds", e);
	validate_nonneg(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", e);
	validate_template(k, obj, e);
	if (old && !rc) {
		/* apps/v1 selectors are immutable. */
		const json_t *os = api_get(old, "spec.selector");
		if (os && sel && !json_equal(os, sel))
			api_err_invalid(e, "spec.selector", sel, "field is immutable");
	}
	if (is(k, "apps", "Deployment")) {
		const char *type = api_str(spec, "strategy.type");
		static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
		json_t *ru = api_get(spec, "strategy.rollingUpdate");
		if (type && strcmp(type, "Recreate") && strcmp(type, "RollingUpdate"))
			api_err_not_supported(e, "spec.strategy.type", api_get(spec, "strategy.type"), types);
		else if (type && !strcmp(type, "Recreate") && ru && !json_is_null(ru))
			api_err_forbidden(e, "spec.strategy.rollingUpdate",
					  "may not be specified when strategy `type` is 'Recreate'");
		else if (ru && json_is_object(ru)) {
			bool p1, p2;
			int mu = intstr_check(json_object_get(ru, "maxUnavailable"),
					      "spec.strategy.rollingUpdate.maxUnavailable", e, &p1);
			int ms = intstr_check(json_object_get(ru, "maxSurge"),
					      "spec.strategy.rollingUpdate.maxSurge", e, &p2);
			if (mu == 0 && ms == 0)
				api_err_invalid(e, "spec.strategy.rollingUpdate.maxUnavailable",
						json_object_get(ru, "maxUnavailable"),
						"may not be 0 when `maxSurge` is 0");
		}
		json_t *pd = json_object_get(spec, "progressDeadlineSeconds");
		json_t *mr = json_object_get(spec, "minReadySeconds");
		if (json_is_integer(pd) && json_integer_value(pd) <= json_integer_value(mr))
			api_err_invalid(e, "spec.progressDeadlineSeconds", pd,
					"must be greater than minReadySeconds");
	} else if (is(k, "apps", "StatefulSet")) {
		const char *pmp = api_str(spec, "podManagementPolicy");
		static const char *const pols[] = {"OrderedReady", "Parallel", NULL};
		if (pmp && strcmp(pmp, "OrderedReady") && strcmp(pmp, "Parallel"))
			api_err_not_supported(e, "spec.podManagementPolicy",
					      json_object_get(spec, "podManagementPolicy"), pols);
		const char *ut = api_str(spec, "updateStrategy.type");
		static const char *const uts[] = {"OnDelete", "RollingUpdate", NULL};
		if (ut && strcmp(ut, "OnDelete") && strcmp(ut, "RollingUpdate"))
			api_err_not_supported(e, "spec.updateStrategy.type",
					      api_get(spec, "updateStrategy.type"), uts);
		validate_nonneg(api_get(spec, "updateStrategy.rollingUpdate"), "partition",
				"spec.updateStrategy.rollingUpdate.partition", e);
		if (old) {
			/* Only replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
			 * persistentVolumeClaimRetentionPolicy and minReadySeconds may change. */
			static const char *const fixed[] = {"serviceName", "podManagementPolicy",
							    "volumeClaimTemplates", NULL};
			for (size_t i = 0; fixed[i]; i++) {
				json_t *a = json_object_get(spec, fixed[i]),
				       *b = api_get(old, "spec")
						? json_object_get(api_get(old, "spec"), fixed[i])
						: NULL;
				if ((a || b) && !(a && b && json_equal(a, b))) {
					api_err_forbidden(
					    e, "spec",
					    "updates to statefulset spec for fields other than 'replicas', "
					    "'ordinals', 'template', 'updateStrategy', "
					    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
					    "forbidden");
					break;
				}
			}
		}
	} else if (is(k, "apps", "DaemonSet")) {
		const char *ut = api_str(spec, "updateStrategy.type");
		static const char *const uts[] = {"OnDelete", "RollingUpdate", NULL};
		if (ut && strcmp(ut, "OnDelete") && strcmp(ut, "RollingUpdate"))
			api_err_not_supported(e, "spec.updateStrategy.type",
					      api_get(spec, "updateStrategy.type"), uts);
	}
}

void api_workload_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	if (is(k, "", "ConfigMap"))
		validate_config_map(obj, old, e);
	else if (is(k, "", "Secret"))
		validate_secret(obj, old, e);
	else if (is(k, "apps", "ControllerRevision")) {
		if (!json_is_integer(json_object_get(obj, "revision")) ||
		    json_integer_value(json_object_get(obj, "revision")) < 0)
			api_err_invalid(e, "revision", json_object_get(obj, "revision"),
					"must be greater than or equal to 0");
		if (old && (!json_equal(json_object_get(obj, "data"), json_object_get(old, "data"))))
			api_err_invalid(e, "data", NULL, "field is immutable");
	} else if (api_kind_is_workload(k))
		validate_workload(k, obj, old, e);
}

/* ---- Scale ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *api_label_selector_string(const json_t *ls)
{
	/* Each requirement as text, then sorted (labels.Requirements sort by key). */
	json_t *ml = json_object_get(ls, "matchLabels");
	json_t *me = json_object_get(ls, "matchExpressions");
	size_t n = json_object_size(ml) + json_array_size(me), i = 0;
	char **reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	const char *key;
	json_t *v;
	json_object_foreach(ml, key, v) reqs[i++] = xasprintf("%s=%s", key, json_string_value(v) ?: "");
	size_t j;
	json_array_foreach(me, j, v)
	{
		const char *k = api_str(v, "key") ?: "", *op = api_str(v, "operator") ?: "";
		if (!strcmp(op, "Exists")) {
			reqs[i++] = xstrdup(k);
		} else if (!strcmp(op, "DoesNotExist")) {
			reqs[i++] = xasprintf("!%s", k);
		} else {
			json_t *vals = json_object_get(v, "values");
			size_t nv = json_array_size(vals);
			const char **vs = xcalloc(nv ? nv : 1, sizeof(*vs));
			for (size_t x = 0; x < nv; x++)
				vs[x] = json_string_value(json_array_get(vals, x)) ?: "";
			xqsort(vs, nv, sizeof(*vs), cmp_str);
			struct buf b;
			buf_init(&b);
			buf_printf(&b, "%s %s (", k, !strcmp(op, "NotIn") ? "notin" : "in");
			for (size_t x = 0; x < nv; x++)
				buf_printf(&b, "%s%s", x ? "," : "", vs[x]);
			buf_printf(&b, ")");
			free(vs);
			reqs[i++] = buf_take(&b);
		}
	}
	xqsort(reqs, i, sizeof(*reqs), cmp_str);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s", "");
	for (size_t x = 0; x < i; x++) {
		buf_printf(&b, "%s%s", x ? "," : "", reqs[x]);
		free(reqs[x]);
	}
	free(reqs);
	return buf_take(&b);
}

json_t *api_scale_from(const struct api_kind *k, const json_t *obj)
{
	json_t *meta = json_object();
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp",
					   NULL};
	for (size_t i = 0; keep[i]; i++) {
		json_t *v =
		    api_get(obj, "metadata") ? json_object_get(api_get(obj, "metadata"), keep[i]) : NULL;
		if (v)
			json_object_set(meta, keep[i], v);
	}
	json_t *ls = api_workload_selector(k, obj);
	char *sel = ls ? api_label_selector_string(ls) : xstrdup("");
	json_decref(ls);
	json_int_t want = json_integer_value(api_get(obj, "spec.replicas"));
	json_int_t have = json_integer_value(api_get(obj, "status.replicas"));
	json_t *s = json_pack("{s:s, s:s, s:o, s:{s:I}, s:{s:I, s:s}}", "kind", "Scale", "apiVersion",
			      "autoscaling/v1", "metadata", meta, "spec", "replicas", want, "status",
			      "replicas", have, "selector", sel);
	free(sel);
	return s;
}

int api_scale_apply(json_t *obj, const json_t *scale, struct api_errs *e)
{
	json_t *r = api_get(scale, "spec.replicas");
	if (r && !json_is_integer(r)) {
		api_err_invalid(e, "spec.replicas", r, "must be an integer");
		return ERR_INVALID;
	}
	json_int_t n = r ? json_integer_value(r) : 0;
	if (n < 0 || n > 0x7fffffff) {
		api_err_invalid(e, "spec.replicas", r, "must be greater than or equal to 0");
		return ERR_INVALID;
	}
	json_object_set_new(api_obj(obj, "spec"), "replicas", json_integer(n));
	return 0;
}
