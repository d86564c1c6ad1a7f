/* authreview.c - the self-review APIs kubectl's `auth whoami` and `auth can-i` ask:
 *
 *   POST /apis/authentication.k8s.io/v1/selfsubjectreviews        SelfSubjectReview
 *        (and v1beta1, which kubectl 1.27's `auth whoami` posts to; kube serves it until 1.29)
 *   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews   SelfSubjectAccessReview
 *   POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews    SelfSubjectRulesReview
 *
 * They answer for the identity the request authenticated as (after impersonation, so
 * `kubectl auth can-i --as bob` asks for bob), from the same rules every request is
 * authorized by (authz.c: system:masters, then RBAC). A body that is not the review it
 * claims to be is 400, as kube's decoder answers; the reviews are not stored (201 with
 * the answer). Protobuf bodies (kubectl's default) are decoded with the review schemas
 * of api/schema_rbac.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "api/object.h"
#include "apiserver/internal.h"
#include "base/mem.h"

static json_t *user_info(const struct auth_user *u)
{
	return json_pack("{s:s, s:o}", "username", u->name, "groups", auth_user_groups_json(u));
}

static void reply(struct http_conn *c, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	http_send(c, 201, "application/json", "", s, strlen(s));
	free(s);
	json_decref(o);
}

static json_t *body_of(struct http_conn *c, const struct http_req *r, const char *kind)
{
	json_t *b = NULL;
	char err[256] = "";
	if (r->body_len >= 4 && !memcmp(r->body, "k8s\0", 4)) {
		if (api_proto_decode((const unsigned char *)r->body, r->body_len, &b, err, sizeof(err)) < 0)
			b = NULL;
	} else {
		json_error_t je;
		b = json_loadb(r->body, r->body_len, 0, &je);
		if (!b)
			snprintf(err, sizeof(err), "%s", je.text);
	}
	const char *k = json_is_object(b) ? api_str(b, "kind") : NULL;
	if (!b || !json_is_object(b) || (k && strcmp(k, kind) != 0)) {
		char *m = xasprintf("%s in version \"v1\" cannot be handled as a %s: %s", kind, kind,
				    b ? "wrong kind" : err);
		http_send_status(c, 400, "BadRequest", m);
		free(m);
		json_decref(b);
		return NULL;
	}
	return b;
}

/* The attributes a SelfSubjectAccessReview spec asks about; false when it names none. */
static bool spec_attrs(const json_t *spec, struct auth_attrs *a)
{
	const json_t *ra = json_object_get(spec, "resourceAttributes"),
		     *na = json_object_get(spec, "nonResourceAttributes");
	memset(a, 0, sizeof(*a));
	if (json_is_object(ra)) {
		a->resource_request = true;
		a->verb = api_str(ra, "verb");
		a->ns = api_str(ra, "namespace");
		a->group = api_str(ra, "group");
		a->resource = api_str(ra, "resource");
		a->sub = api_str(ra, "subresource");
		a->name = api_str(ra, "name");
		return true;
	}
	if (json_is_object(na)) {
		a->verb = api_str(na, "verb");
		a->path = api_str(na, "path");
		return true;
	}
	return false;
}

bool apiserver__auth_review(struct apiserver *as, struct http_conn *c, struct http_req *r,
			    const struct auth_user *u)
{
	static const char authn[] = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
	static const char authn_beta[] = "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews";
	static const char ssar[] = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
	static const char ssrr[] = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
	const char *p = r->path;
	bool beta = !strcmp(p, authn_beta);
	const char *kind = !strcmp(p, authn) || beta ? "SelfSubjectReview"
			   : !strcmp(p, ssar)	     ? "SelfSubjectAccessReview"
			   : !strcmp(p, ssrr)	     ? "SelfSubjectRulesReview"
						     : NULL;
	if (!kind)
		return false;
	if (strcmp(r->method, "POST") != 0) {
		http_send_status(c, 405, "MethodNotAllowed",
				 "the server does not allow this method on the requested resource");
		return true;
	}
	json_t *b = body_of(c, r, kind);
	if (!b)
		return true;
	const char *gv = beta				      ? "authentication.k8s.io/v1beta1"
			 : !strcmp(kind, "SelfSubjectReview") ? "authentication.k8s.io/v1"
							      : "authorization.k8s.io/v1";
	json_t *o =
	    json_pack("{s:s, s:s, s:{s:n}}", "kind", kind, "apiVersion", gv, "metadata", "creationTimestamp");
	json_t *spec = json_object_get(b, "spec");
	if (!strcmp(kind, "SelfSubjectReview")) {
		json_object_set_new(o, "status", json_pack("{s:o}", "userInfo", user_info(u)));
	} else if (!strcmp(kind, "SelfSubjectAccessReview")) {
		struct auth_attrs a;
		if (!spec_attrs(spec, &a)) {
			http_send_status(
			    c, 422, "Invalid",
			    "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: "
			    "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes "
			    "must be specified");
			json_decref(o);
			json_decref(b);
			return true;
		}
		char reason[512] = "";
		bool ok = a.verb && apiserver__allowed(as, u, &a, reason, sizeof(reason));
		json_object_set_new(o, "spec", json_incref(spec));
		json_t *st = json_pack("{s:b}", "allowed", ok);
		if (reason[0])
			json_object_set_new(st, "reason", json_string(reason));
		json_object_set_new(o, "status", st);
	} else {
		const char *ns = api_str(spec, "namespace");
		json_t *rules = apiserver__user_rules(as, u, ns && *ns ? ns : NULL);
		json_t *res = json_array(), *nonres = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(rules, i, x)
		{
			if (json_object_get(x, "nonResourceURLs"))
				json_array_append(nonres, x);
			else
				json_array_append(res, x);
		}
		json_decref(rules);
		json_object_set_new(o, "spec", json_is_object(spec) ? json_incref(spec) : json_object());
		json_object_set_new(o, "status",
				    json_pack("{s:o, s:o, s:b}", "resourceRules", res, "nonResourceRules",
					      nonres, "incomplete", false));
	}
	json_decref(b);
	reply(c, o);
	return true;
}
