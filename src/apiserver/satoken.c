/* satoken.c - ServiceAccount tokens: the TokenRequest API and their authentication.
 *
 * POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token (kubectl create token) signs
 * a JWT (ES256, auth/jwt.c) with the server's key <data-dir>/pki/sa.key (made at first
 * start, 0600) carrying kube's bound-token claims: iss, sub
 * system:serviceaccount:<ns>:<name>, aud (default: the issuer, which is this API's
 * audience), iat/nbf/exp (expirationSeconds: default 3600, at least 600, at most 2^32)
 * and kubernetes.io {namespace, serviceaccount {name, uid}, pod {name, uid}} when bound
 * to a Pod (boundObjectRef). A token is accepted as a bearer credential when its
 * signature verifies, it is within nbf..exp, its audiences include the issuer, and the
 * ServiceAccount (and the bound Pod) still exist with the uids it names: deleting the
 * pod or the ServiceAccount ends it at once, as kube-apiserver's token authenticator
 * does. Its user is system:serviceaccount:<ns>:<name> in groups system:serviceaccounts,
 * system:serviceaccounts:<ns> and system:authenticated.
 *
 * Bootstrap tokens (kube's, as `kubeadm token create` makes them): a bearer
 * <id>.<secret> matching the Secret kube-system/bootstrap-token-<id> of type
 * bootstrap.kubernetes.io/token (token-id, token-secret, usage-bootstrap-authentication
 * "true", optional expiration in RFC 3339, optional auth-extra-groups) is user
 * system:bootstrap:<id> in system:bootstrappers until it expires. A bootstrapper may only
 * have a node client certificate signed (auth/node.c), so an agent joins with it and
 * works with its own credential from then on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/base64.h"
#include "api/codec.h"
#include "api/object.h"
#include "apiserver/internal.h"
#include "auth/jwt.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/pki.h"

#define MIN_EXPIRATION_S 600
#define DEFAULT_EXPIRATION_S 3600

int apiserver__sa_init(struct apiserver *as, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/pki", as->data_dir), *path = xasprintf("%s/sa.key", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		free(path);
		return -EIO;
	}
	as->sa_key = pki_key_ensure(path, err, errlen);
	free(dir);
	free(path);
	if (!as->sa_key)
		return -EIO;
	as->sa_kid = auth_jwt_kid(as->sa_key);
	const char *domain =
	    as->o.cluster_domain && *as->o.cluster_domain ? as->o.cluster_domain : "cluster.local";
	as->sa_issuer = xasprintf("https://kubernetes.default.svc.%s", domain);
	return 0;
}

void apiserver__sa_fini(struct apiserver *as)
{
	EVP_PKEY_free(as->sa_key);
	free(as->sa_kid);
	free(as->sa_issuer);
}

/* The stored object at key, or NULL when it does not exist. */
static json_t *stored(struct apiserver *as, const char *key)
{
	struct store_kv *kv = NULL;
	json_t *o = NULL;
	if (store_get(as->store, key, &kv) == 0 && kv)
		o = json_loadb(kv->value, kv->value_len, 0, NULL);
	store_kv_unref(kv);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The uid of the stored object at key, heap, or NULL when it does not exist. */
static char *stored_uid(struct apiserver *as, const char *key)
{
	json_t *o = stored(as, key);
	if (!o)
		return NULL;
	const char *u = api_str(o, "metadata.uid");
	char *uid = xstrdup(u ? u : "");
	json_decref(o);
	return uid;
}

static bool uid_is(struct apiserver *as, const char *key, const char *want)
{
	char *u = stored_uid(as, key);
	bool ok = u && want && !strcmp(u, want);
	free(u);
	return ok;
}

int apiserver__sa_authenticate(struct apiserver *as, const char *token, struct auth_user *u)
{
	if (!as->sa_key || !auth_jwt_shaped(token))
		return ERR_UNAUTHORIZED;
	json_t *c = NULL;
	if (auth_jwt_verify(token, as->sa_key, &c) < 0)
		return ERR_UNAUTHORIZED;
	int rc = ERR_UNAUTHORIZED;
	time_t now = time(NULL);
	json_int_t exp = json_integer_value(json_object_get(c, "exp")),
		   nbf = json_integer_value(json_object_get(c, "nbf"));
	const char *iss = api_str(c, "iss");
	json_t *aud = json_object_get(c, "aud"), *k = json_object_get(c, "kubernetes.io");
	bool aud_ok = false;
	size_t i;
	json_t *x;
	json_array_foreach(aud, i, x) if (!strcmp(json_string_value(x) ? json_string_value(x) : "",
						  as->sa_issuer)) aud_ok = true;
	const char *ns = api_str(k, "namespace"), *sa = api_str(k, "serviceaccount.name"),
		   *sa_uid = api_str(k, "serviceaccount.uid"), *pod = api_str(k, "pod.name"),
		   *pod_uid = api_str(k, "pod.uid");
	if (!iss || strcmp(iss, as->sa_issuer) != 0 || !aud_ok || exp <= now || nbf > now + 60 || !ns || !sa)
		goto out;
	char *key = xasprintf("/registry/core/serviceaccounts/%s/%s", ns, sa);
	bool ok = uid_is(as, key, sa_uid);
	free(key);
	if (ok && pod) {
		key = xasprintf("/registry/core/pods/%s/%s", ns, pod);
		ok = uid_is(as, key, pod_uid);
		free(key);
	}
	if (!ok)
		goto out;
	char *name = xasprintf("system:serviceaccount:%s:%s", ns, sa),
	     *g = xasprintf("system:serviceaccounts:%s", ns);
	auth_user_init(u, name);
	auth_user_add_group(u, "system:serviceaccounts");
	auth_user_add_group(u, g);
	auth_user_add_group(u, "system:authenticated");
	free(name);
	free(g);
	rc = 0;
out:
	json_decref(c);
	return rc;
}

static void invalid(struct rq *q, const char *field, const json_t *value, const char *detail)
{
	struct buf b;
	buf_init(&b);
	char *v = value ? json_dumps(value, JSON_ENCODE_ANY) : xstrdup("null");
	buf_printf(&b, "TokenRequest.authentication.k8s.io \"%s\" is invalid: %s: Invalid value: %s: %s",
		   q->name, field, v, detail);
	json_t *d = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", q->name, "group",
			      "authentication.k8s.io", "kind", "TokenRequest", "causes", "reason",
			      "FieldValueInvalid", "message", detail, "field", field);
	apiserver__send_status(q->c, ERR_INVALID, b.data, d);
	free(v);
	buf_fini(&b);
}

void apiserver__token_request(struct rq *q)
{
	struct apiserver *as = q->as;
	if (strcmp(q->r->method, "POST") != 0) {
		apiserver__send_status(q->c, ERR_METHOD,
				       "the server does not allow this method on the requested resource",
				       json_object());
		return;
	}
	json_t *body = NULL;
	char err[256] = "";
	const struct http_req *r = q->r;
	int drc = r->body_len >= 4 && !memcmp(r->body, "k8s\0", 4)
		      ? api_proto_decode((const unsigned char *)r->body, r->body_len, &body, err, sizeof(err))
		      : api_json_decode(r->body, r->body_len, &body, err, sizeof(err));
	if (drc < 0 || !json_is_object(body)) {
		char *m = xasprintf("TokenRequest in version \"v1\" cannot be handled as a TokenRequest: %s",
				    err[0] ? err : "not an object");
		apiserver__send_status(q->c, -EBADMSG, m, NULL);
		free(m);
		json_decref(body);
		return;
	}
	char *sakey = xasprintf("/registry/core/serviceaccounts/%s/%s", q->ns, q->name);
	char *sa_uid = stored_uid(as, sakey);
	free(sakey);
	json_t *pod_uid_j = NULL;
	char *pod_uid = NULL;
	if (!sa_uid) {
		apiserver__send_obj_error(q, -ENOENT, q->name);
		goto out;
	}
	json_t *spec = api_obj(body, "spec");
	json_t *aud = json_object_get(spec, "audiences");
	if (json_array_size(aud) == 0) {
		aud = json_pack("[s]", as->sa_issuer);
		json_object_set_new(spec, "audiences", aud);
	}
	json_t *expj = json_object_get(spec, "expirationSeconds");
	json_int_t exp = json_is_integer(expj) ? json_integer_value(expj) : DEFAULT_EXPIRATION_S;
	if (exp < MIN_EXPIRATION_S) {
		invalid(q, "spec.expirationSeconds", expj, "may not specify a duration less than 10 minutes");
		goto out;
	}
	if (exp > ((json_int_t)1 << 32)) {
		invalid(q, "spec.expirationSeconds", expj,
			"may not specify a duration larger than 2^32 seconds");
		goto out;
	}
	json_object_set_new(spec, "expirationSeconds", json_integer(exp));
	json_t *ref = json_object_get(spec, "boundObjectRef");
	const char *rkind = api_str(ref, "kind"), *rname = api_str(ref, "name"), *ruid = api_str(ref, "uid");
	if (ref && (!rkind || strcmp(rkind, "Pod") != 0)) {
		invalid(q, "spec.boundObjectRef.kind", json_object_get(ref, "kind"), "supported kinds: Pod");
		goto out;
	}
	const char *node = q->user ? auth_node_name(q->user) : NULL;
	if (node && !ref) {
		/* The Node authorizer's graph rule: a node gets tokens only for its pods. */
		char *m = xasprintf(
		    "serviceaccounts \"%s\" is forbidden: node \"%s\" may only request tokens bound to "
		    "pods on it",
		    q->name, node);
		apiserver__send_status(q->c, -EACCES, m,
				       json_pack("{s:s, s:s}", "name", q->name, "kind", "serviceaccounts"));
		free(m);
		goto out;
	}
	if (ref) {
		char *pkey = xasprintf("/registry/core/pods/%s/%s", q->ns, rname ? rname : "");
		json_t *pod = rname ? stored(as, pkey) : NULL;
		free(pkey);
		const char *u = api_str(pod, "metadata.uid"), *pn = api_str(pod, "spec.nodeName");
		const char *psa = api_str(pod, "spec.serviceAccountName");
		pod_uid = pod ? xstrdup(u ? u : "") : NULL;
		bool foreign =
		    pod && node && (!pn || strcmp(pn, node) || strcmp(psa ? psa : "default", q->name));
		json_decref(pod);
		if (foreign) {
			char *m = xasprintf(
			    "serviceaccounts \"%s\" is forbidden: node \"%s\" may only request tokens bound to "
			    "pods on it that run as this ServiceAccount",
			    q->name, node);
			apiserver__send_status(
			    q->c, -EACCES, m,
			    json_pack("{s:s, s:s}", "name", q->name, "kind", "serviceaccounts"));
			free(m);
			goto out;
		}
		if (!pod_uid || (ruid && *ruid && strcmp(ruid, pod_uid) != 0)) {
			char *m = xasprintf("pods \"%s\" not found", rname ? rname : "");
			apiserver__send_status(
			    q->c, -ENOENT, m,
			    json_pack("{s:s, s:s}", "name", rname ? rname : "", "kind", "pods"));
			free(m);
			goto out;
		}
		json_object_set_new(ref, "uid", json_string(pod_uid));
		json_object_set_new(ref, "apiVersion", json_string("v1"));
	}
	time_t now = time(NULL);
	json_t *k8s = json_pack("{s:s, s:{s:s, s:s}}", "namespace", q->ns, "serviceaccount", "name", q->name,
				"uid", sa_uid);
	if (pod_uid)
		json_object_set_new(k8s, "pod", json_pack("{s:s, s:s}", "name", rname, "uid", pod_uid));
	char *sub = xasprintf("system:serviceaccount:%s:%s", q->ns, q->name);
	json_t *claims =
	    json_pack("{s:O, s:I, s:I, s:I, s:s, s:s, s:o}", "aud", json_object_get(spec, "audiences"), "exp",
		      (json_int_t)now + exp, "iat", (json_int_t)now, "nbf", (json_int_t)now, "iss",
		      as->sa_issuer, "sub", sub, "kubernetes.io", k8s);
	free(sub);
	char *tok = auth_jwt_sign(claims, as->sa_key, as->sa_kid);
	json_decref(claims);
	if (!tok) {
		apiserver__send_status(q->c, -EIO, "signing the token failed", NULL);
		goto out;
	}
	char ts[40], created[40];
	time_t e = now + (time_t)exp;
	struct tm tm;
	gmtime_r(&e, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *outj = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:O, s:{s:s, s:s}}", "kind", "TokenRequest",
				 "apiVersion", "authentication.k8s.io/v1", "metadata", "name", q->name,
				 "namespace", q->ns, "creationTimestamp", api_now(created, sizeof(created)),
				 "spec", spec, "status", "token", tok, "expirationTimestamp", ts);
	free(tok);
	apiserver__send_json(q, 201, outj);
out:
	json_decref(pod_uid_j);
	free(pod_uid);
	free(sa_uid);
	json_decref(body);
}

/* A Secret data value (base64 in the store) decoded, heap, or NULL. */
static char *secret_value(const json_t *secret, const char *k)
{
	const char *b = api_str(json_object_get(secret, "data"), k);
	unsigned char *out = NULL;
	size_t n = 0;
	if (!b || api_base64_decode(b, &out, &n) < 0)
		return NULL;
	return (char *)out;
}

int apiserver__bootstrap_authenticate(struct apiserver *as, const char *token, struct auth_user *u)
{
	/* kube's bootstrap token: [a-z0-9]{6}.[a-z0-9]{16}. */
	if (strlen(token) != 23 || token[6] != '.')
		return ERR_UNAUTHORIZED;
	for (int i = 0; i < 23; i++)
		if (i != 6 && !((token[i] >= 'a' && token[i] <= 'z') || (token[i] >= '0' && token[i] <= '9')))
			return ERR_UNAUTHORIZED;
	char id[7];
	memcpy(id, token, 6);
	id[6] = 0;
	char *key = xasprintf("/registry/core/secrets/kube-system/bootstrap-token-%s", id);
	json_t *s = stored(as, key);
	free(key);
	int rc = ERR_UNAUTHORIZED;
	char *tid = secret_value(s, "token-id"), *tsec = secret_value(s, "token-secret");
	char *exp = secret_value(s, "expiration"), *usage = secret_value(s, "usage-bootstrap-authentication");
	char *extra = secret_value(s, "auth-extra-groups");
	const char *type = api_str(s, "type");
	if (!s || !type || strcmp(type, "bootstrap.kubernetes.io/token") || !tid || strcmp(tid, id) ||
	    !tsec || strlen(tsec) != 16 || CRYPTO_memcmp(tsec, token + 7, 16) != 0 || !usage ||
	    strcmp(usage, "true"))
		goto out;
	if (exp) {
		int64_t t = api_time_parse(exp);
		if (t <= 0 || t <= (int64_t)time(NULL))
			goto out; /* kube: an expired token authenticates no one */
	}
	char *name = xasprintf("system:bootstrap:%s", id);
	auth_user_init(u, name);
	free(name);
	auth_user_add_group(u, "system:bootstrappers");
	for (char *save = NULL, *g = extra ? strtok_r(extra, ",", &save) : NULL; g;
	     g = strtok_r(NULL, ",", &save))
		if (!strncmp(g, "system:bootstrappers:", 21))
			auth_user_add_group(u, g);
	auth_user_add_group(u, "system:authenticated");
	rc = 0;
out:
	free(tid);
	free(tsec);
	free(exp);
	free(usage);
	free(extra);
	json_decref(s);
	return rc;
}
