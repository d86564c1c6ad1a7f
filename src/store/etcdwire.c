/* etcdwire.c - the pure half of the etcd backend: key mapping, base64, and decoding etcd's v3 JSON answers.
 *
 * etcd's gRPC gateway speaks JSON with base64 keys and values and 64-bit integers as
 * decimal strings; fields at their default value (0, false, PUT) are left out. Nothing here
 * does I/O, so the fuzz target (tests/fuzz/fuzz_etcdresp.c) drives every function that
 * reads bytes from etcd. A malformed answer is -EBADMSG, never an abort.
 *
 * Key mapping: store keys under "/registry/" (all the API server writes) become
 * "<prefix>/<rest>", as kube-apiserver lays out etcd with --etcd-prefix; any other store
 * key K becomes "<prefix>/-K" ("-" is no resource or group name, so the two never meet).
 */
#include "store/etcdwire.h"

#include "base/err.h"
#include "base/mem.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "/registry"
#define ROOT_LEN 9

char *etcd__key_to(const char *prefix, const char *key)
{
	if (!strncmp(key, ROOT "/", ROOT_LEN + 1))
		return xasprintf("%s%s", prefix, key + ROOT_LEN);
	return xasprintf("%s/-%s", prefix, key);
}

char *etcd__key_from(const char *prefix, const char *ekey, size_t elen)
{
	size_t plen = strlen(prefix);
	if (elen < plen + 1 || memcmp(ekey, prefix, plen) != 0 || ekey[plen] != '/' || memchr(ekey, 0, elen))
		return NULL;
	const char *rest = ekey + plen;
	size_t rlen = elen - plen;
	if (rlen >= 2 && rest[1] == '-')
		return rlen > 2 ? xstrndup(rest + 2, rlen - 2) : NULL;
	return xasprintf(ROOT "%.*s", (int)rlen, rest);
}

void etcd__prefix_range(const char *prefix, const char *store_prefix, char **key, char **end)
{
	size_t n = strlen(store_prefix);
	if (n <= ROOT_LEN + 1 && !strncmp(ROOT "/", store_prefix, n))
		*key = xasprintf("%s/", prefix); /* reaches both spaces: filter afterwards */
	else
		*key = etcd__key_to(prefix, store_prefix);
	/* range_end: the key with its last byte plus one (no key starts with 0xff here). */
	size_t kl = strlen(*key);
	*end = xstrdup(*key);
	(*end)[kl - 1] = (char)((unsigned char)(*end)[kl - 1] + 1);
}

char *etcd__b64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int etcd__unb64(const char *s, size_t slen, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (slen % 4 || slen > (size_t)1 << 30)
		return -EBADMSG;
	char *buf = xmalloc(slen / 4 * 3 + 1);
	int n = slen ? EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)s, (int)slen) : 0;
	if (n < 0) {
		free(buf);
		return -EBADMSG;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (slen && s[slen - 1] == '=')
		n--;
	if (slen > 1 && s[slen - 2] == '=')
		n--;
	buf[n] = 0;
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}

int etcd__i64(const json_t *o, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(o, name);
	*v = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return -EBADMSG;
	const char *s = json_string_value(j);
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -EBADMSG;
	*v = x;
	return 0;
}

/* Decodes the base64 string field name of o ("" when absent). */
static int b64_field(const json_t *o, const char *name, char **out, size_t *len)
{
	const json_t *j = json_object_get(o, name);
	if (!j) {
		*out = xstrdup("");
		*len = 0;
		return 0;
	}
	if (!json_is_string(j)) {
		*out = NULL;
		return -EBADMSG;
	}
	return etcd__unb64(json_string_value(j), json_string_length(j), out, len);
}

int etcd__kv_parse(const json_t *o, const char *prefix, struct store_kv **out)
{
	char *k = NULL, *v = NULL, *skey = NULL;
	size_t kl, vl;
	int64_t cr, mr, ver;
	int rc = -EBADMSG;

	*out = NULL;
	if (!json_is_object(o) || b64_field(o, "key", &k, &kl) < 0 || b64_field(o, "value", &v, &vl) < 0 ||
	    etcd__i64(o, "create_revision", &cr) < 0 || etcd__i64(o, "mod_revision", &mr) < 0 ||
	    etcd__i64(o, "version", &ver) < 0)
		goto out;
	rc = 0;
	skey = etcd__key_from(prefix, k, kl);
	if (skey)
		*out = store__kv_new(skey, strlen(skey), v, vl, cr, mr, ver);
out:
	free(k);
	free(v);
	free(skey);
	return rc;
}

int etcd__error(const json_t *root, char *msg, size_t msglen)
{
	const json_t *e = json_object_get(root, "error");
	if (!e)
		return 0;
	const char *m = json_string_value(json_object_get(root, "message"));
	if (!m && json_is_object(e))
		m = json_string_value(json_object_get(e, "message"));
	if (!m)
		m = json_is_string(e) ? json_string_value(e) : "unknown error";
	snprintf(msg, msglen, "%s", m);
	if (strstr(m, "required revision has been compacted"))
		return ERR_EXPIRED;
	if (strstr(m, "future revision"))
		return -EINVAL;
	return -EIO;
}

void etcd__watch_msg_fini(struct etcd__watch_msg *m)
{
	for (size_t i = 0; i < m->events.len; i++)
		store_event_fini(&m->events.v[i]);
	vec_free(&m->events);
	memset(m, 0, sizeof(*m));
}

static int event_parse(const json_t *je, const char *prefix, struct etcd__watch_msg *m)
{
	const json_t *t = json_object_get(je, "type");
	bool del = false;
	struct store_kv *kv = NULL, *prev = NULL;
	int64_t rev;

	if (!json_is_object(je))
		return -EBADMSG;
	if (t) {
		const char *ts = json_string_value(t);
		if (!ts || (strcmp(ts, "PUT") && strcmp(ts, "DELETE")))
			return -EBADMSG;
		del = !strcmp(ts, "DELETE");
	}
	const json_t *jkv = json_object_get(je, "kv"), *jprev = json_object_get(je, "prev_kv");
	if (!jkv || etcd__i64(jkv, "mod_revision", &rev) < 0 || rev <= 0)
		return -EBADMSG;
	if (etcd__kv_parse(jkv, prefix, &kv) < 0 || (jprev && etcd__kv_parse(jprev, prefix, &prev) < 0)) {
		store_kv_unref(kv);
		return -EBADMSG;
	}
	if (rev < m->last_rev) {
		store_kv_unref(kv);
		store_kv_unref(prev);
		return -EBADMSG; /* events come in revision order */
	}
	m->last_rev = rev;
	if (!kv) { /* outside the prefix: only its revision counts */
		store_kv_unref(prev);
		return 0;
	}
	struct store_event ev = {.type = del ? STORE_EV_DELETE : STORE_EV_PUT, .rev = rev};
	if (del) {
		/* The store's DELETE event carries the record as it was; without prev_kv
		 * (compacted away) only the key is known. */
		ev.kv = prev ? prev : kv;
		if (prev)
			store_kv_unref(kv);
	} else {
		ev.kv = kv;
		ev.prev = prev;
	}
	*vec_push(&m->events) = ev;
	return 0;
}

int etcd__watch_msg_parse(const char *line, size_t len, const char *prefix, struct etcd__watch_msg *m)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = -EBADMSG;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(root))
		goto out;
	int e = etcd__error(root, m->err, sizeof(m->err));
	if (e < 0) {
		rc = e;
		goto out;
	}
	const json_t *res = json_object_get(root, "result"), *hdr;
	if (!json_is_object(res))
		goto out;
	hdr = json_object_get(res, "header");
	if ((hdr && etcd__i64(hdr, "revision", &m->header_rev) < 0) ||
	    etcd__i64(res, "compact_revision", &m->compact_rev) < 0)
		goto out;
	m->created = json_is_true(json_object_get(res, "created"));
	m->canceled = json_is_true(json_object_get(res, "canceled"));
	const json_t *evs = json_object_get(res, "events");
	if (evs && !json_is_array(evs))
		goto out;
	for (size_t i = 0; i < json_array_size(evs); i++)
		if (event_parse(json_array_get(evs, i), prefix, m) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0 && rc != ERR_EXPIRED && rc != -EIO && rc != -EINVAL) {
		etcd__watch_msg_fini(m);
		rc = -EBADMSG;
	} else if (rc < 0) {
		char keep[sizeof(m->err)];
		memcpy(keep, m->err, sizeof(keep));
		etcd__watch_msg_fini(m);
		memcpy(m->err, keep, sizeof(keep));
	}
	json_decref(root);
	return rc;
}

int etcd__stream_feed(struct etcd__stream *st, const char *data, size_t len,
		      int (*line_cb)(const char *line, size_t len, void *arg), void *arg)
{
	if (st->len + len > ETCD_STREAM_MAX)
		return -EMSGSIZE;
	if (len == 0)
		return 0;
	if (st->len + len > st->cap) {
		while (st->cap < st->len + len)
			st->cap = st->cap ? st->cap * 2 : 4096;
		st->buf = xrealloc(st->buf, st->cap);
	}
	memcpy(st->buf + st->len, data, len);
	st->len += len;
	size_t start = 0;
	int rc = 0;
	for (;;) {
		/* Only new bytes are searched: one message may arrive in thousands of pieces. */
		size_t from = start > st->scanned ? start : st->scanned;
		char *nl = memchr(st->buf + from, '\n', st->len - from);
		if (!nl) {
			st->scanned = st->len;
			break;
		}
		size_t l = (size_t)(nl - (st->buf + start));
		if (l > 0)
			rc = line_cb(st->buf + start, l, arg);
		start += l + 1;
		if (rc)
			break;
	}
	memmove(st->buf, st->buf + start, st->len - start);
	st->len -= start;
	st->scanned = st->scanned > start ? st->scanned - start : 0;
	return rc;
}

void etcd__stream_fini(struct etcd__stream *st)
{
	free(st->buf);
	memset(st, 0, sizeof(*st));
}

int etcd__op_check(const struct store_op *op, bool present, int64_t mod_rev)
{
	if (op->expect_mod_rev == 0 && present)
		return -EEXIST;
	if (op->expect_mod_rev > 0 && !present)
		return -ENOENT;
	if (op->expect_mod_rev > 0 && mod_rev != op->expect_mod_rev)
		return -ESTALE;
	if (op->kind == STORE_DELETE && !present)
		return -ENOENT;
	return 0;
}

/* The answer to a failed Txn: the first op whose condition does not hold, from the failure
 * branch's ranges (read at the same revision as the compares). */
int etcd__txn_failed(const struct store_op *ops, size_t n, const json_t *resps, size_t *failed_op)
{
	for (size_t i = 0; i < n; i++) {
		const json_t *rr = json_object_get(json_array_get(resps, i), "response_range");
		if (!json_is_object(rr))
			return -EBADMSG;
		const json_t *kv = json_array_get(json_object_get(rr, "kvs"), 0);
		int64_t mod = 0;
		if (kv && etcd__i64(kv, "mod_revision", &mod) < 0)
			return -EBADMSG;
		int rc = etcd__op_check(&ops[i], kv != NULL, mod);
		if (rc < 0) {
			*failed_op = i;
			return rc;
		}
	}
	return -EIO; /* the compares failed but no op's state explains it */
}
