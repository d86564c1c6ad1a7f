/* server.c - API server start-up, authentication, routing and response helpers.
 *
 * Routing follows kube-apiserver's path layout:
 *   /api/v1/{plural}[/{name}[/{sub}]]                       cluster-scoped, or list of all namespaces
 *   /api/v1/namespaces/{ns}/{plural}[/{name}[/{sub}]]      namespaced
 *   /apis/{group}/{version}/... the same for named groups
 * GET on a collection lists (or watches with ?watch=true), POST creates, DELETE on a
 * collection deletes what the selectors match; GET/PUT/PATCH/DELETE on an object do what
 * they say. Subresources: {name}/status of kinds with a status, and pods/{name}/log
 * (GET only; podlog.c proxies it to the node). Everything but /healthz, /livez, /readyz and /version needs
 * the bearer token.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "api/rbac.h"
#include "api/workloads.h"
#include "apiserver/internal.h"
#include "apiserver/mlease.h"
#include "http/pki.h"
#include "apiserver/table.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

void apiserver__send_status(struct http_conn *c, int code, const char *message, json_t *details_take)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
			       "metadata", "status", "Failure", "message", message, "reason",
			       err_reason(code), "code", err_http(code));
	if (details_take)
		json_object_set_new(st, "details", details_take);
	char *body = json_dumps(st, JSON_COMPACT);
	http_send(c, err_http(code), "application/json", "", body, strlen(body));
	free(body);
	json_decref(st);
}

const char *apiserver__warnings(const struct rq *q)
{
	return q->warnings && q->warnings->data ? q->warnings->data : "";
}

void apiserver__send_json(struct rq *q, int status, json_t *obj_take)
{
	char *body = json_dumps(obj_take, JSON_COMPACT);
	json_decref(obj_take);
	http_send(q->c, status, "application/json", apiserver__warnings(q), body, strlen(body));
	free(body);
}

char *apiserver__qualified(const struct api_kind *k)
{
	if (!k->group[0])
		return xstrdup(k->plural);
	return xasprintf("%s.%s", k->plural, k->group);
}

void apiserver__send_obj_error(struct rq *q, int code, const char *name)
{
	char *qual = apiserver__qualified(q->k);
	char *msg;
	if (code == -ENOENT)
		msg = xasprintf("%s \"%s\" not found", qual, name);
	else if (code == -EEXIST)
		msg = xasprintf("%s \"%s\" already exists", qual, name);
	else if (code == -ESTALE)
		msg = xasprintf(
		    "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please "
		    "apply your changes to the latest version and try again",
		    qual, name);
	else
		msg = xasprintf("%s \"%s\": %s", qual, name, err_str(code));
	json_t *d = json_pack("{s:s, s:s}", "name", name, "kind", q->k->plural);
	if (q->k->group[0])
		json_object_set_new(d, "group", json_string(q->k->group));
	apiserver__send_status(q->c, code, msg, d);
	free(msg);
	free(qual);
}

static const char *group_seg(const struct api_kind *k)
{
	return k->group[0] ? k->group : "core";
}

char *apiserver__key(const struct api_kind *k, const char *ns, const char *name)
{
	k = api_kind_storage(k);
	if (k->namespaced)
		return xasprintf("/registry/%s/%s/%s/%s", group_seg(k), k->plural, ns, name);
	return xasprintf("/registry/%s/%s/%s", group_seg(k), k->plural, name);
}

char *apiserver__prefix(const struct api_kind *k, const char *ns)
{
	k = api_kind_storage(k);
	if (k->namespaced && ns)
		return xasprintf("/registry/%s/%s/%s/", group_seg(k), k->plural, ns);
	return xasprintf("/registry/%s/%s/", group_seg(k), k->plural);
}

char *apiserver__json_line(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT);
	size_t n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = 0;
	*len = n + 1;
	return s;
}

json_t *apiserver__decode_kv(const struct store_kv *kv, int64_t rev_override)
{
	json_t *o = json_loadb(kv->value, kv->value_len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)(rev_override ? rev_override : kv->mod_rev));
	json_object_set_new(api_obj(o, "metadata"), "resourceVersion", json_string(rv));
	return o;
}

size_t apiserver__max_object(const struct apiserver *as)
{
	return as->o.max_body ? as->o.max_body : 3 * 1024 * 1024;
}

json_t *apiserver__decode_listed(const struct apiserver *as, const struct store_kv *kv, int64_t rev_override)
{
	if (kv->value_len > apiserver__max_object(as)) {
		log_debug("store: %s holds %zu bytes, over the object limit: left out", kv->key,
			  kv->value_len);
		return NULL;
	}
	return apiserver__decode_kv(kv, rev_override);
}

size_t apiserver__check_stored(struct apiserver *as)
{
	struct store_list l;
	size_t bad = 0;
	if (store_range(as->store, "/registry/", NULL, 0, 0, &l) < 0)
		return 0;
	static const char alloc[] = "/registry/allocations/", own[] = "/registry/svcplane/",
			  leases[] = APISERVER_MLEASE_PREFIX;
	for (size_t i = 0; i < l.len; i++) {
		const struct store_kv *kv = l.kvs[i];
		if (!strncmp(kv->key, alloc, sizeof(alloc) - 1) || !strncmp(kv->key, own, sizeof(own) - 1) ||
		    !strncmp(kv->key, leases, sizeof(leases) - 1))
			continue;
		if (kv->value_len > apiserver__max_object(as)) {
			log_error(
			    "store: %s holds %zu bytes, more than the %zu an object may have: it is left out of "
			    "lists and watches; delete it by name",
			    kv->key, kv->value_len, apiserver__max_object(as));
			bad++;
			continue;
		}
		json_t *o = apiserver__decode_kv(kv, 0);
		if (!o) {
			log_error(
			    "store: %s is not a JSON object: it is left out of lists and watches; delete it by name",
			    kv->key);
			bad++;
		}
		json_decref(o);
	}
	store_list_fini(&l);
	return bad;
}

static bool public_path(const char *p)
{
	return !strcmp(p, "/healthz") || !strcmp(p, "/livez") || !strcmp(p, "/readyz") ||
	       !strcmp(p, "/version") || !strncmp(p, "/healthz/", 9) || !strncmp(p, "/livez/", 7) ||
	       !strncmp(p, "/readyz/", 8);
}

/* The head check of httpd (before any body byte is read): public paths, or an identity
 * (client certificate or token, authz.c). */
static int authorize_head(void *ud, const struct http_conn *c, const struct http_req *r)
{
	struct auth_user u;
	if (apiserver__authenticate(ud, c, r, &u) == 0) {
		auth_user_fini(&u);
		return HTTP_AUTH_OK;
	}
	return public_path(r->path) ? HTTP_AUTH_PUBLIC : HTTP_AUTH_DENY;
}

int apiserver__split(char *path, char **seg, int max)
{
	int n = 0;
	char *save = NULL;
	for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		seg[n++] = s;
	}
	return n;
}

static void rq_fini(struct rq *q)
{
	free(q->ns);
	free(q->name);
	free(q->sub);
	free(q->field_manager);
}

static void not_found(struct http_conn *c)
{
	apiserver__send_status(c, -ENOENT, "the server could not find the requested resource", json_object());
}

static void serve_resource(struct apiserver *as, struct http_conn *c, struct http_req *r, char **seg, int n,
			   const struct auth_user *user)
{
	/* seg[0] is "api" (then seg[1] version) or "apis" (seg[1] group, seg[2] version). */
	const char *group = "", *version;
	int i;
	if (!strcmp(seg[0], "api")) {
		version = seg[1];
		i = 2;
	} else {
		if (n < 3)
			return not_found(c);
		group = seg[1];
		version = seg[2];
		i = 3;
	}
	const char *ns = NULL;
	/* namespaces/NAME/status and namespaces/NAME/finalize are a Namespace's own subresources. */
	bool ns_sub = n - i == 3 && !strcmp(seg[i], "namespaces") &&
		      (!strcmp(seg[i + 2], "status") || !strcmp(seg[i + 2], "finalize"));
	if (n - i >= 3 && !strcmp(seg[i], "namespaces") && !ns_sub) {
		ns = seg[i + 1];
		i += 2;
	}
	if (i >= n)
		return not_found(c);
	const struct api_kind *k = api_kind_by_plural(group, version, seg[i]);
	if (!k || (ns && !k->namespaced))
		return not_found(c);
	i++;
	struct buf warnings;
	buf_init(&warnings);
	/* A deprecated version is a view of the stored kind, with kube-apiserver's warning. */
	const struct api_kind *view = NULL;
	if (api_kind_storage(k) != k) {
		view = k;
		k = api_kind_storage(k);
		buf_printf(&warnings, "Warning: 299 - \"%s\"\r\n", view->deprecation);
	}
	struct rq q = {.as = as, .c = c, .r = r, .k = k, .view = view, .warnings = &warnings, .user = user};
	q.ns = ns ? xstrdup(ns) : NULL;
	if (i < n)
		q.name = xstrdup(seg[i++]);
	if (i < n)
		q.sub = xstrdup(seg[i++]);
	/* Subresources: status of kinds that have one, and log of pods (podlog.c). */
	bool pod_log = q.sub && !strcmp(q.sub, "log") && !k->group[0] && !strcmp(k->plural, "pods");
	bool scale = q.sub && !strcmp(q.sub, "scale") && api_kind_has_scale(k);
	bool pod_exec =
	    q.sub && (!strcmp(q.sub, "exec") || !strcmp(q.sub, "attach") || !strcmp(q.sub, "portforward")) &&
	    !k->group[0] && !strcmp(k->plural, "pods");
	bool finalize =
	    q.sub && !strcmp(q.sub, "finalize") && !k->group[0] && !strcmp(k->plural, "namespaces");
	bool sa_token =
	    q.sub && !strcmp(q.sub, "token") && !k->group[0] && !strcmp(k->plural, "serviceaccounts");
	bool sub_ok = !q.sub || (!strcmp(q.sub, "status") && k->has_status) || pod_log || pod_exec || scale ||
		      finalize || sa_token;
	bool proxy_sub =
	    q.sub && !strcmp(q.sub, "proxy") && !k->group[0] &&
	    (!strcmp(k->plural, "services") || !strcmp(k->plural, "pods") || !strcmp(k->plural, "nodes"));
	if (proxy_sub) { /* the rest of the path is the target's */
		apiserver__proxy(&q);
		rq_fini(&q);
		buf_fini(&warnings);
		return;
	}
	if (i < n || !sub_ok) {
		rq_fini(&q);
		buf_fini(&warnings);
		return not_found(c);
	}
	/* Namespaced kinds addressed without a namespace: only list/watch across namespaces. */
	if (k->namespaced && !q.ns && (q.name || strcmp(r->method, "GET") != 0)) {
		rq_fini(&q);
		buf_fini(&warnings);
		return not_found(c);
	}
	const char *accept = http_req_header(r, "Accept");
	q.table = accept && strstr(accept, "as=Table");
	char *inc = http_query_get(r->query, "includeObject");
	q.include_object = table_include_object(inc);
	free(inc);
	char *dry = http_query_get(r->query, "dryRun");
	q.dry_run = dry && !strcmp(dry, "All");
	if (dry && *dry && strcmp(dry, "All") != 0) {
		char *m = xasprintf("Invalid dry run value: %s", dry);
		apiserver__send_status(c, -EBADMSG, m, NULL);
		free(m);
		free(dry);
		rq_fini(&q);
		buf_fini(&warnings);
		return;
	}
	free(dry);
	q.field_manager = http_query_get(r->query, "fieldManager");

	const char *m = r->method;
	char *watch = http_query_get(r->query, "watch");
	bool is_watch = watch && (!strcmp(watch, "true") || !strcmp(watch, "1"));
	free(watch);
	if (!q.name) {
		if (!strcmp(m, "GET"))
			is_watch ? apiserver__watch(&q) : apiserver__list(&q);
		else if (!strcmp(m, "POST"))
			apiserver__create(&q);
		else if (!strcmp(m, "DELETE"))
			apiserver__delete_collection(&q);
		else
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
	} else if (sa_token) {
		apiserver__token_request(&q);
	} else if (scale) {
		if (!strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "PATCH"))
			apiserver__scale(&q);
	} else if (pod_exec) {
		if (!strcmp(m, "GET") || !strcmp(m, "POST"))
			apiserver__pod_exec(&q,
					    !strcmp(q.sub, "portforward")); /* GET: WebSocket; POST: SPDY */
		else
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
	} else if (pod_log) {
		if (!strcmp(m, "GET"))
			apiserver__pod_log(&q);
		else
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
	} else {
		if (!strcmp(m, "GET"))
			apiserver__get(&q);
		else if (!strcmp(m, "PUT"))
			apiserver__update(&q);
		else if (!strcmp(m, "PATCH"))
			apiserver__patch(&q);
		else if (!strcmp(m, "DELETE") && !q.sub)
			apiserver__delete(&q);
		else
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
	}
	if (api_kind_is_rbac(k) && strcmp(m, "GET") != 0)
		apiserver__rbac_dirty(as);
	rq_fini(&q);
	buf_fini(&warnings);
}

static void metric_begin(struct apiserver_metric *m, const struct http_req *r);

static double ms_between(int64_t a_ns, int64_t b_ns)
{
	return a_ns && b_ns ? (double)(b_ns - a_ns) / 1e6 : 0;
}

/* Debug trace of a request that wrote to the store: where its time went, from its head
 * being read to its answer sent, with the store's stages in between (store_txn_timing),
 * and the wall time of its commit so the watch side can be lined up with it. */
static void trace_write(struct http_conn *c, const struct http_req *r)
{
	struct store_txn_timing t;
	store_txn_timing_last(&t);
	if (!r->head_ns || t.called_ns < r->head_ns)
		return; /* no store write in this request */
	struct timespec mono, wall;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t now = (int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec;
	int64_t at = t.committed_ns ? t.committed_ns : t.returned_ns;
	double wall_at = (double)wall.tv_sec + wall.tv_nsec / 1e9 - (double)(now - at) / 1e9;
	log_debug("api: %s %s %d in %.3f ms: before the store %.3f, store queue %.3f, commit %.3f "
		  "(group of %u, COMMIT %.3f), wake %.3f, answer %.3f; committed at %.6f",
		  r->method, r->path, http_conn_status(c), ms_between(r->head_ns, now),
		  ms_between(r->head_ns, t.called_ns), ms_between(t.called_ns, t.taken_ns),
		  ms_between(t.taken_ns, t.committed_ns), t.group, ms_between(t.syncing_ns, t.committed_ns),
		  ms_between(t.committed_ns, t.returned_ns), ms_between(t.returned_ns, now), wall_at);
}

static void handle_authed(struct apiserver *as, struct http_conn *c, struct http_req *r,
			  const struct auth_user *u);

static void handle(void *ud, struct http_conn *c, struct http_req *r)
{
	struct apiserver *as = ud;
	if (public_path(r->path)) {
		/* Anyone may reach these: they answer GET (and HEAD) and nothing else. */
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
			return;
		}
		if (!strcmp(r->path, "/version")) {
			apiserver__discovery(as, c, r);
			return;
		}
		http_send(c, 200, "text/plain; charset=utf-8", "", "ok", 2);
		return;
	}
	struct auth_user user;
	if (apiserver__authenticate(as, c, r, &user) < 0) {
		apiserver__send_status(c, ERR_UNAUTHORIZED, "Unauthorized", NULL);
		return;
	}
	/* The audit log names the requester and, apart, whom it impersonates. */
	struct auth_user requester;
	bool impersonating = http_req_header(r, "Impersonate-User") != NULL;
	if (impersonating)
		auth_user_copy(&requester, &user);
	if (apiserver__impersonate(as, c, r, &user) < 0) {
		if (impersonating)
			auth_user_fini(&requester);
		auth_user_fini(&user);
		return;
	}
	struct apiserver_attrs at;
	apiserver__request_attrs(r, &at);
	struct apiserver_audit_rec rec;
	apiserver__audit_begin(as, c, &user, &at.a, &rec);
	char reason[512];
	enum auth_decision d = apiserver__decide(as, &user, &at.a, reason, sizeof(reason));
	if (d != AUTH_ALLOW) {
		apiserver__send_forbidden(c, &user, &at.a, reason, d == AUTH_DENY);
	} else if (!strcmp(r->path, "/metrics")) {
		if (strcmp(r->method, "GET") != 0)
			apiserver__send_status(
			    c, ERR_METHOD, "the server does not allow this method on the requested resource",
			    json_object());
		else
			apiserver__metrics_serve(c);
	} else {
		struct apiserver_metric met;
		metric_begin(&met, r);
		handle_authed(as, c, r, &user);
		apiserver__metrics_end(&met, http_conn_status(c));
		if (log_enabled(LOG_DEBUG))
			trace_write(c, r);
	}
	apiserver__audit_end(as, c, r, &user, impersonating ? &requester : NULL, &at.a,
			     d == AUTH_ALLOW ? "allow" : "forbid", &rec);
	apiserver__attrs_fini(&at);
	if (impersonating)
		auth_user_fini(&requester);
	auth_user_fini(&user);
}

/* kube's verb and resource names for the metrics (a resource this server serves, or ""). */
static void metric_begin(struct apiserver_metric *m, const struct http_req *r)
{
	char *path = xstrdup(r->path);
	char *seg[16];
	int n = apiserver__split(path, seg, 16), i = 0;
	const char *group = "", *version = NULL;
	if (n >= 2 && !strcmp(seg[0], "api")) {
		version = seg[1];
		i = 2;
	} else if (n >= 3 && !strcmp(seg[0], "apis")) {
		group = seg[1];
		version = seg[2];
		i = 3;
	}
	if (version && n - i >= 3 && !strcmp(seg[i], "namespaces"))
		i += 2;
	const struct api_kind *k = version && i < n ? api_kind_by_plural(group, version, seg[i]) : NULL;
	if (!k && version && i < n && !strcmp(seg[i], "namespaces"))
		k = api_kind_by_plural("", "v1", "namespaces");
	bool named = k && i + 1 < n;
	const char *sub = k && i + 2 < n ? seg[i + 2] : "";
	static const char *const subs[] = {"status", "log", "exec", "portforward", "attach", "proxy"};
	const char *subv = "";
	for (size_t j = 0; j < sizeof(subs) / sizeof(subs[0]); j++)
		if (!strcmp(sub, subs[j]))
			subv = subs[j];
	char *w = http_query_get(r->query, "watch");
	bool watch = w && (!strcmp(w, "true") || !strcmp(w, "1"));
	free(w);
	const char *m_ = r->method, *verb;
	if (!strcmp(subv, "exec") || !strcmp(subv, "portforward") || !strcmp(subv, "attach"))
		verb = "CONNECT";
	else if (!strcmp(m_, "GET") || !strcmp(m_, "HEAD"))
		verb = watch ? "WATCH" : named ? "GET" : k ? "LIST" : "GET";
	else if (!strcmp(m_, "POST"))
		verb = "CREATE";
	else if (!strcmp(m_, "PUT"))
		verb = "UPDATE";
	else if (!strcmp(m_, "PATCH"))
		verb = "PATCH";
	else if (!strcmp(m_, "DELETE"))
		verb = named ? "DELETE" : "DELETECOLLECTION";
	else
		verb = "OTHER";
	apiserver__metrics_begin(m, verb, k ? k->plural : "", subv);
	free(path);
}

static void handle_authed(struct apiserver *as, struct http_conn *c, struct http_req *r,
			  const struct auth_user *u)
{
	if (apiserver__discovery(as, c, r) || apiserver__auth_review(as, c, r, u))
		return;
	char *path = xstrdup(r->path);
	char *seg[16];
	int n = apiserver__split(path, seg, 16);
	if (n == 5 && !strcmp(seg[0], "svcplane") && !strcmp(seg[1], "v1") && !strcmp(seg[2], "nodes") &&
	    (!strcmp(seg[4], "serving-certificate") || !strcmp(seg[4], "client-certificate")))
		apiserver__sign_node_cert(as, c, r, seg[3], !strcmp(seg[4], "client-certificate"));
	else if (n >= 2 && (!strcmp(seg[0], "api") || !strcmp(seg[0], "apis")))
		serve_resource(as, c, r, seg, n, u);
	else
		not_found(c);
	free(path);
}

/* Reads the admin token, or makes one when the file does not exist (*made set: written by
 * save_token once the cluster's identity accepted it, so a refused start writes nothing). */
static int load_token(struct apiserver *as, bool *made, char *err, size_t errlen)
{
	char *path = as->o.token_file ? xstrdup(as->o.token_file) : xasprintf("%s/token", as->data_dir);
	char *t = NULL;
	*made = false;
	if (file_read(path, 0, &t, NULL) == 0) {
		t[strcspn(t, "\r\n")] = 0;
		if (strlen(t) < 16 || strlen(t) >= sizeof(as->token)) {
			snprintf(err, errlen, "token file %s: token must be 16 to 127 characters", path);
			free(t);
			free(path);
			return -EINVAL;
		}
		snprintf(as->token, sizeof(as->token), "%s", t);
		free(t);
		free(path);
		return 0;
	}
	free(path);
	pki_random_hex(as->token, 32);
	*made = true;
	return 0;
}

static int save_token(struct apiserver *as, char *err, size_t errlen)
{
	char *path = as->o.token_file ? xstrdup(as->o.token_file) : xasprintf("%s/token", as->data_dir);
	char *line = xasprintf("%s\n", as->token);
	int rc = file_write_atomic(path, line, strlen(line), 0600);
	free(line);
	if (rc < 0)
		snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
	free(path);
	return rc;
}

static char *b64(const char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

static int write_kubeconfig(struct apiserver *as, char *err, size_t errlen)
{
	const char *host = as->o.advertise_address;
	if (!host || !*host) {
		host = as->o.bind_address;
		if (!strcmp(host, "0.0.0.0"))
			host = "127.0.0.1";
		else if (!strcmp(host, "::"))
			host = "::1";
	}
	bool v6 = strchr(host, ':') != NULL;
	char server[256];
	snprintf(server, sizeof(server), "%s://%s%s%s:%d", as->o.insecure_http ? "http" : "https",
		 v6 ? "[" : "", host, v6 ? "]" : "", httpd_port(as->httpd));
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n");
	if (!as->o.insecure_http) {
		char *capath = xasprintf("%s/pki/ca.crt", as->data_dir);
		char *ca = NULL;
		int rrc = file_read(capath, 0, &ca, NULL);
		free(capath);
		if (rrc < 0) {
			snprintf(err, errlen, "reading the CA certificate failed");
			buf_fini(&b);
			return -EIO;
		}
		char *enc = b64(ca, strlen(ca));
		buf_printf(&b, "    certificate-authority-data: %s\n", enc);
		free(enc);
		free(ca);
	}
	buf_printf(
	    &b,
	    "    server: %s\n  name: svcplane\ncontexts:\n- context:\n    cluster: svcplane\n    namespace: default\n"
	    "    user: admin\n  name: svcplane\ncurrent-context: svcplane\npreferences: {}\nusers:\n- name: admin\n"
	    "  user:\n    token: %s\n",
	    server, as->token);
	int rc = file_write_atomic(as->kubeconfig, b.data, b.len, 0600);
	buf_fini(&b);
	if (rc < 0)
		snprintf(err, errlen, "writing kubeconfig %s: %s", as->kubeconfig, strerror(-rc));
	return rc;
}

static bool is_loopback(const char *a)
{
	return !strncmp(a, "127.", 4) || !strcmp(a, "::1") || !strcmp(a, "localhost");
}

/* Frees what apiserver_start made before the HTTP server (the service-account keys, the
 * audit log, the paths) and as itself: the end of a failed start and of a stop. */
static void server_free(struct apiserver *as)
{
	apiserver__sa_fini(as);
	apiserver__audit_close(as);
	free(as->cert_names);
	free(as->data_dir);
	free(as->kubeconfig);
	free(as);
}

/* The connection limit: the option, else APISERVER_MAX_CONNS, with the open-file limit
 * raised to its hard limit for it (each connection is a descriptor) and the default cut
 * to what that limit leaves room for. */
#define APISERVER_MAX_CONNS 4096
static int conn_limit(const struct apiserver_opts *o)
{
	int want = o->max_conns ? o->max_conns : APISERVER_MAX_CONNS;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Room for the store, logs, clients of its own and the reject slots. */
	if (!o->max_conns && rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + 512 > rl.rlim_cur) {
		want = rl.rlim_cur > 512 + 64 ? (int)(rl.rlim_cur - 512) : 64;
		log_warn("the open-file limit (%llu) allows %d API connections",
			 (unsigned long long)rl.rlim_cur, want);
	}
	return want;
}

int apiserver_start(const struct apiserver_opts *o, struct store *st, struct apiserver **out, char *err,
		    size_t errlen)
{
	struct apiserver *as = xcalloc(1, sizeof(*as));
	as->o = *o;
	if (!as->o.bind_address)
		as->o.bind_address = "127.0.0.1";
	as->data_dir = xstrdup(o->data_dir);
	as->kubeconfig = o->kubeconfig ? xstrdup(o->kubeconfig) : xasprintf("%s/kubeconfig", o->data_dir);
	as->store = st;
	pthread_mutex_init(&as->ns_mu, NULL);
	pthread_cond_init(&as->cert_cond, NULL);
	pthread_mutex_init(&as->rbac_mu, NULL);
	int rc;
	if (as->o.insecure_http && !is_loopback(as->o.bind_address)) {
		snprintf(err, errlen, "plain HTTP is only allowed on a loopback address, not %s",
			 as->o.bind_address);
		rc = -EINVAL;
		goto fail;
	}
	rc = apiserver__svc_config(&as->o, &as->svc_cfg, err, errlen);
	if (rc < 0)
		goto fail;
	if ((mkdir(as->data_dir, 0700) < 0 && errno != EEXIST) || chmod(as->data_dir, 0700) < 0) {
		rc = -errno;
		snprintf(err, errlen, "data dir %s: %s", as->data_dir, strerror(-rc));
		goto fail;
	}
	bool token_made = false;
	rc = load_token(as, &token_made, err, errlen);
	if (rc < 0)
		goto fail;
	/* Before the CA and the ServiceAccount key are read: they may come from the store. */
	if (!as->o.insecure_http) {
		rc = apiserver__identity_ensure(as, err, errlen);
		if (rc < 0)
			goto fail;
	}
	if (token_made) {
		rc = save_token(as, err, errlen);
		if (rc < 0)
			goto fail;
	}
	rc = apiserver__sa_init(as, err, errlen);
	if (rc < 0)
		goto fail;
	rc = apiserver__audit_open(as, err, errlen);
	if (rc < 0)
		goto fail;
	char *pkidir = xasprintf("%s/pki", as->data_dir);
	char *certf = xasprintf("%s/server.crt", pkidir), *keyf = xasprintf("%s/server.key", pkidir);
	char *caf = xasprintf("%s/ca.crt", pkidir);
	if (!as->o.insecure_http) {
		rc = apiserver__certs_ensure(as, err, errlen);
		if (rc < 0) {
			free(pkidir);
			free(certf);
			free(keyf);
			free(caf);
			goto fail;
		}
	}
	struct httpd_opts ho = {
	    .bind_address = as->o.bind_address,
	    .port = as->o.secure_port,
	    .cert_file = as->o.insecure_http ? NULL : certf,
	    .key_file = as->o.insecure_http ? NULL : keyf,
	    .client_ca_file = as->o.insecure_http ? NULL : caf, /* client certificates (authz.c) */
	    .max_body = o->max_body ? o->max_body : 3 * 1024 * 1024,
	    .max_conns = conn_limit(o),
	    .authorize = authorize_head,
	    .nice = APISERVER_NICE,
	};
	rc = apiserver__bootstrap(as);
	if (rc < 0) {
		snprintf(err, errlen, "bootstrap: %s", err_str(rc));
		free(pkidir);
		free(certf);
		free(keyf);
		free(caf);
		goto fail;
	}
	rc = httpd_start(&ho, handle, as, &as->httpd, err, errlen);
	free(pkidir);
	free(certf);
	free(keyf);
	free(caf);
	if (rc < 0)
		goto fail;
	rc = apiserver__bootstrap_services(as, httpd_port(as->httpd));
	if (rc < 0) {
		snprintf(err, errlen, "bootstrap of system Services: %s", err_str(rc));
		httpd_stop(as->httpd);
		goto fail;
	}
	rc = write_kubeconfig(as, err, errlen);
	if (rc < 0) {
		apiserver__kubesvc_stop(as);
		httpd_stop(as->httpd);
		goto fail;
	}
	pthread_create(&as->check_thread, NULL, apiserver__startup_check, as);
	if (!as->o.insecure_http)
		pthread_create(&as->cert_thread, NULL, apiserver__certs_watch, as);
	*out = as;
	return 0;
fail:
	server_free(as);
	return rc;
}

int apiserver_port(const struct apiserver *as)
{
	return httpd_port(as->httpd);
}

const char *apiserver_kubeconfig_path(const struct apiserver *as)
{
	return as->kubeconfig;
}

void apiserver_endpoint_withdraw(struct apiserver *as)
{
	if (as)
		apiserver__kubesvc_stop(as);
}

void apiserver_stop(struct apiserver *as)
{
	if (!as)
		return;
	apiserver__kubesvc_stop(as);
	pthread_mutex_lock(&as->ns_mu);
	as->stopping = true;
	pthread_cond_broadcast(&as->cert_cond);
	pthread_mutex_unlock(&as->ns_mu);
	if (!as->o.insecure_http)
		pthread_join(as->cert_thread, NULL);
	httpd_stop(as->httpd);
	pthread_join(as->check_thread, NULL);
	apiserver__rbac_fini(as);
	server_free(as);
}
