/* scale.c - the scale subresource ({rc,rs,deployment,statefulset}/{name}/scale): GET,
 * PUT and PATCH of an autoscaling/v1 Scale, as kube-apiserver's ScaleREST serves it.
 *
 * A write changes only spec.replicas of the stored object (ValidateScale: an integer
 * >= 0) and bumps metadata.generation; a resourceVersion in the Scale is a precondition
 * on the object's. The object is written with a compare-and-swap on the version read
 * and read again when another write won (at most 8 times), so a `kubectl scale` never
 * undoes a concurrent status write. The reply is the Scale of the object as written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/patch.h"
#include "api/workloads.h"
#include "apiserver/internal.h"
#include "base/err.h"
#include "base/mem.h"

static void send_msg(struct rq *q, int code, const char *m)
{
	apiserver__send_status(q->c, code, m, NULL);
}

static int read_current(struct rq *q, json_t **obj, int64_t *rev)
{
	char *key = apiserver__key(q->k, q->ns, q->name);
	struct store_kv *kv = NULL;
	int rc = store_get(q->as->store, key, &kv);
	free(key);
	if (rc < 0)
		return rc;
	*obj = apiserver__decode_kv(kv, 0);
	*rev = kv->mod_rev;
	store_kv_unref(kv);
	return *obj ? 0 : -EIO;
}

/* The new Scale from the request: the body (PUT) or the current Scale patched. */
static json_t *requested_scale(struct rq *q, const json_t *cur, char *err, size_t errlen)
{
	json_t *body = NULL;
	if (api_json_decode(q->r->body, q->r->body_len, &body, err, errlen) < 0)
		return NULL;
	if (!strcmp(q->r->method, "PUT")) {
		if (!json_is_object(body)) {
			snprintf(err, errlen, "the body of a Scale must be a JSON object");
			json_decref(body);
			return NULL;
		}
		return body;
	}
	const char *ct = http_req_header(q->r, "Content-Type") ?: "";
	json_t *out = NULL;
	if (!strncmp(ct, "application/json-patch+json", 27)) {
		if (api_json_patch(cur, body, &out, err, errlen) < 0)
			out = NULL;
	} else if (!strncmp(ct, "application/merge-patch+json", 28)) {
		out = json_is_object(body) ? api_merge_patch(cur, body) : NULL;
		if (!out)
			snprintf(err, errlen,
				 "json: cannot unmarshal into Go value of type map[string]interface {}");
	} else if (!strncmp(ct, "application/strategic-merge-patch+json", 38)) {
		if (api_strategic_merge_patch(cur, body, NULL, &out, err, errlen) < 0)
			out = NULL;
	} else {
		snprintf(err, errlen,
			 "the body of the request was in an unknown format - accepted media types include: "
			 "application/json-patch+json, application/merge-patch+json, "
			 "application/strategic-merge-patch+json");
	}
	json_decref(body);
	return out;
}

void apiserver__scale(struct rq *q)
{
	bool write = strcmp(q->r->method, "GET") != 0;
	for (int attempt = 0; attempt < 8; attempt++) {
		json_t *obj = NULL;
		int64_t rev = 0;
		int rc = read_current(q, &obj, &rev);
		if (rc < 0)
			return apiserver__send_obj_error(q, rc, q->name);
		json_t *cur = api_scale_from(q->k, obj);
		char rvs[32];
		snprintf(rvs, sizeof(rvs), "%lld", (long long)rev);
		json_object_set_new(api_obj(cur, "metadata"), "resourceVersion", json_string(rvs));
		if (!write) {
			json_decref(obj);
			apiserver__send_json(q, 200, cur);
			return;
		}
		char err[512] = "";
		json_t *want = requested_scale(q, cur, err, sizeof(err));
		json_decref(cur);
		if (!want) {
			json_decref(obj);
			return send_msg(q, -EBADMSG, err[0] ? err : "malformed Scale");
		}
		const char *wrv = api_str(want, "metadata.resourceVersion");
		if (wrv && *wrv && strcmp(wrv, rvs)) {
			json_decref(want);
			json_decref(obj);
			return apiserver__send_obj_error(q, -ESTALE, q->name);
		}
		struct api_errs e;
		api_errs_init(&e);
		json_int_t before = json_integer_value(api_get(obj, "spec.replicas"));
		if (api_scale_apply(obj, want, &e) < 0) {
			json_t *causes = json_incref(e.causes);
			api_errs_fini(&e);
			json_decref(want);
			json_decref(obj);
			char *m = xasprintf("Scale.autoscaling \"%s\" is invalid: %s", q->name,
					    api_str(json_array_get(causes, 0), "message") ?: "invalid");
			apiserver__send_status(q->c, ERR_INVALID, m,
					       json_pack("{s:s, s:s, s:s, s:o}", "name", q->name, "group",
							 "autoscaling", "kind", "Scale", "causes", causes));
			free(m);
			return;
		}
		api_errs_fini(&e);
		json_decref(want);
		json_t *meta = api_obj(obj, "metadata");
		if (json_integer_value(api_get(obj, "spec.replicas")) != before)
			json_object_set_new(
			    meta, "generation",
			    json_integer(json_integer_value(json_object_get(meta, "generation")) + 1));
		json_object_del(meta, "resourceVersion");
		if (q->dry_run) {
			json_t *s = api_scale_from(q->k, obj);
			json_object_set_new(api_obj(s, "metadata"), "resourceVersion", json_string(rvs));
			json_decref(obj);
			apiserver__send_json(q, 200, s);
			return;
		}
		char *key = apiserver__key(q->k, q->ns, q->name);
		int64_t nrev = 0;
		rc = apiserver__store_put(q->as, key, obj, rev, &nrev);
		free(key);
		if (rc == -ESTALE && !(wrv && *wrv)) {
			json_decref(obj);
			continue;
		}
		if (rc < 0) {
			json_decref(obj);
			return apiserver__send_obj_error(q, rc, q->name);
		}
		json_t *s = api_scale_from(q->k, obj);
		snprintf(rvs, sizeof(rvs), "%lld", (long long)nrev);
		json_object_set_new(api_obj(s, "metadata"), "resourceVersion", json_string(rvs));
		json_decref(obj);
		apiserver__send_json(q, 200, s);
		return;
	}
	apiserver__send_obj_error(q, -ESTALE, q->name);
}
