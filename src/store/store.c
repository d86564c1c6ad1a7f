/* store.c - the public store API: URL parsing, argument checks, records, dispatch to a backend.
 *
 * Backends sit behind `struct store__ops` (backend.h), chosen here from the URL: "sqlite://"
 * plus a path, a plain path, or ":memory:" select SQLite; "etcd://" (or "etcds://") selects
 * the etcd backend (store/etcd.c). Checks that do not depend on the backend (a transaction has ops, keys are
 * non-empty, no key appears twice in one transaction) live here so every backend gives the
 * same answers. Records are immutable after store__kv_new() returns; only their atomic
 * refcount changes, so any thread may ref or unref them without a lock.
 */
#include "base/clock.h"
#include "store/backend.h"

#include "base/mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HISTORY_REVISIONS 10000

struct kv_impl {
	atomic_long refs;
	struct store_kv kv;
	char data[]; /* key NUL value NUL */
};

static struct kv_impl *kv_impl_of(struct store_kv *kv)
{
	return (struct kv_impl *)(void *)((char *)kv - offsetof(struct kv_impl, kv));
}

struct store_kv *store__kv_new(const char *key, size_t key_len, const void *value, size_t value_len,
			       int64_t create_rev, int64_t mod_rev, int64_t version)
{
	struct kv_impl *k = xmalloc(sizeof(*k) + key_len + 1 + value_len + 1);
	char *kp = k->data, *vp = k->data + key_len + 1;

	atomic_init(&k->refs, 1);
	memcpy(kp, key, key_len);
	kp[key_len] = 0;
	if (value_len)
		memcpy(vp, value, value_len);
	vp[value_len] = 0;
	k->kv.key = kp;
	k->kv.value = vp;
	k->kv.value_len = value_len;
	k->kv.create_rev = create_rev;
	k->kv.mod_rev = mod_rev;
	k->kv.version = version;
	return &k->kv;
}

struct store_kv *store_kv_ref(struct store_kv *kv)
{
	if (kv)
		atomic_fetch_add_explicit(&kv_impl_of(kv)->refs, 1, memory_order_relaxed);
	return kv;
}

void store_kv_unref(struct store_kv *kv)
{
	if (!kv)
		return;
	struct kv_impl *k = kv_impl_of(kv);
	if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
		free(k);
}

void store__list_push(struct store_list *l, struct store_kv *kv_take)
{
	/* Capacity is the next power of two at or above len, so it need not be stored. */
	if (l->len == 0 || (l->len & (l->len - 1)) == 0)
		l->kvs = xrealloc(l->kvs, (l->len ? l->len * 2 : 8) * sizeof(*l->kvs));
	l->kvs[l->len++] = kv_take;
}

void store_list_fini(struct store_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->len; i++)
		store_kv_unref(l->kvs[i]);
	free(l->kvs);
	memset(l, 0, sizeof(*l));
}

void store_event_fini(struct store_event *ev)
{
	if (!ev)
		return;
	store_kv_unref(ev->kv);
	store_kv_unref(ev->prev);
	ev->kv = ev->prev = NULL;
}

static int open_backend(const struct store_opts *opts, struct store **out, char *err, size_t errlen);

int store_open(const struct store_opts *opts, struct store **out, char *err, size_t errlen)
{
	int rc = open_backend(opts, out, err, errlen);
	if (rc < 0 || !opts->encryption || !opts->encryption->nrules)
		return rc;
	struct store *inner = *out;
	*out = NULL;
	return store__encrypt_open(inner, opts->encryption, out, err, errlen);
}

static int open_backend(const struct store_opts *opts, struct store **out, char *err, size_t errlen)
{
	const char *url, *path;
	int64_t history;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (!opts || !opts->url || !opts->url[0]) {
		snprintf(err, errlen, "store: no URL given");
		return -EINVAL;
	}
	if (opts->history_revisions < 0) {
		snprintf(err, errlen, "store: history_revisions must not be negative");
		return -EINVAL;
	}
	history = opts->history_revisions ? opts->history_revisions : DEFAULT_HISTORY_REVISIONS;
	url = opts->url;
	if (strncmp(url, "sqlite://", 9) == 0) {
		path = url + 9;
		if (!path[0]) {
			snprintf(err, errlen, "store: %s: no path after sqlite://", url);
			return -EINVAL;
		}
		return store__sqlite_open(path, history, out, err, errlen);
	}
	if (strncmp(url, "etcd://", 7) == 0 || strncmp(url, "etcds://", 8) == 0)
		return store__etcd_open(opts, out, err, errlen);
	if (strstr(url, "://")) {
		snprintf(err, errlen, "store: %s: unknown URL scheme", url);
		return -EINVAL;
	}
	return store__sqlite_open(url, history, out, err, errlen);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int64_t store_rev(struct store *s)
{
	return s->ops->rev(s);
}

int64_t store_compact_rev(struct store *s)
{
	return s->ops->compact_rev(s);
}

int store_sync(struct store *s, int64_t *rev)
{
	if (s->ops->sync)
		return s->ops->sync(s, rev);
	if (rev)
		*rev = s->ops->rev(s);
	return 0;
}

int store_get(struct store *s, const char *key, struct store_kv **out)
{
	*out = NULL;
	if (!key || !key[0])
		return -EINVAL;
	return s->ops->get(s, key, out);
}

int store_range(struct store *s, const char *prefix, const char *start_after, size_t limit, int64_t rev,
		struct store_list *out)
{
	memset(out, 0, sizeof(*out));
	if (rev < 0)
		return -EINVAL;
	return s->ops->range(s, prefix ? prefix : "", start_after, limit, rev, out);
}

static int cmp_op_key(const void *a, const void *b)
{
	const struct store_op *x = *(const struct store_op *const *)a,
			      *y = *(const struct store_op *const *)b;
	int c = strcmp(x->key, y->key);
	/* Ties broken by position so the reported duplicate is the later op. */
	return c ? c : (x < y ? -1 : x > y);
}

/* Returns 0 when the ops are well formed, else -EINVAL with *bad set to the first bad op. */
static int ops_check(const struct store_op *ops, size_t n, size_t *bad)
{
	const struct store_op **sorted = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		if (!op->key || !op->key[0] || (op->kind != STORE_PUT && op->kind != STORE_DELETE) ||
		    op->expect_mod_rev < -1 || (op->kind == STORE_PUT && !op->value && op->value_len)) {
			*bad = i;
			return -EINVAL;
		}
	}
	if (n < 2)
		return 0;
	sorted = xmalloc(n * sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = &ops[i];
	xqsort(sorted, n, sizeof(*sorted), cmp_op_key);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
			size_t at = (size_t)(sorted[i] - ops);
			if (rc == 0 || at < *bad)
				*bad = at;
			rc = -EINVAL;
		}
	}
	free(sorted);
	return rc;
}

int store_txn(struct store *s, const struct store_op *ops, size_t n, struct store_result *res, int64_t *rev,
	      size_t *failed_op)
{
	size_t bad = 0, dummy_failed;
	int64_t dummy_rev;
	int rc;

	if (!rev)
		rev = &dummy_rev;
	if (!failed_op)
		failed_op = &dummy_failed;
	*rev = 0;
	*failed_op = 0;
	if (res)
		memset(res, 0, n * sizeof(*res));
	if (!ops || n == 0)
		return -EINVAL;
	rc = ops_check(ops, n, &bad);
	if (rc < 0) {
		*failed_op = bad;
		return rc;
	}
	/* A wrapping backend (encryption) calls store_txn again: the outer call's times win. */
	int64_t called = clock_mono_ns();
	store__txn_timing = (struct store_txn_timing){.called_ns = called};
	rc = s->ops->txn(s, ops, n, res, rev, failed_op);
	store__txn_timing.called_ns = called;
	store__txn_timing.returned_ns = clock_mono_ns();
	return rc;
}

_Thread_local struct store_txn_timing store__txn_timing;

void store_txn_timing_last(struct store_txn_timing *out)
{
	*out = store__txn_timing;
}

int store_watch_open(struct store *s, const char *prefix, int64_t after_rev, struct store_watch **out)
{
	*out = NULL;
	if (after_rev < 0)
		return -EINVAL;
	return s->ops->watch_open(s, prefix ? prefix : "", after_rev, out);
}

int store_watch_next(struct store_watch *w, struct store_event *ev, int timeout_ms)
{
	memset(ev, 0, sizeof(*ev));
	return w->ops->watch_next(w, ev, timeout_ms);
}

void store_watch_cancel(struct store_watch *w)
{
	if (w)
		w->ops->watch_cancel(w);
}

void store_watch_close(struct store_watch *w)
{
	if (w)
		w->ops->watch_close(w);
}
