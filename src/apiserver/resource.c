/* resource.c - the verbs on objects and collections: get, list, create, update, patch,
 * delete, deletecollection, and the status subresource.
 *
 * The write path of every verb is the same (write_object): decode, check unknown fields
 * as fieldValidation says, prepare + default + validate with the kind's rules, record the
 * field manager, then one compare-and-swap transaction in the store against the revision
 * that was read, so concurrent writers get 409 Conflict instead of losing updates.
 * dryRun=All runs everything but the store write.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/kinds.h"
#include "api/object.h"
#include "api/openapi.h"
#include "api/patch.h"
#include "api/selector.h"
#include "apiserver/internal.h"
#include "apiserver/table.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

static void send_msg(struct rq *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_msg(struct rq *q, int code, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	apiserver__send_status(q->c, code, m ? m : "error", NULL);
	free(m);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* The object as the client sees it: with kind and apiVersion. */
void apiserver__set_type(const struct api_kind *k, json_t *o)
{
	json_object_set_new(o, "apiVersion", json_string(api_kind_api_version(k)));
	json_object_set_new(o, "kind", json_string(k->kind));
}

void apiserver__out(struct rq *q, json_t *o)
{
	if (q->view)
		api_kind_convert_out(q->view, o);
	else
		apiserver__set_type(q->k, o);
}

/* Sends a stored object the caller keeps (converted on a copy for a deprecated version). */
static void send_copy(struct rq *q, int code, const json_t *o)
{
	json_t *c = q->view ? json_deep_copy(o) : json_incref((json_t *)o);
	if (q->view)
		apiserver__out(q, c);
	apiserver__send_json(q, code, c);
}

json_t *apiserver__to_table(struct rq *q, json_t *items, const char *rv, const char *cont)
{
	json_t *t = json_pack("{s:s, s:s, s:{}, s:o, s:[]}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
			      "metadata", "columnDefinitions", table_columns(q->k), "rows");
	json_t *meta = json_object_get(t, "metadata");
	if (rv)
		json_object_set_new(meta, "resourceVersion", json_string(rv));
	if (cont)
		json_object_set_new(meta, "continue", json_string(cont));
	json_t *rows = json_object_get(t, "rows");
	size_t i;
	json_t *o;
	int64_t now = now_s();
	json_array_foreach(items, i, o)
	    json_array_append_new(rows, table_row(q->k, o, q->include_object, now));
	return t;
}

/* Reads the object named by the request. Returns 0 with *obj (and *kv), or a code. With
 * several servers on one etcd this server's cache may not show yet what a client wrote
 * through another: a missing object, or one older than want_rev (> 0: the revision the
 * client names), is read again once the store is current (store_sync; a no-op on SQLite). */
static int read_object_at(struct rq *q, int64_t want_rev, json_t **obj, struct store_kv **kv_out)
{
	char *key = apiserver__key(q->k, q->ns, q->name);
	struct store_kv *kv = NULL;
	int rc = store_get(q->as->store, key, &kv);
	if ((rc == -ENOENT || (rc == 0 && kv->mod_rev < want_rev)) && store_sync(q->as->store, NULL) == 0) {
		store_kv_unref(kv);
		kv = NULL;
		rc = store_get(q->as->store, key, &kv);
	}
	free(key);
	if (rc < 0)
		return rc;
	json_t *o = apiserver__decode_kv(kv, 0);
	if (!o) {
		store_kv_unref(kv);
		return -EIO;
	}
	apiserver__set_type(q->k, o);
	*obj = o;
	if (kv_out)
		*kv_out = kv;
	else
		store_kv_unref(kv);
	return 0;
}

static int read_object(struct rq *q, json_t **obj, struct store_kv **kv_out)
{
	return read_object_at(q, 0, obj, kv_out);
}

void apiserver__get(struct rq *q)
{
	json_t *o;
	int rc = read_object(q, &o, NULL);
	if (rc == -ENOENT)
		return apiserver__send_obj_error(q, rc, q->name);
	if (rc < 0)
		return send_msg(q, rc, "reading %s: %s", q->name, err_str(rc));
	apiserver__out(q, o);
	if (q->table) {
		json_t *items = json_pack("[o]", o);
		json_t *t = apiserver__to_table(q, items, api_str(o, "metadata.resourceVersion"), NULL);
		json_decref(items);
		return apiserver__send_json(q, 200, t);
	}
	apiserver__send_json(q, 200, o);
}

/* ---- selectors shared by list, watch and deletecollection ---- */

void apiserver__filter_fini(struct filter *f)
{
	api_selector_free(f->labels);
	api_selector_free(f->fields);
}

int apiserver__filter_parse(struct rq *q, struct filter *f)
{
	char err[512] = "";
	f->labels = f->fields = NULL;
	char *ls = http_query_get(q->r->query, "labelSelector");
	char *fs = http_query_get(q->r->query, "fieldSelector");
	int rc = api_label_selector_parse(ls ? ls : "", &f->labels, err, sizeof(err));
	if (rc == 0)
		rc = api_field_selector_parse(fs ? fs : "", &f->fields, err, sizeof(err));
	char bad[128];
	if (rc == 0 && apiserver__field_labels_check(q->k, fs, bad, sizeof(bad)) < 0) {
		snprintf(err, sizeof(err), "field label not supported: %s", bad);
		rc = -EINVAL;
	}
	free(ls);
	free(fs);
	if (rc < 0) {
		apiserver__filter_fini(f);
		send_msg(q, -EBADMSG, "%s", err[0] ? err : "invalid selector");
	}
	return rc;
}

bool apiserver__filter_match(const struct filter *f, const json_t *o)
{
	return api_label_selector_match(f->labels, api_get(o, "metadata.labels")) &&
	       api_field_selector_match(f->fields, o);
}

/* continue tokens: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"} as Kubernetes does. */
static char *make_continue(int64_t rev, const char *key)
{
	json_t *t = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rev, "start", key);
	char *s = json_dumps(t, JSON_COMPACT);
	json_decref(t);
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tbl[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tbl[v & 63];
	}
	out[o] = 0;
	free(s);
	return out;
}

static int parse_continue(const char *tok, int64_t *rev, char **start)
{
	size_t n = strlen(tok);
	if (n > 4096)
		return -EBADMSG;
	struct buf b;
	buf_init(&b);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = tok[i];
		int v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-' || c == '+')
			v = 62;
		else if (c == '_' || c == '/')
			v = 63;
		else if (c == '=')
			break;
		else {
			buf_fini(&b);
			return -EBADMSG;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(&b, (char)((acc >> bits) & 0xff));
		}
	}
	json_t *t = b.data ? json_loads(b.data, 0, NULL) : NULL;
	buf_fini(&b);
	json_t *r = json_object_get(t, "rv");
	const char *s = json_string_value(json_object_get(t, "start"));
	if (!json_is_integer(r) || !s || json_integer_value(r) <= 0) {
		json_decref(t);
		return -EBADMSG;
	}
	*rev = json_integer_value(r);
	*start = xstrdup(s);
	json_decref(t);
	return 0;
}

/* kube-apiserver's "Too large resource version" (a Timeout with a cause, Retry-After 1). */
static void send_too_large_rv(struct rq *q, int64_t want, int64_t cur)
{
	char *m = xasprintf("Timeout: Too large resource version: %lld, current: %lld", (long long)want,
			    (long long)cur);
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}], s:i}, s:i}", "kind",
			       "Status", "apiVersion", "v1", "metadata", "status", "Failure", "message", m,
			       "reason", "Timeout", "details", "causes", "reason", "ResourceVersionTooLarge",
			       "message", "Too large resource version", "retryAfterSeconds", 1, "code", 504);
	char *body = json_dumps(st, JSON_COMPACT);
	http_send(q->c, 504, "application/json", "Retry-After: 1\r\n", body, strlen(body));
	free(body);
	json_decref(st);
	free(m);
}

/* The resourceVersion and resourceVersionMatch of a list, as kube-apiserver reads them
 * (ValidateListOptions, then the storage's semantics):
 *   unset                     the current state, after store_sync (consistent across servers)
 *   "0"                       the current state of this server's store
 *   N, NotOlderThan or unset  the current state once the store has reached N; it waits
 *                             up to 3 s for that (the watch cache's blockTimeout), then
 *                             504 "Too large resource version" with Retry-After
 *   N, Exact                  the state at revision N: 410 when compacted, 504 when future
 * Sets *rev (0 = current). Returns 0, or < 0 after answering. */
static int list_rv(struct rq *q, bool has_continue, int64_t *rev)
{
	char *rvs = http_query_get(q->r->query, "resourceVersion");
	char *match = http_query_get(q->r->query, "resourceVersionMatch");
	int rc = -1;
	*rev = 0;
	if (match && *match) {
		struct api_errs e;
		api_errs_init(&e);
		if (!rvs || !*rvs)
			api_err_forbidden(
			    &e, "resourceVersionMatch",
			    "resourceVersionMatch is forbidden unless resourceVersion is provided");
		if (has_continue)
			api_err_forbidden(&e, "resourceVersionMatch",
					  "resourceVersionMatch is forbidden when continue is provided");
		if (strcmp(match, "Exact") && strcmp(match, "NotOlderThan")) {
			static const char *const ok[] = {"Exact", "NotOlderThan", "", NULL};
			json_t *v = json_string(match);
			api_err_not_supported(&e, "resourceVersionMatch", v, ok);
			json_decref(v);
		}
		if (!strcmp(match, "Exact") && rvs && !strcmp(rvs, "0"))
			api_err_forbidden(
			    &e, "resourceVersionMatch",
			    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
		if (api_errs_count(&e)) {
			json_t *causes = json_incref(e.causes);
			struct buf b;
			buf_init(&b);
			buf_puts(&b, "ListOptions.meta.k8s.io \"\" is invalid: ");
			size_t i;
			json_t *c;
			if (json_array_size(causes) > 1)
				buf_putc(&b, '[');
			json_array_foreach(causes, i, c) buf_printf(
			    &b, "%s%s: %s", i ? ", " : "", api_str(c, "field"), api_str(c, "message"));
			if (json_array_size(causes) > 1)
				buf_putc(&b, ']');
			apiserver__send_status(q->c, ERR_INVALID, b.data,
					       json_pack("{s:s, s:s, s:o}", "group", "meta.k8s.io", "kind",
							 "ListOptions", "causes", causes));
			buf_fini(&b);
			api_errs_fini(&e);
			goto out;
		}
		api_errs_fini(&e);
	}
	if (!rvs || !*rvs || !strcmp(rvs, "0")) {
		/* Unset: the most recent state, so first make the store current (etcd: its
		 * revision, then this server's cache up to it; a consistent read across
		 * servers). "0": any state, straight from the cache. */
		int src = (!rvs || !*rvs) && !has_continue ? store_sync(q->as->store, NULL) : 0;
		if (src < 0) {
			send_msg(q, src, "list: the datastore did not answer: %s", err_str(src));
			goto out;
		}
		rc = 0;
		goto out;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(rvs, &end, 10);
	if (*rvs < '0' || *rvs > '9' || *end || errno || v > INT64_MAX) {
		send_msg(
		    q, -EBADMSG,
		    "resourceVersion: Invalid value: \"%s\": strconv.ParseUint: parsing \"%s\": %s", rvs, rvs,
		    errno == ERANGE || (v > INT64_MAX && !*end) ? "value out of range" : "invalid syntax");
		goto out;
	}
	int64_t want = (int64_t)v, cur = store_rev(q->as->store);
	bool exact = match && !strcmp(match, "Exact");
	/* Not there yet: wait (bounded) for the store to reach it, as the watch cache does. */
	for (int i = 0; i < 60 && want > cur && !exact; i++) {
		usleep(50000);
		cur = store_rev(q->as->store);
	}
	if (want > cur) {
		send_too_large_rv(q, want, cur);
		goto out;
	}
	if (exact && want < store_compact_rev(q->as->store)) {
		apiserver__send_status(q->c, ERR_EXPIRED,
				       "The resourceVersion for the provided list is too old.", NULL);
		goto out;
	}
	*rev = exact ? want : 0;
	rc = 0;
out:
	free(rvs);
	free(match);
	return rc;
}

/* Lists whose stored bytes pass this are "large": at most MAX_LARGE_LISTS of them run at
 * once (the others get 429 and Retry-After, as kube-apiserver's priority and fairness
 * answers a full queue), and each returns its memory to the system when done. */
#define LARGE_LIST_BYTES (1 << 20)
#define MAX_LARGE_LISTS 4
#define STREAM_FLUSH (64 << 10)

static void send_too_many(struct rq *q)
{
	static const char body[] =
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	    "\"message\":\"Too many requests, please try again later.\",\"reason\":\"TooManyRequests\","
	    "\"details\":{\"retryAfterSeconds\":1},\"code\":429}";
	http_send(q->c, 429, "application/json", "Retry-After: 1\r\n", body, sizeof(body) - 1);
}

/* A whole (unpaged) list, encoded item by item into a chunked stream: the memory of one
 * object and one STREAM_FLUSH buffer, not of the whole answer as trees and as text. The
 * stored records are references shared with the store (no copy). Answers the request. */
static void list_stream(struct rq *q, struct filter *f, const char *prefix, int64_t rev)
{
	struct store_list l;
	int rc = store_range(q->as->store, prefix, NULL, 0, rev, &l);
	if (rc < 0) {
		send_msg(q, rc, "list: %s", err_str(rc));
		return;
	}
	size_t bytes = 0;
	for (size_t i = 0; i < l.len; i++)
		bytes += l.kvs[i]->value_len;
	bool large = bytes > LARGE_LIST_BYTES;
	if (large && __atomic_add_fetch(&q->as->large_lists, 1, __ATOMIC_SEQ_CST) > MAX_LARGE_LISTS) {
		__atomic_sub_fetch(&q->as->large_lists, 1, __ATOMIC_SEQ_CST);
		store_list_fini(&l);
		send_too_many(q);
		return;
	}
	struct buf b;
	buf_init(&b);
	char *lk = xasprintf("%sList", q->k->kind);
	json_t *head = json_pack("{s:s, s:s, s:{s:s}}", "kind", lk, "apiVersion",
				 api_kind_api_version(apiserver__wire(q)), "metadata", "resourceVersion", "");
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)l.rev);
	json_object_set_new(json_object_get(head, "metadata"), "resourceVersion", json_string(rvs));
	char *hs = json_dumps(head, JSON_COMPACT);
	buf_append(&b, hs, strlen(hs) - 1); /* without the closing brace */
	buf_puts(&b, ",\"items\":[");
	free(hs);
	json_decref(head);
	free(lk);
	bool ok = http_stream_begin(q->c, 200, "application/json", apiserver__warnings(q)) == 0, first = true;
	for (size_t i = 0; ok && i < l.len; i++) {
		json_t *o = apiserver__decode_listed(q->as, l.kvs[i], 0);
		if (!o)
			continue;
		if (apiserver__filter_match(f, o)) {
			apiserver__out(q, o);
			char *s = json_dumps(o, JSON_COMPACT);
			if (!first)
				buf_putc(&b, ',');
			buf_puts(&b, s);
			first = false;
			free(s);
		}
		json_decref(o);
		if (b.len >= STREAM_FLUSH) {
			ok = http_stream_write(q->c, b.data, b.len) == 0;
			buf_reset(&b);
		}
	}
	buf_puts(&b, "]}");
	if (ok)
		http_stream_write(q->c, b.data, b.len);
	buf_fini(&b);
	store_list_fini(&l);
	if (large) {
		__atomic_sub_fetch(&q->as->large_lists, 1, __ATOMIC_SEQ_CST);
		malloc_trim(0); /* the per-thread arena would otherwise keep the peak */
	}
}

void apiserver__list(struct rq *q)
{
	struct filter f;
	if (apiserver__filter_parse(q, &f) < 0)
		return;
	char *lim = http_query_get(q->r->query, "limit");
	char *cont = http_query_get(q->r->query, "continue");
	long long limit = lim ? atoll(lim) : 0;
	if (limit < 0)
		limit = 0;
	int64_t rev = 0;
	char *start = NULL;
	if (list_rv(q, cont && *cont, &rev) < 0)
		goto out;
	if (cont && *cont && parse_continue(cont, &rev, &start) < 0) {
		send_msg(q, -EBADMSG, "invalid continue token");
		goto out;
	}
	char *prefix = apiserver__prefix(q->k, q->ns);
	if (!limit && !q->table && !(cont && *cont)) {
		list_stream(q, &f, prefix, rev);
		free(prefix);
		goto out;
	}
	json_t *items = json_array();
	char *next = NULL;
	int64_t list_rev = 0;
	/* Read pages from the store until limit matches are found (selectors filter). */
	for (;;) {
		struct store_list l;
		int rc = store_range(q->as->store, prefix, start, limit ? (size_t)limit : 0, rev, &l);
		if (rc == ERR_EXPIRED) {
			apiserver__send_status(
			    q->c, ERR_EXPIRED,
			    "The provided continue parameter is too old to display a consistent list "
			    "result. You can start a new list without the continue parameter, or use "
			    "the continue token in this response to retrieve the remainder of the "
			    "results. Continuing with the provided token results in an inconsistent "
			    "list - objects that were created, modified, or deleted between the time "
			    "the first chunk was returned and now may show up in the list.",
			    NULL);
			json_decref(items);
			free(prefix);
			goto out;
		}
		if (rc < 0) {
			send_msg(q, rc, "list: %s", err_str(rc));
			json_decref(items);
			free(prefix);
			goto out;
		}
		list_rev = l.rev;
		rev = l.rev;
		for (size_t i = 0; i < l.len; i++) {
			json_t *o = apiserver__decode_listed(q->as, l.kvs[i], 0);
			if (!o)
				continue;
			if (apiserver__filter_match(&f, o) &&
			    (!limit || (long long)json_array_size(items) < limit)) {
				if (!q->table || q->include_object == 2)
					apiserver__out(q, o);
				json_array_append_new(items, o);
				if (limit && (long long)json_array_size(items) == limit &&
				    (i + 1 < l.len || l.more)) {
					free(next);
					next = make_continue(l.rev, l.kvs[i]->key);
					break;
				}
			} else {
				json_decref(o);
			}
		}
		bool more = l.more && !next;
		free(start);
		start = l.len ? xstrdup(l.kvs[l.len - 1]->key) : NULL;
		store_list_fini(&l);
		if (!more || !start)
			break;
	}
	free(prefix);
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)list_rev);
	if (q->table) {
		json_t *t = apiserver__to_table(q, items, rvs, next);
		json_decref(items);
		apiserver__send_json(q, 200, t);
	} else {
		char *lk = xasprintf("%sList", q->k->kind);
		json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", lk, "apiVersion",
					 api_kind_api_version(apiserver__wire(q)), "metadata",
					 "resourceVersion", rvs, "items", items);
		if (next)
			json_object_set_new(json_object_get(list, "metadata"), "continue", json_string(next));
		free(lk);
		apiserver__send_json(q, 200, list);
	}
	free(next);
out:
	free(start);
	free(lim);
	free(cont);
	apiserver__filter_fini(&f);
}

/* ---- decoding request bodies ---- */

static bool media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* Decodes the request body into an object. Answers the request itself on failure. */
static json_t *decode_body(struct rq *q)
{
	const char *ct = http_req_header(q->r, "Content-Type");
	char err[512] = "";
	json_t *o = NULL;
	int rc;
	if (!q->r->body_len) {
		send_msg(q, -EBADMSG, "the body of the request is empty");
		return NULL;
	}
	if (!ct || media_is(ct, "application/json") || media_is(ct, "*/*")) {
		rc = api_json_decode(q->r->body, q->r->body_len, &o, err, sizeof(err));
	} else if (media_is(ct, "application/yaml")) {
		json_t *docs = NULL;
		rc = api_yaml_decode(q->r->body, q->r->body_len, &docs, err, sizeof(err));
		if (rc == 0) {
			if (json_array_size(docs) != 1) {
				snprintf(err, sizeof(err), "the body must hold exactly one YAML document");
				rc = -EBADMSG;
			} else {
				o = json_incref(json_array_get(docs, 0));
			}
		}
		json_decref(docs);
	} else if (media_is(ct, "application/vnd.kubernetes.protobuf")) {
		rc =
		    api_proto_decode((const unsigned char *)q->r->body, q->r->body_len, &o, err, sizeof(err));
	} else {
		send_msg(q, ERR_UNSUPPORTED_MEDIA,
			 "the body of the request was in an unknown format - accepted media types include: "
			 "application/json, application/yaml, application/vnd.kubernetes.protobuf");
		return NULL;
	}
	if (rc < 0) {
		if (rc == ERR_UNSUPPORTED_MEDIA)
			send_msg(q, rc, "%s", err);
		else if (!strncmp(err, "strict decoding error", 21)) /* kube's decoder prefix */
			send_msg(q, -EBADMSG, "%s in version \"%s\" cannot be handled as a %s: %s",
				 apiserver__wire(q)->kind, apiserver__wire(q)->version,
				 apiserver__wire(q)->kind, err);
		else
			send_msg(q, -EBADMSG, "%s", err[0] ? err : "malformed request body");
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		send_msg(q, -EBADMSG, "Object 'Kind' is missing in '%.*s'",
			 (int)(q->r->body_len > 200 ? 200 : q->r->body_len), q->r->body);
		return NULL;
	}
	return o;
}

/* Checks apiVersion/kind of a body against the endpoint; fills them when absent. */
static bool check_type(struct rq *q, json_t *o)
{
	const struct api_kind *wk = apiserver__wire(q);
	const char *av = api_str(o, "apiVersion"), *kind = api_str(o, "kind");
	const char *want = api_kind_api_version(wk);
	if (kind && *kind && strcmp(kind, wk->kind) != 0) {
		send_msg(q, -EBADMSG,
			 "the kind in the request body (%s) does not match the kind of the resource (%s)",
			 kind, wk->kind);
		return false;
	}
	if (av && *av && strcmp(av, want) != 0) {
		send_msg(q, -EBADMSG,
			 "the API version in the data (%s) does not match the expected API version (%s)", av,
			 want);
		return false;
	}
	apiserver__set_type(wk, o);
	return true;
}

/* An unknown field's path as kube's messages name it: without the leading dot. */
static const char *unknown_name(const json_t *p)
{
	const char *s = json_string_value(p);
	if (s && *s == '.')
		s++;
	return s ? s : "";
}

/* fieldValidation: Strict rejects unknown fields, Warn (default) warns and drops, Ignore drops. */
static bool check_fields(struct rq *q, json_t *o)
{
	char *fv = http_query_get(q->r->query, "fieldValidation");
	const char *mode = fv && *fv ? fv : "Warn";
	if (strcmp(mode, "Strict") && strcmp(mode, "Warn") && strcmp(mode, "Ignore")) {
		send_msg(q, -EBADMSG, "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\"");
		free(fv);
		return false;
	}
	json_t *unknown = json_array();
	const struct api_kind *wk = apiserver__wire(q);
	size_t n = api_unknown_fields(o, wk->schema, unknown);
	bool ok = true;
	if (n && !strcmp(mode, "Strict")) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ",
			   wk->kind, wk->version, wk->kind);
		size_t i;
		json_t *p;
		json_array_foreach(unknown, i, p)
		{
			buf_printf(&b, "%sunknown field \"%s\"", i ? ", " : "", unknown_name(p));
		}
		apiserver__send_status(q->c, -EBADMSG, b.data, NULL);
		buf_fini(&b);
		ok = false;
	} else if (n) {
		if (!strcmp(mode, "Warn")) {
			size_t i;
			json_t *p;
			json_array_foreach(unknown, i, p)
			{
				buf_printf(q->warnings, "Warning: 299 - \"unknown field \\\"%s\\\"\"\r\n",
					   unknown_name(p));
			}
		}
		api_drop_unknown_fields(o, wk->schema);
	}
	json_decref(unknown);
	free(fv);
	return ok;
}

/* A whole body of a create or update: its type and fields checked in the version the
 * client speaks, then converted to the stored one. Answers the request itself on failure. */
static bool accept_body(struct rq *q, json_t *o)
{
	if (!check_type(q, o) || !check_fields(q, o))
		return false;
	if (q->view)
		api_kind_convert_in(q->view, o);
	return true;
}

static void gen_name(json_t *meta)
{
	const char *gn = api_str(meta, "generateName");
	const char *name = api_str(meta, "name");
	if ((name && *name) || !gn || !*gn)
		return;
	static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char r[5];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 7, sizeof(r));
	char suffix[6];
	for (int i = 0; i < 5; i++)
		suffix[i] = alpha[r[i] % (sizeof(alpha) - 1)];
	suffix[5] = 0;
	size_t keep = strlen(gn) > 58 ? 58 : strlen(gn);
	char *n = xasprintf("%.*s%s", (int)keep, gn, suffix);
	json_object_set_new(meta, "name", json_string(n));
	free(n);
}

static void send_invalid(struct rq *q, const char *name, struct api_errs *e)
{
	struct buf b;
	buf_init(&b);
	size_t n = api_errs_count(e);
	buf_printf(&b, "%s \"%s\" is invalid: %s", q->k->kind, name ? name : "", n > 1 ? "[" : "");
	size_t i;
	json_t *c;
	json_array_foreach(e->causes, i, c)
	    buf_printf(&b, "%s%s: %s", i ? ", " : "", api_str(c, "field"), api_str(c, "message"));
	if (n > 1)
		buf_putc(&b, ']');
	json_t *d =
	    json_pack("{s:s, s:s, s:O}", "name", name ? name : "", "kind", q->k->kind, "causes", e->causes);
	if (q->k->group[0])
		json_object_set_new(d, "group", json_string(q->k->group));
	apiserver__send_status(q->c, ERR_INVALID, b.data, d);
	buf_fini(&b);
}

/* Checks that the namespace of a namespaced write exists and is not terminating. */
static bool check_namespace(struct rq *q, const char *name)
{
	if (!q->k->namespaced)
		return true;
	char *key = xasprintf("/registry/core/namespaces/%s", q->ns);
	struct store_kv *kv = NULL;
	int rc = store_get(q->as->store, key, &kv);
	if (rc == -ENOENT && store_sync(q->as->store, NULL) == 0) /* made through another server? */
		rc = store_get(q->as->store, key, &kv);
	free(key);
	if (rc == -ENOENT) {
		char *m = xasprintf("namespaces \"%s\" not found", q->ns);
		apiserver__send_status(q->c, -ENOENT, m,
				       json_pack("{s:s, s:s}", "name", q->ns, "kind", "namespaces"));
		free(m);
		return false;
	}
	bool terminating = kv && strstr(kv->value, "\"deletionTimestamp\"") != NULL;
	store_kv_unref(kv);
	if (terminating) {
		char *qual = apiserver__qualified(q->k);
		char *m = xasprintf(
		    "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is "
		    "being terminated",
		    qual, name ? name : "", q->ns);
		apiserver__send_status(
		    q->c, -EACCES, m,
		    json_pack("{s:s, s:s}", "name", name ? name : "", "kind", q->k->plural));
		free(m);
		free(qual);
		return false;
	}
	return true;
}

/* The stored form: the object without metadata.resourceVersion (the store's mod_rev is
 * the version). The field is taken out and put back rather than copying the object. */
static char *dump_for_store(const json_t *o)
{
	json_t *meta = json_object_get(o, "metadata");
	json_t *rv = json_incref(json_object_get(meta, "resourceVersion"));
	if (rv)
		json_object_del(meta, "resourceVersion");
	char *s = json_dumps(o, JSON_COMPACT);
	if (rv)
		json_object_set_new(meta, "resourceVersion", rv);
	return s;
}

/* The reply to a write: the object as written, with the version it was stored at (the
 * same as decoding the stored bytes, without the parse). */
static json_t *written(json_t *w, const struct store_kv *kv)
{
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)kv->mod_rev);
	json_object_set_new(api_obj(w, "metadata"), "resourceVersion", json_string(rv));
	return w;
}

static const char *manager(struct rq *q, const char *fallback)
{
	if (q->field_manager && *q->field_manager)
		return q->field_manager;
	const char *ua = http_req_header(q->r, "User-Agent");
	static __thread char m[128];
	if (ua && *ua) {
		size_t n = strcspn(ua, "/ ");
		snprintf(m, sizeof(m), "%.*s", (int)(n > 120 ? 120 : n), ua);
		return m;
	}
	return fallback;
}

static bool is_service(const struct api_kind *k)
{
	return !k->group[0] && !strcmp(k->kind, "Service");
}

/* Answers a lost race on a requested allocation key with the allocator's field error. */
static void send_taken(struct rq *q, const char *name, const json_t *svc, const char *key)
{
	struct api_errs e;
	api_errs_init(&e);
	const char *ipp = "/registry/allocations/ip/", *pp = "/registry/allocations/nodeport/";
	if (!strncmp(key, ipp, strlen(ipp))) {
		api_service_err_ip_taken(&e, svc, key + strlen(ipp));
	} else {
		int port = atoi(key + strlen(pp));
		size_t i;
		json_t *p;
		json_array_foreach(api_get(svc, "spec.ports"), i, p)
		{
			if (json_integer_value(json_object_get(p, "nodePort")) == port) {
				api_service_err_port_taken(&e, i, port);
				break;
			}
		}
		if (!api_errs_count(&e))
			api_service_err_port_taken(&e, 0, port);
	}
	send_invalid(q, name, &e);
	api_errs_fini(&e);
}

/* Endpoints may not point at a cluster IP: kube-proxy does not support virtual IPs as
 * destinations (the seed notes; Kubernetes documents it without enforcing it). */
static void check_not_cluster_ips(struct apiserver *as, const json_t *ep, struct api_errs *e)
{
	size_t i, j;
	json_t *s, *a;
	json_array_foreach(json_object_get(ep, "subsets"), i, s)
	{
		static const char *lists[] = {"addresses", "notReadyAddresses"};
		for (int l = 0; l < 2; l++)
			json_array_foreach(json_object_get(s, lists[l]), j, a)
			{
				struct ip_addr ip;
				char txt[IP_STRLEN], key[128];
				if (ip_parse(api_str(a, "ip") ?: "", &ip) < 0)
					continue;
				snprintf(key, sizeof(key), "/registry/allocations/ip/%s",
					 ip_format(&ip, txt, sizeof(txt)));
				struct store_kv *kv = NULL;
				if (store_get(as->store, key, &kv) == 0) {
					char *f = xasprintf("subsets[%zu].%s[%zu].ip", i, lists[l], j);
					api_err_invalid(
					    e, f, json_object_get(a, "ip"),
					    "may not be the cluster IP of a Service: Service virtual IPs are not supported as endpoints");
					free(f);
				}
				store_kv_unref(kv);
			}
	}
}

/* The one write path: plans allocations (Services), then commits *wp as the new version
 * of old (NULL = create, old_rev its revision) together with the allocation keys, in one
 * transaction. finalize deletes instead of putting. e holds field errors found so far.
 * Returns 0 with *res (and *wp the object written, possibly with allocations filled),
 * 1 after answering an error itself, or -ESTALE without answering when the object
 * changed under us and the caller may retry. */
static int commit(struct rq *q, const char *name, json_t **wp, const json_t *old, int64_t old_rev,
		  bool status, bool finalize, struct api_errs *e, struct store_result *res)
{
	json_t *base = *wp;
	bool svc = is_service(q->k) && !finalize;
	/* Every write is held to a request body's limit, whatever produced it (a patch, an
	 * apply, a protobuf body): the store never takes an object it could not serve back. */
	size_t lim = apiserver__max_object(q->as);
	if (!finalize && api_json_size_max(base, lim) > lim) {
		send_msg(q, -E2BIG, "Request entity too large: limit is %zu", lim);
		return 1;
	}
	for (int attempt = 0; attempt < 16; attempt++) {
		json_t *w = svc ? json_deep_copy(base) : json_incref(base);
		struct svc_plan plan = {0};
		char msg[512] = "";
		int rc = 0;
		if (svc && !status)
			rc = apiserver__svc_plan(q->as, w, old, &plan, e, msg, sizeof(msg));
		else if (svc && status)
			api_service_validate_status(w, old, e);
		else if (finalize && is_service(q->k))
			apiserver__svc_release_ops(old, &plan);
		if (!finalize && !q->k->group[0] && !strcmp(q->k->kind, "Endpoints"))
			check_not_cluster_ips(q->as, w, e);
		if (rc == 0 && api_errs_count(e))
			rc = ERR_INVALID;
		if (rc < 0) {
			if (rc == ERR_INVALID) {
				send_invalid(q, name, e);
			} else if (rc == -EACCES) {
				char *m = xasprintf("%s \"%s\" is forbidden: %s", q->k->plural, name, msg);
				apiserver__send_status(
				    q->c, -EACCES, m,
				    json_pack("{s:s, s:s}", "name", name, "kind", q->k->plural));
				free(m);
			} else {
				apiserver__send_status(q->c, rc == -EEXIST ? ERR_INVALID : rc,
						       msg[0] ? msg : err_str(rc), NULL);
			}
			apiserver__svc_plan_fini(&plan);
			json_decref(w);
			return 1;
		}
		if (q->dry_run && !old && !finalize) {
			/* A dry-run create of a name that exists is AlreadyExists, as the real one. */
			char *dkey = apiserver__key(q->k, q->ns, name);
			struct store_kv *dkv = NULL;
			bool exists = store_get(q->as->store, dkey, &dkv) == 0;
			store_kv_unref(dkv);
			free(dkey);
			if (exists) {
				apiserver__svc_plan_fini(&plan);
				json_decref(w);
				apiserver__send_obj_error(q, -EEXIST, name);
				return 1;
			}
		}
		if (q->dry_run) {
			apiserver__svc_plan_fini(&plan);
			json_decref(base);
			*wp = w;
			res->kv = NULL;
			return 0;
		}
		char *key = apiserver__key(q->k, q->ns, name);
		char *val = finalize ? NULL : dump_for_store(w);
		size_t n;
		struct store_op *ops =
		    apiserver__svc_plan_txn(&plan,
					    (struct store_op){.kind = finalize ? STORE_DELETE : STORE_PUT,
							      .key = key,
							      .value = val,
							      .value_len = val ? strlen(val) : 0,
							      .expect_mod_rev = old ? old_rev : 0},
					    &n);
		struct store_result *rs = xcalloc(n, sizeof(*rs));
		size_t failed = 0;
		rc = store_txn(q->as->store, ops, n, rs, NULL, &failed);
		*res = rs[0];
		for (size_t i = 1; i < n; i++)
			store_kv_unref(rs[i].kv);
		free(rs);
		bool retry_pick = rc == -EEXIST && failed > 0 && plan.picked.v[failed - 1];
		char *lost_key = rc == -EEXIST && failed > 0 ? xstrdup(ops[failed].key) : NULL;
		free(ops);
		free(key);
		free(val);
		apiserver__svc_plan_fini(&plan);
		if (rc == 0) {
			json_decref(base);
			*wp = w;
			free(lost_key);
			return 0;
		}
		if (retry_pick) {
			json_decref(w);
			free(lost_key);
			continue;
		}
		if (lost_key) {
			send_taken(q, name, w, lost_key);
			free(lost_key);
			json_decref(w);
			return 1;
		}
		json_decref(w);
		if (rc == -ESTALE && old)
			return -ESTALE;
		if (rc == -EEXIST || rc == -ESTALE || rc == -ENOENT)
			apiserver__send_obj_error(q, rc, name);
		else
			send_msg(q, rc, "storing %s: %s", name, err_str(rc));
		return 1;
	}
	send_msg(q, ERR_UNAVAILABLE, "could not allocate for %s after repeated conflicts; try again", name);
	return 1;
}

/* The DefaultIngressClass admission plugin: a new Ingress naming no class (neither
 * spec.ingressClassName nor the old kubernetes.io/ingress.class annotation) gets the
 * IngressClass annotated ingressclass.kubernetes.io/is-default-class: "true" (the newest
 * one when several are, as kube-apiserver picks). */
static void default_ingress_class(struct rq *q, json_t *o)
{
	if (strcmp(q->k->kind, "Ingress") || strcmp(q->k->group, "networking.k8s.io") ||
	    api_str(o, "spec.ingressClassName") ||
	    json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"),
			    "kubernetes.io/ingress.class"))
		return;
	const struct api_kind *ck = api_kind_by_plural("networking.k8s.io", "v1", "ingressclasses");
	char *prefix = apiserver__prefix(ck, NULL);
	struct store_list l;
	if (store_range(q->as->store, prefix, NULL, 0, 0, &l) < 0) {
		free(prefix);
		return;
	}
	char *best = NULL, *best_ts = NULL;
	for (size_t i = 0; i < l.len; i++) {
		json_t *c = json_loadb(l.kvs[i]->value, l.kvs[i]->value_len, 0, NULL);
		const char *d = json_string_value(
		    json_object_get(json_object_get(json_object_get(c, "metadata"), "annotations"),
				    "ingressclass.kubernetes.io/is-default-class"));
		const char *ts = api_str(c, "metadata.creationTimestamp"), *n = api_str(c, "metadata.name");
		if (d && !strcmp(d, "true") && n && (!best_ts || strcmp(ts ? ts : "", best_ts) > 0)) {
			free(best);
			free(best_ts);
			best = xstrdup(n);
			best_ts = xstrdup(ts ? ts : "");
		}
		json_decref(c);
	}
	store_list_fini(&l);
	free(prefix);
	if (best)
		json_object_set_new(api_obj(o, "spec"), "ingressClassName", json_string(best));
	free(best);
	free(best_ts);
}

/* Stores a new object (create). Answers the request. */
static void create_object(struct rq *q, json_t *o, bool from_apply)
{
	json_t *meta = api_obj(o, "metadata");
	const char *bns = api_str(meta, "namespace");
	if (q->k->namespaced) {
		if (bns && *bns && strcmp(bns, q->ns) != 0) {
			send_msg(
			    q, -EBADMSG,
			    "the namespace of the provided object does not match the namespace sent on the request");
			return;
		}
		json_object_set_new(meta, "namespace", json_string(q->ns));
	}
	gen_name(meta);
	const char *name = api_str(meta, "name");
	if (q->name && name && strcmp(name, q->name) != 0) {
		send_msg(q, -EBADMSG, "the name of the object (%s) does not match the name on the URL (%s)",
			 name, q->name);
		return;
	}
	if (!check_namespace(q, name))
		return;
	char now[40], uid[40];
	api_now(now, sizeof(now));
	api_uuid(uid, sizeof(uid));
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(now));
	json_object_del(meta, "resourceVersion");
	json_object_del(meta, "deletionTimestamp");
	json_object_del(meta, "deletionGracePeriodSeconds");
	json_object_del(meta, "selfLink");
	if (api_kind_has_generation(q->k))
		json_object_set_new(meta, "generation", json_integer(1));
	else
		json_object_del(meta, "generation");
	api_prepare_create(q->k, o);
	api_default(q->k, o);
	default_ingress_class(q, o);
	struct api_errs e;
	api_errs_init(&e);
	api_validate(q->k, o, NULL, &e);
	if (api_errs_count(&e) && !is_service(q->k)) {
		send_invalid(q, name, &e);
		api_errs_fini(&e);
		return;
	}
	if (!apiserver__admit(q, name, o)) {
		api_errs_fini(&e);
		return;
	}
	if (!from_apply)
		api_managed_fields_update(NULL, o, q->k->schema, manager(q, "unknown"),
					  api_kind_api_version(q->k), now);
	json_t *w = json_incref(o);
	struct store_result res = {0};
	int rc = commit(q, name, &w, NULL, 0, false, false, &e, &res);
	api_errs_fini(&e);
	if (rc != 0) {
		json_decref(w);
		return;
	}
	if (q->dry_run) {
		apiserver__out(q, w);
		return apiserver__send_json(q, 201, w);
	}
	json_t *out = written(w, res.kv);
	store_kv_unref(res.kv);
	apiserver__out(q, out);
	apiserver__send_json(q, 201, out);
}

void apiserver__create(struct rq *q)
{
	if (q->sub)
		return send_msg(q, ERR_METHOD,
				"the server does not allow this method on the requested resource");
	json_t *o = decode_body(q);
	if (!o)
		return;
	if (accept_body(q, o))
		create_object(q, o, false);
	json_decref(o);
}

static bool spec_changed(const json_t *a, const json_t *b)
{
	/* Everything but metadata and status counts as spec for the generation. */
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_equal(v, json_object_get(b, k)))
			return true;
	}
	json_object_foreach((json_t *)b, k, v)
	{
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_object_get(a, k))
			return true;
	}
	return false;
}

static bool same_ignoring_managed_time(const json_t *a, const json_t *b)
{
	json_t *ca = json_deep_copy(a), *cb = json_deep_copy(b);
	json_object_del(api_obj(ca, "metadata"), "managedFields");
	json_object_del(api_obj(cb, "metadata"), "managedFields");
	json_object_del(api_obj(ca, "metadata"), "resourceVersion");
	json_object_del(api_obj(cb, "metadata"), "resourceVersion");
	bool eq = json_equal(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return eq;
}

/* Writes o as the new version of old (read at old_rev). Returns 0 after answering, or
 * -ESTALE without answering when the CAS lost a race and retry is allowed. */
static int update_object(struct rq *q, json_t *o, const json_t *old, int64_t old_rev, bool status,
			 bool retryable, int ok_code)
{
	json_t *meta = api_obj(o, "metadata");
	const json_t *ometa = json_object_get(old, "metadata");
	const char *name = api_str(ometa, "name");
	const char *bname = api_str(meta, "name");
	if (bname && strcmp(bname, name) != 0) {
		send_msg(q, -EBADMSG, "the name of the object (%s) does not match the name on the URL (%s)",
			 bname, name);
		return 0;
	}
	const char *bns = api_str(meta, "namespace");
	if (q->k->namespaced && bns && *bns && strcmp(bns, q->ns) != 0) {
		send_msg(
		    q, -EBADMSG,
		    "the namespace of the provided object does not match the namespace sent on the request");
		return 0;
	}
	const char *rv = api_str(meta, "resourceVersion");
	if (rv && *rv) {
		char cur[32];
		snprintf(cur, sizeof(cur), "%lld", (long long)old_rev);
		if (strcmp(rv, cur) != 0) {
			apiserver__send_obj_error(q, -ESTALE, name);
			return 0;
		}
	}
	const char *uid = api_str(meta, "uid");
	if (uid && *uid && strcmp(uid, api_str(ometa, "uid") ?: "") != 0) {
		char *m = xasprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s",
				    uid, api_str(ometa, "uid") ?: "");
		apiserver__send_status(q->c, ERR_CONFLICT, m, NULL);
		free(m);
		return 0;
	}
	/* System fields come from the stored object. */
	static const char *sys[] = {"uid",	 "creationTimestamp", "namespace",
				    "name",	 "deletionTimestamp", "deletionGracePeriodSeconds",
				    "generation"};
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		json_t *v = json_object_get(ometa, sys[i]);
		if (v)
			json_object_set(meta, sys[i], v);
		else
			json_object_del(meta, sys[i]);
	}
	json_object_del(meta, "selfLink");
	apiserver__set_type(q->k, o);
	api_prepare_update(q->k, o, old, status);
	api_default(q->k, o);
	if (is_service(q->k) && !status)
		api_service_default(o, old, &q->as->svc_cfg);
	struct api_errs e;
	api_errs_init(&e);
	api_validate(q->k, o, old, &e);
	if (api_errs_count(&e) && !is_service(q->k)) {
		send_invalid(q, name, &e);
		api_errs_fini(&e);
		return 0;
	}
	if (!apiserver__admit(q, name, o)) {
		api_errs_fini(&e);
		return 0;
	}
	if (api_kind_has_generation(q->k) && spec_changed(o, old))
		json_object_set_new(
		    meta, "generation",
		    json_integer(json_integer_value(json_object_get(ometa, "generation")) + 1));
	char now[40];
	api_now(now, sizeof(now));
	if (ok_code != -1)
		api_managed_fields_update(old, o, q->k->schema, manager(q, "unknown"),
					  api_kind_api_version(q->k), now);
	/* Finalized deletion: the last finalizer removed from an object being deleted (for a
	 * Namespace also the last of spec.finalizers, which the namespace controller removes
	 * through namespaces/NAME/finalize once the namespace is empty). */
	bool is_ns = !q->k->group[0] && !strcmp(q->k->kind, "Namespace");
	bool finalize = json_object_get(meta, "deletionTimestamp") &&
			json_array_size(json_object_get(meta, "finalizers")) == 0 &&
			(!is_ns || json_array_size(api_get(o, "spec.finalizers")) == 0);
	if (!api_errs_count(&e) && same_ignoring_managed_time(o, old) && !finalize) {
		api_errs_fini(&e);
		send_copy(q, 200, old);
		return 0;
	}
	json_t *w = json_incref(o);
	struct store_result res = {0};
	int rc = commit(q, name, &w, old, old_rev, status, finalize, &e, &res);
	api_errs_fini(&e);
	if (rc == -ESTALE && !retryable) {
		apiserver__send_obj_error(q, -ESTALE, name);
		rc = 1;
	}
	if (rc != 0) {
		json_decref(w);
		return rc == -ESTALE ? -ESTALE : 0;
	}
	json_t *out = finalize || q->dry_run ? w : written(w, res.kv);
	store_kv_unref(res.kv);
	apiserver__out(q, out);
	apiserver__send_json(q, ok_code > 0 ? ok_code : 200, out);
	return 0;
}

void apiserver__update(struct rq *q)
{
	json_t *o = decode_body(q);
	if (!o)
		return;
	if (!accept_body(q, o)) {
		json_decref(o);
		return;
	}
	json_t *old = NULL;
	struct store_kv *kv = NULL;
	const char *body_rv = api_str(o, "metadata.resourceVersion");
	int rc = read_object_at(q, body_rv ? strtoll(body_rv, NULL, 10) : 0, &old, &kv);
	if (rc == -ENOENT && api_kind_create_on_update(q->k) && !q->sub) {
		create_object(q, o, false);
	} else if (rc < 0) {
		apiserver__send_obj_error(q, rc, q->name);
	} else if (q->sub && !strcmp(q->sub, "finalize")) {
		/* namespaces/NAME/finalize changes spec.finalizers only (kube-apiserver's
		 * finalizeREST); the resourceVersion of the body still guards the write. */
		json_t *w = json_deep_copy(old);
		json_t *fin = api_get(o, "spec.finalizers");
		json_object_set_new(api_obj(w, "spec"), "finalizers",
				    json_is_array(fin) ? json_incref(fin) : json_array());
		const char *rv = api_str(o, "metadata.resourceVersion");
		if (rv)
			json_object_set_new(api_obj(w, "metadata"), "resourceVersion", json_string(rv));
		else
			json_object_del(api_obj(w, "metadata"), "resourceVersion");
		update_object(q, w, old, kv->mod_rev, false, false, 200);
		json_decref(w);
	} else {
		update_object(q, o, old, kv->mod_rev, q->sub != NULL, false, 200);
	}
	json_decref(old);
	store_kv_unref(kv);
	json_decref(o);
}

void apiserver__patch(struct rq *q)
{
	const char *ct = http_req_header(q->r, "Content-Type");
	enum { P_JSON, P_MERGE, P_SMP, P_APPLY } type;
	if (media_is(ct, "application/json-patch+json"))
		type = P_JSON;
	else if (media_is(ct, "application/merge-patch+json"))
		type = P_MERGE;
	else if (media_is(ct, "application/strategic-merge-patch+json"))
		type = P_SMP;
	else if (media_is(ct, "application/apply-patch+yaml") || media_is(ct, "application/apply-patch+cbor"))
		type = P_APPLY;
	else
		return send_msg(
		    q, ERR_UNSUPPORTED_MEDIA,
		    "the body of the request was in an unknown format - accepted media types include: "
		    "application/json-patch+json, application/merge-patch+json, "
		    "application/apply-patch+yaml, application/strategic-merge-patch+json");
	char err[1024] = "";
	json_t *patch = NULL;
	int rc;
	if (type == P_APPLY) {
		json_t *docs = NULL;
		rc = api_yaml_decode(q->r->body, q->r->body_len, &docs, err, sizeof(err));
		if (rc == 0 && json_array_size(docs) == 1)
			patch = json_incref(json_array_get(docs, 0));
		else if (rc == 0) {
			rc = -EBADMSG;
			snprintf(err, sizeof(err), "the apply patch must hold exactly one YAML document");
		}
		json_decref(docs);
	} else {
		rc = api_json_decode(q->r->body, q->r->body_len, &patch, err, sizeof(err));
	}
	if (rc < 0)
		return send_msg(q, -EBADMSG, "%s", err[0] ? err : "malformed patch");
	if ((type == P_JSON && !json_is_array(patch)) || (type != P_JSON && !json_is_object(patch))) {
		json_decref(patch);
		return send_msg(q, -EBADMSG,
				type == P_JSON
				    ? "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
				    : "json: cannot unmarshal into Go value of type map[string]interface {}");
	}
	if (type == P_APPLY && (!check_type(q, patch) || !check_fields(q, patch))) {
		json_decref(patch);
		return;
	}
	char *force_s = http_query_get(q->r->query, "force");
	bool force = force_s && !strcmp(force_s, "true");
	free(force_s);
	for (int attempt = 0; attempt < 8; attempt++) {
		json_t *old = NULL;
		struct store_kv *kv = NULL;
		rc = read_object(q, &old, &kv);
		if (rc == -ENOENT && type == P_APPLY && !q->sub) {
			if (!q->field_manager || !*q->field_manager) {
				send_msg(
				    q, -EBADMSG,
				    "PATCH, application/apply-patch+yaml requires fieldManager to be set");
				break;
			}
			json_t *out = NULL, *conflicts = NULL;
			char now[40];
			api_now(now, sizeof(now));
			rc = api_server_side_apply(NULL, patch, apiserver__wire(q)->schema, q->field_manager,
						   api_kind_api_version(apiserver__wire(q)), now, force, &out,
						   &conflicts, err, sizeof(err));
			if (rc >= 0 && q->view)
				api_kind_convert_in(q->view, out);
			json_decref(conflicts);
			if (rc < 0) {
				send_msg(q, -EBADMSG, "%s", err);
				break;
			}
			json_t *meta = api_obj(out, "metadata");
			if (!api_str(meta, "name"))
				json_object_set_new(meta, "name", json_string(q->name));
			create_object(q, out, true);
			json_decref(out);
			break;
		}
		if (rc < 0) {
			apiserver__send_obj_error(q, rc, q->name);
			break;
		}
		json_t *res = NULL, *conflicts = NULL;
		char now[40];
		api_now(now, sizeof(now));
		/* A deprecated version's patch is written against that version's shape. */
		json_t *base = old;
		if (q->view) {
			base = json_deep_copy(old);
			api_kind_convert_out(q->view, base);
		}
		switch (type) {
		case P_JSON:
			rc = api_json_patch_limit(base, patch, apiserver__max_object(q->as), &res, err,
						  sizeof(err));
			break;
		case P_MERGE:
			res = api_merge_patch(base, patch);
			rc = res ? 0 : -EINVAL;
			break;
		case P_SMP:
			rc = api_strategic_merge_patch(base, patch, apiserver__wire(q)->schema, &res, err,
						       sizeof(err));
			break;
		case P_APPLY:
			if (!q->field_manager || !*q->field_manager) {
				rc = -EINVAL;
				snprintf(
				    err, sizeof(err),
				    "PATCH, application/apply-patch+yaml requires fieldManager to be set");
				break;
			}
			rc = api_server_side_apply_causes(base, patch, apiserver__wire(q)->schema,
							  q->field_manager,
							  api_kind_api_version(apiserver__wire(q)), now,
							  force, &res, &conflicts, err, sizeof(err));
			break;
		}
		if (base != old)
			json_decref(base);
		if (rc == -EBUSY) {
			apiserver__send_status(
			    q->c, ERR_CONFLICT, err,
			    json_pack("{s:o}", "causes", conflicts ? json_incref(conflicts) : json_array()));
			json_decref(conflicts);
			json_decref(old);
			store_kv_unref(kv);
			break;
		}
		json_decref(conflicts);
		if (rc == -E2BIG) {
			send_msg(q, -E2BIG, "Request entity too large: %s", err);
			json_decref(old);
			store_kv_unref(kv);
			break;
		}
		if (rc < 0) {
			/* kube-apiserver answers a patch that cannot apply with 422 (json patch) or 400. */
			send_msg(q, type == P_JSON ? ERR_INVALID : -EBADMSG, "%s",
				 err[0] ? err : "the patch could not be applied");
			json_decref(old);
			store_kv_unref(kv);
			break;
		}
		if (!json_is_object(res)) {
			send_msg(q, -EBADMSG, "the patch did not produce an object");
			json_decref(res);
			json_decref(old);
			store_kv_unref(kv);
			break;
		}
		if (type != P_APPLY && !check_fields(q, res)) {
			json_decref(res);
			json_decref(old);
			store_kv_unref(kv);
			break;
		}
		if (q->view)
			api_kind_convert_in(q->view, res);
		/* A resourceVersion in the patch is a precondition; otherwise retry on conflict. */
		bool has_rv = type != P_JSON && api_str(patch, "metadata.resourceVersion");
		if (!has_rv)
			json_object_del(api_obj(res, "metadata"), "resourceVersion");
		rc = update_object(q, res, old, kv->mod_rev, q->sub != NULL, !has_rv,
				   type == P_APPLY ? -1 : 200);
		json_decref(res);
		json_decref(old);
		store_kv_unref(kv);
		if (rc != -ESTALE)
			break;
		if (attempt == 7)
			apiserver__send_obj_error(q, -ESTALE, q->name);
	}
	json_decref(patch);
}

/* Deletes key (a stored object) if its revision is expect_rev (-1: any), releasing the
 * cluster IPs and node ports a Service holds in the same transaction. */
static int delete_stored(struct apiserver *as, const char *key, int64_t expect_rev)
{
	struct svc_plan plan = {0};
	if (!strncmp(key, "/registry/core/services/", 24)) {
		struct store_kv *kv = NULL;
		int rc = store_get(as->store, key, &kv);
		if (rc < 0)
			return rc;
		json_t *o = json_loadb(kv->value, kv->value_len, 0, NULL);
		if (expect_rev < 0)
			expect_rev = kv->mod_rev;
		store_kv_unref(kv);
		if (o)
			apiserver__svc_release_ops(o, &plan);
		json_decref(o);
	}
	size_t n;
	struct store_op *ops = apiserver__svc_plan_txn(
	    &plan, (struct store_op){.kind = STORE_DELETE, .key = key, .expect_mod_rev = expect_rev}, &n);
	struct store_result *rs = xcalloc(n, sizeof(*rs));
	size_t failed = 0;
	int rc = store_txn(as->store, ops, n, rs, NULL, &failed);
	if (rc == -ENOENT && failed > 0) {
		/* An allocation key was already gone (a store edited by hand): delete the
		 * object anyway; the repair pass settles the rest. */
		n = 1;
		rc = store_txn(as->store, ops, 1, rs, NULL, NULL);
	}
	for (size_t i = 0; i < n; i++)
		store_kv_unref(rs[i].kv);
	free(rs);
	free(ops);
	apiserver__svc_plan_fini(&plan);
	return rc;
}

int apiserver__delete_key(struct apiserver *as, const char *key)
{
	static const char rbac[] = "/registry/rbac.authorization.k8s.io/";
	int rc = delete_stored(as, key, -1);
	if (!strncmp(key, rbac, sizeof(rbac) - 1))
		apiserver__rbac_dirty(as);
	return rc;
}

/* DeleteOptions.propagationPolicy (or the query parameter; orphanDependents=true is the
 * old spelling of Orphan): Foreground and Orphan become the garbage collector's
 * finalizers ("foregroundDeletion", "orphan"), which the workload controllers' collector
 * (controller/wlmanager.c) acts on and removes; Background (the default) deletes now and
 * the collector removes the dependents afterwards. */
static void add_propagation_finalizer(struct rq *q, json_t *meta, const json_t *opts)
{
	const char *pp = api_str(opts, "propagationPolicy");
	char *qp = http_query_get(q->r->query, "propagationPolicy");
	if (!pp)
		pp = qp;
	if (!pp && json_is_true(json_object_get(opts, "orphanDependents")))
		pp = "Orphan";
	const char *fin = pp && !strcmp(pp, "Foreground") ? "foregroundDeletion"
			  : pp && !strcmp(pp, "Orphan")	  ? "orphan"
							  : NULL;
	if (fin) {
		json_t *f = json_object_get(meta, "finalizers");
		if (!json_is_array(f)) {
			f = json_array();
			json_object_set_new(meta, "finalizers", f);
		}
		bool have = false;
		size_t i;
		json_t *v;
		json_array_foreach(f, i, v) have |= !strcmp(json_string_value(v) ?: "", fin);
		if (!have)
			json_array_append_new(f, json_string(fin));
	}
	free(qp);
}

/* Deletes one object read at kv. Returns 0 after answering (when q answers) or a code. */
/* One attempt of delete_one. With retry, a write that lost its compare-and-swap to a
 * concurrent one (a controller's status update) returns -EAGAIN without answering, so the
 * caller reads the object again: kube-apiserver's delete without a resourceVersion
 * precondition retries the same way (GuaranteedUpdate, etcd3's conditional delete). */
static int delete_attempt(struct rq *q, const char *name, json_t *opts, bool answer, bool retry)
{
	struct rq sub = *q;
	sub.name = (char *)name;
	json_t *old = NULL;
	struct store_kv *kv = NULL;
	int rc = read_object(&sub, &old, &kv);
	if (rc < 0) {
		if (answer)
			apiserver__send_obj_error(q, rc, name);
		return rc;
	}
	const char *puid = api_str(opts, "preconditions.uid");
	const char *prv = api_str(opts, "preconditions.resourceVersion");
	retry = retry && !prv;
	char cur[32];
	snprintf(cur, sizeof(cur), "%lld", (long long)kv->mod_rev);
	if ((puid && strcmp(puid, api_str(old, "metadata.uid") ?: "")) || (prv && strcmp(prv, cur))) {
		if (answer) {
			char *qual = apiserver__qualified(q->k);
			char *m =
			    puid && strcmp(puid, api_str(old, "metadata.uid") ?: "")
				? xasprintf(
				      "Precondition failed: UID in precondition: %s, UID in object meta: %s",
				      puid, api_str(old, "metadata.uid") ?: "")
				: xasprintf(
				      "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
				      prv, cur);
			apiserver__send_status(q->c, ERR_CONFLICT, m,
					       json_pack("{s:s, s:s}", "name", name, "kind", q->k->plural));
			free(m);
			free(qual);
		}
		json_decref(old);
		store_kv_unref(kv);
		return ERR_CONFLICT;
	}
	char *key = apiserver__key(q->k, q->ns, name);
	json_t *meta = api_obj(old, "metadata");
	bool is_ns = !strcmp(q->k->kind, "Namespace") && !q->k->group[0];
	if (!is_ns && !json_object_get(meta, "deletionTimestamp"))
		add_propagation_finalizer(q, meta, opts);
	bool has_fin = json_array_size(json_object_get(meta, "finalizers")) > 0;
	if (is_ns || has_fin) {
		/* Graceful: mark for deletion; the namespace finalizer or the owners of the
		 * finalizers finish it. */
		if (!json_object_get(meta, "deletionTimestamp")) {
			char now[40];
			api_now(now, sizeof(now));
			json_object_set_new(meta, "deletionTimestamp", json_string(now));
			json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
			if (is_ns)
				json_object_set_new(api_obj(old, "status"), "phase",
						    json_string("Terminating"));
			if (!q->dry_run) {
				char *val = dump_for_store(old);
				struct store_op op = {.kind = STORE_PUT,
						      .key = key,
						      .value = val,
						      .value_len = strlen(val),
						      .expect_mod_rev = kv->mod_rev};
				struct store_result res = {0};
				int64_t rev;
				size_t failed;
				rc = store_txn(q->as->store, &op, 1, &res, &rev, &failed);
				free(val);
				if (rc == -ESTALE && retry) {
					store_kv_unref(res.kv);
					rc = -EAGAIN;
					goto out;
				}
				if (rc == 0) {
					snprintf(cur, sizeof(cur), "%lld", (long long)rev);
					json_object_set_new(meta, "resourceVersion", json_string(cur));
				}
				store_kv_unref(res.kv);
			}
		}
		if (answer) {
			if (rc < 0)
				apiserver__send_obj_error(q, rc, name);
			else
				send_copy(q, 200, old);
		}
	} else if (!q->dry_run) {
		rc = delete_stored(q->as, key, kv->mod_rev);
		if (rc == -ESTALE && retry) {
			rc = -EAGAIN;
			goto out;
		}
		if (answer) {
			if (rc < 0)
				apiserver__send_obj_error(q, rc, name);
			else
				send_copy(q, 200, old);
		}
	} else if (answer) {
		send_copy(q, 200, old);
	}
out:
	free(key);
	json_decref(old);
	store_kv_unref(kv);
	return rc;
}

static int delete_one(struct rq *q, const char *name, json_t *opts, bool answer)
{
	int rc;
	for (int i = 0; (rc = delete_attempt(q, name, opts, answer, i < 16)) == -EAGAIN; i++)
		;
	return rc;
}

static json_t *delete_options(struct rq *q, bool *ok)
{
	*ok = true;
	if (!q->r->body_len)
		return json_object();
	json_t *o = NULL;
	char err[256];
	if (api_json_decode(q->r->body, q->r->body_len, &o, err, sizeof(err)) < 0 || !json_is_object(o)) {
		json_decref(o);
		send_msg(q, -EBADMSG, "invalid DeleteOptions: %s", err);
		*ok = false;
		return NULL;
	}
	json_t *dr = json_object_get(o, "dryRun");
	if (json_is_array(dr) && json_array_size(dr) &&
	    !strcmp(json_string_value(json_array_get(dr, 0)) ?: "", "All"))
		q->dry_run = true;
	return o;
}

void apiserver__delete(struct rq *q)
{
	bool ok;
	json_t *opts = delete_options(q, &ok);
	if (!ok)
		return;
	delete_one(q, q->name, opts, true);
	json_decref(opts);
}

void apiserver__delete_collection(struct rq *q)
{
	bool ok;
	json_t *opts = delete_options(q, &ok);
	if (!ok)
		return;
	struct filter f;
	if (apiserver__filter_parse(q, &f) < 0) {
		json_decref(opts);
		return;
	}
	char *prefix = apiserver__prefix(q->k, q->ns);
	struct store_list l;
	int rc = store_range(q->as->store, prefix, NULL, 0, 0, &l);
	free(prefix);
	if (rc < 0) {
		send_msg(q, rc, "list: %s", err_str(rc));
		apiserver__filter_fini(&f);
		json_decref(opts);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.len; i++) {
		json_t *o = apiserver__decode_kv(l.kvs[i], 0);
		if (!o)
			continue;
		if (apiserver__filter_match(&f, o)) {
			struct rq sub = *q;
			char *ns = xstrdup(api_str(o, "metadata.namespace") ?: "");
			sub.ns = q->k->namespaced ? ns : NULL;
			if (delete_one(&sub, api_str(o, "metadata.name"), opts, false) == 0) {
				apiserver__out(q, o);
				json_array_append(items, o);
			}
			free(ns);
		}
		json_decref(o);
	}
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)store_rev(q->as->store));
	store_list_fini(&l);
	char *lk = xasprintf("%sList", q->k->kind);
	apiserver__send_json(q, 200,
			     json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", lk, "apiVersion",
				       api_kind_api_version(apiserver__wire(q)), "metadata",
				       "resourceVersion", rvs, "items", items));
	free(lk);
	apiserver__filter_fini(&f);
	json_decref(opts);
}
