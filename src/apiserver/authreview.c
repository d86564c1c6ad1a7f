/* authreview.c - the self-review APIs kubectl's `auth whoami` and `auth can-i` ask:
 *
 *   POST /apis/authentication.k8s.io/v1/selfsubjectreviews        SelfSubjectReview
 *        (and v1beta1, which kubectl 1.27's `auth whoami` posts to; kube serves it until 1.29)
 *   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews   SelfSubjectAccessReview
 *   POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews    SelfSubjectRulesReview
 *
 * They answer for the identity the request authenticated as. This server has one way in
 * (server.c: the bearer token, the same for the admin and the agents), and that token is
 * `system:admin` in `system:masters` (kube's superuser group, which every authorizer
 * allows everything): so a review is always allowed, and the rules are "*" on
 * everything, which is the truth here. A body that is not the review it claims to be
 * is 400, as kube's decoder answers; the reviews are not stored (201 with the answer).
 * A protobuf body (kubectl's default) is taken without decoding its spec: the answer does
 * not depend on it, so the review's spec is echoed back empty in that case.
 */
#include <errno.h>
#include <string.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/mem.h"

#define USERNAME "system:admin"

static json_t *user_info(void)
{
	return json_pack("{s:s, s:[s,s]}", "username", USERNAME, "groups", "system:masters", "system:authenticated");
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
	/* kubectl sends these in protobuf; nothing of the spec changes the answer (one
	 * identity, allowed everything), so the envelope is checked and the spec not read. */
	if (r->body_len >= 4 && !memcmp(r->body, "k8s\0", 4))
		return json_object();
	json_error_t je;
	json_t *b = json_loadb(r->body, r->body_len, 0, &je);
	const char *k = json_is_object(b) ? api_str(b, "kind") : NULL;
	if (!b || !json_is_object(b) || (k && strcmp(k, kind) != 0)) {
		char *m = xasprintf("%s in version \"v1\" cannot be handled as a %s: %s", kind, kind,
				    b ? "wrong kind" : je.text);
		http_send_status(c, 400, "BadRequest", m);
		free(m);
		json_decref(b);
		return NULL;
	}
	return b;
}

bool apiserver__auth_review(struct http_conn *c, struct http_req *r)
{
	static const char authn[] = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
	static const char authn_beta[] = "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews";
	static const char ssar[] = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
	static const char ssrr[] = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
	const char *p = r->path;
	bool beta = !strcmp(p, authn_beta);
	const char *kind = !strcmp(p, authn) || beta ? "SelfSubjectReview"
			   : !strcmp(p, ssar) ? "SelfSubjectAccessReview"
			   : !strcmp(p, ssrr) ? "SelfSubjectRulesReview"
					      : NULL;
	if (!kind)
		return false;
	if (strcmp(r->method, "POST") != 0) {
		http_send_status(c, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return true;
	}
	json_t *b = body_of(c, r, kind);
	if (!b)
		return true;
	const char *gv = beta				     ? "authentication.k8s.io/v1beta1"
			 : !strcmp(kind, "SelfSubjectReview") ? "authentication.k8s.io/v1"
							      : "authorization.k8s.io/v1";
	json_t *o = json_pack("{s:s, s:s, s:{s:n}}", "kind", kind, "apiVersion", gv, "metadata", "creationTimestamp");
	if (!strcmp(kind, "SelfSubjectReview")) {
		json_object_set_new(o, "status", json_pack("{s:o}", "userInfo", user_info()));
	} else if (!strcmp(kind, "SelfSubjectAccessReview")) {
		json_t *spec = json_object_get(b, "spec");
		json_object_set_new(o, "spec", json_is_object(spec) ? json_incref(spec) : json_object());
		json_object_set_new(o, "status", json_pack("{s:b}", "allowed", true));
	} else {
		json_t *spec = json_object_get(b, "spec");
		json_object_set_new(o, "spec", json_is_object(spec) ? json_incref(spec) : json_object());
		json_object_set_new(o, "status",
				    json_pack("{s:[{s:[s], s:[s], s:[s]}], s:[{s:[s], s:[s]}], s:b}", "resourceRules", "verbs",
					      "*", "apiGroups", "*", "resources", "*", "nonResourceRules", "verbs", "*",
					      "nonResourceURLs", "*", "incomplete", false));
	}
	json_decref(b);
	reply(c, o);
	return true;
}
