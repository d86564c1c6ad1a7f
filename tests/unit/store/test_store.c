/* test_store.c - unit tests of the store contract (store/store.h), on SQLite and on etcd.
 *
 * Backend parity: with SVCPLANE_TEST_ETCD=etcd://127.0.0.1:PORT (tests/etcd_unit.sh starts a
 * throwaway etcd and sets it) every contract test opens the etcd backend instead of
 * ":memory:", under a prefix of its own. etcd's revision counts every write of the shared
 * etcd, so tests name revisions relative to the store's revision at open (B). Tests about
 * SQLite's file (log rows, restart of a file) run on SQLite only; test_etcd.c holds the
 * etcd-only ones. No test asserts a timing.
 */
#include "harness/t.h"
#include "store/store.h"
#include "unit/store/tstore.h"

#include "base/err.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tmp {
	char dir[64];
	char path[96];
	char url[128];
};

static void tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/store-test-XXXXXX");
	ASSERT(mkdtemp(t->dir) != NULL);
	snprintf(t->path, sizeof(t->path), "%s/store.db", t->dir);
	snprintf(t->url, sizeof(t->url), "sqlite://%s", t->path);
}

static void tmp_fini(struct tmp *t)
{
	char p[128];
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

static struct store *open_opts(const struct store_opts *o)
{
	struct store *s = NULL;
	char err[256];
	int rc = store_open(o, &s, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "store_open: %s\n", err);
	ASSERT_INT_EQ(rc, 0);
	return s;
}

static struct store *open_url(const char *url, int64_t history)
{
	struct store_opts o = {.url = url, .history_revisions = history};
	return open_opts(&o);
}

int64_t B; /* the store's revision when the test opened it */
static int prefix_seq;

const char *tstore_etcd_url(void)
{
	const char *u = getenv("SVCPLANE_TEST_ETCD");
	return u && *u ? u : NULL;
}

struct store *tstore_open_etcd(const char *prefix, int64_t compaction_ms)
{
	struct store_opts o = {
	    .url = tstore_etcd_url(), .etcd_prefix = prefix, .etcd_compaction_interval_ms = compaction_ms};
	struct store *s = open_opts(&o);
	B = store_rev(s);
	return s;
}

void tstore_prefix(char *buf, size_t len)
{
	snprintf(buf, len, "/t%d-%d", (int)getpid(), ++prefix_seq);
}

/* A fresh, empty store: SQLite in memory, or etcd under a prefix no other test uses. */
struct store *tstore_open(void)
{
	if (!tstore_etcd_url()) {
		B = 0;
		return open_url(":memory:", 0);
	}
	char prefix[64];
	tstore_prefix(prefix, sizeof(prefix));
	return tstore_open_etcd(prefix, -1);
}

static void sqlite_only(void)
{
	if (tstore_etcd_url())
		t_skip("SQLite's file: test_etcd.c covers etcd");
}

static int put(struct store *s, const char *key, const char *value, int64_t expect, int64_t *rev)
{
	struct store_op op = {STORE_PUT, key, value, strlen(value), expect};
	return store_txn(s, &op, 1, NULL, rev, NULL);
}

static int del(struct store *s, const char *key, int64_t expect)
{
	struct store_op op = {STORE_DELETE, key, NULL, 0, expect};
	return store_txn(s, &op, 1, NULL, NULL, NULL);
}

static long long log_rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM log", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Waits (bounded) for the writer's background compaction to reach rev. */
static void wait_compacted(struct store *s, int64_t rev)
{
	for (int i = 0; i < 2000 && store_compact_rev(s) < rev; i++)
		usleep(1000);
	ASSERT_INT_EQ(store_compact_rev(s), rev);
}

TEST(store_put_get_delete)
{
	struct store *s = tstore_open();
	struct store_kv *kv = NULL;
	int64_t rev = 0;

	ASSERT_INT_EQ(store_rev(s), B + 0);
	ASSERT_INT_EQ(store_get(s, "a", &kv), -ENOENT);
	ASSERT(kv == NULL);
	ASSERT_INT_EQ(put(s, "a", "{\"x\":1}", -1, &rev), 0);
	ASSERT_INT_EQ(rev, B + 1);
	ASSERT_INT_EQ(store_get(s, "a", &kv), 0);
	ASSERT_STR_EQ(kv->key, "a");
	ASSERT_STR_EQ(kv->value, "{\"x\":1}");
	ASSERT_INT_EQ(kv->value_len, 7);
	store_kv_unref(kv);

	struct store_op op = {STORE_DELETE, "a", NULL, 0, -1};
	struct store_result res;
	ASSERT_INT_EQ(store_txn(s, &op, 1, &res, &rev, NULL), 0);
	ASSERT_INT_EQ(rev, B + 2);
	ASSERT_STR_EQ(res.kv->value, "{\"x\":1}"); /* the record as it was */
	ASSERT_INT_EQ(res.kv->mod_rev, B + 1);
	store_kv_unref(res.kv);
	ASSERT_INT_EQ(store_get(s, "a", &kv), -ENOENT);
	ASSERT_INT_EQ(del(s, "a", -1), -ENOENT);
	ASSERT_INT_EQ(store_rev(s), B + 2);

	/* Empty values are fine and still NUL-terminated. */
	ASSERT_INT_EQ(put(s, "empty", "", -1, NULL), 0);
	ASSERT_INT_EQ(store_get(s, "empty", &kv), 0);
	ASSERT_INT_EQ(kv->value_len, 0);
	ASSERT_STR_EQ(kv->value, "");
	store_kv_unref(kv);
	store_close(s);
}

TEST(store_create_existing_is_eexist)
{
	struct store *s = tstore_open();
	struct store_op ops[2] = {
	    {STORE_PUT, "new", "1", 1, 0},
	    {STORE_PUT, "k", "2", 1, 0},
	};
	size_t failed = 99;

	ASSERT_INT_EQ(put(s, "k", "v", 0, NULL), 0);
	ASSERT_INT_EQ(store_txn(s, ops, 2, NULL, NULL, &failed), -EEXIST);
	ASSERT_INT_EQ(failed, 1);
	ASSERT_INT_EQ(store_rev(s), B + 1);
	store_close(s);
}

TEST(store_cas_mismatch_is_estale)
{
	struct store *s = tstore_open();
	int64_t r1, r2;
	size_t failed = 99;
	struct store_result res[2];

	ASSERT_INT_EQ(put(s, "k", "v1", 0, &r1), 0);
	ASSERT_INT_EQ(put(s, "k", "v2", r1, &r2), 0);
	struct store_op ops[2] = {
	    {STORE_PUT, "other", "x", 1, -1}, {STORE_PUT, "k", "v3", 1, r1}, /* stale */
	};
	ASSERT_INT_EQ(store_txn(s, ops, 2, res, NULL, &failed), -ESTALE);
	ASSERT_INT_EQ(failed, 1);
	ASSERT(res[0].kv == NULL && res[1].kv == NULL);
	/* expected present but missing */
	struct store_op missing = {STORE_PUT, "nope", "x", 1, 5};
	ASSERT_INT_EQ(store_txn(s, &missing, 1, NULL, NULL, &failed), -ENOENT);
	ASSERT_INT_EQ(failed, 0);
	ASSERT_INT_EQ(del(s, "k", r1), -ESTALE);
	ASSERT_INT_EQ(del(s, "k", r2), 0);
	ASSERT_INT_EQ(store_rev(s), B + 3);
	store_close(s);
}

TEST(store_txn_is_atomic)
{
	struct store *s = tstore_open();
	struct store_kv *kv;
	size_t failed = 99;
	int64_t rev;

	ASSERT_INT_EQ(put(s, "x", "old", -1, NULL), 0);
	struct store_op ops[3] = {
	    {STORE_PUT, "a", "1", 1, -1},
	    {STORE_PUT, "x", "new", 3, -1},
	    {STORE_DELETE, "missing", NULL, 0, -1},
	};
	ASSERT_INT_EQ(store_txn(s, ops, 3, NULL, &rev, &failed), -ENOENT);
	ASSERT_INT_EQ(failed, 2);
	ASSERT_INT_EQ(store_get(s, "a", &kv), -ENOENT);
	ASSERT_INT_EQ(store_get(s, "x", &kv), 0);
	ASSERT_STR_EQ(kv->value, "old");
	store_kv_unref(kv);
	ASSERT_INT_EQ(store_rev(s), B + 1); /* no revision used */

	/* All three at one revision when they succeed. */
	ops[2].kind = STORE_PUT;
	ops[2].value = "m";
	ops[2].value_len = 1;
	struct store_result res[3];
	ASSERT_INT_EQ(store_txn(s, ops, 3, res, &rev, &failed), 0);
	ASSERT_INT_EQ(rev, B + 2);
	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(res[i].kv->mod_rev, B + 2);
		store_kv_unref(res[i].kv);
	}

	/* The same key twice in one transaction is refused. */
	struct store_op dup[2] = {{STORE_PUT, "d", "1", 1, -1}, {STORE_DELETE, "d", NULL, 0, -1}};
	ASSERT_INT_EQ(store_txn(s, dup, 2, NULL, NULL, &failed), -EINVAL);
	ASSERT_INT_EQ(failed, 1);
	ASSERT_INT_EQ(store_txn(s, dup, 0, NULL, NULL, NULL), -EINVAL);
	ASSERT_INT_EQ(store_rev(s), B + 2);
	store_close(s);
}

TEST(store_revisions_and_versions)
{
	struct store *s = tstore_open();
	struct store_kv *kv;

	ASSERT_INT_EQ(put(s, "a", "1", -1, NULL), 0);	 /* rev 1 */
	ASSERT_INT_EQ(put(s, "b", "1", -1, NULL), 0);	 /* rev 2 */
	ASSERT_INT_EQ(put(s, "a", "2", -1, NULL), 0);	 /* rev 3 */
	ASSERT_INT_EQ(put(s, "a", "3", B + 3, NULL), 0); /* rev 4 */
	ASSERT_INT_EQ(store_get(s, "a", &kv), 0);
	ASSERT_INT_EQ(kv->create_rev, B + 1);
	ASSERT_INT_EQ(kv->mod_rev, B + 4);
	ASSERT_INT_EQ(kv->version, 3);
	store_kv_unref(kv);
	ASSERT_INT_EQ(del(s, "a", -1), 0);	       /* rev 5 */
	ASSERT_INT_EQ(put(s, "a", "new", 0, NULL), 0); /* rev 6: a new life */
	ASSERT_INT_EQ(store_get(s, "a", &kv), 0);
	ASSERT_INT_EQ(kv->create_rev, B + 6);
	ASSERT_INT_EQ(kv->mod_rev, B + 6);
	ASSERT_INT_EQ(kv->version, 1);
	store_kv_unref(kv);
	ASSERT_INT_EQ(store_rev(s), B + 6);
	store_close(s);
}

TEST(store_range_prefix_and_paging)
{
	struct store *s = tstore_open();
	struct store_list l;
	char key[32];

	/* Insert out of order; lists come out sorted. */
	for (int i = 9; i >= 0; i--) {
		snprintf(key, sizeof(key), "/svc/ns/%02d", i);
		ASSERT_INT_EQ(put(s, key, "{}", -1, NULL), 0);
	}
	ASSERT_INT_EQ(put(s, "/svc/nt/x", "{}", -1, NULL), 0);
	ASSERT_INT_EQ(put(s, "/pod/ns/a", "{}", -1, NULL), 0);

	ASSERT_INT_EQ(store_range(s, "/svc/ns/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 10);
	ASSERT_INT_EQ(l.rev, B + 12);
	ASSERT(!l.more);
	ASSERT_STR_EQ(l.kvs[0]->key, "/svc/ns/00");
	ASSERT_STR_EQ(l.kvs[9]->key, "/svc/ns/09");
	store_list_fini(&l);

	ASSERT_INT_EQ(store_range(s, "", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 12);
	ASSERT_STR_EQ(l.kvs[0]->key, "/pod/ns/a");
	store_list_fini(&l);

	/* Pages of 4: 00-03, 04-07, 08-09. */
	const char *after = NULL;
	char last[32] = "";
	int pages = 0, total = 0;
	for (;;) {
		ASSERT_INT_EQ(store_range(s, "/svc/ns/", after, 4, 0, &l), 0);
		total += (int)l.len;
		pages++;
		bool more = l.more;
		if (l.len)
			snprintf(last, sizeof(last), "%s", l.kvs[l.len - 1]->key);
		if (pages == 1)
			ASSERT_STR_EQ(l.kvs[0]->key, "/svc/ns/00");
		if (pages == 2)
			ASSERT_STR_EQ(l.kvs[0]->key, "/svc/ns/04");
		store_list_fini(&l);
		if (!more)
			break;
		after = last;
	}
	ASSERT_INT_EQ(pages, 3);
	ASSERT_INT_EQ(total, 10);
	ASSERT_INT_EQ(store_range(s, "/svc/ns/", "/svc/ns/09", 4, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 0);
	store_list_fini(&l);
	ASSERT_INT_EQ(store_range(s, "/svc/", NULL, 0, B + 13, &l), -EINVAL); /* future */
	store_close(s);
}

TEST(store_range_at_old_revision)
{
	struct store *s = tstore_open();
	struct store_list l;
	int64_t r;

	ASSERT_INT_EQ(put(s, "/a/1", "one", -1, NULL), 0);   /* 1 */
	ASSERT_INT_EQ(put(s, "/a/2", "two", -1, &r), 0);     /* 2 */
	ASSERT_INT_EQ(put(s, "/a/1", "ONE", -1, NULL), 0);   /* 3 */
	ASSERT_INT_EQ(del(s, "/a/2", -1), 0);		     /* 4 */
	ASSERT_INT_EQ(put(s, "/a/3", "three", -1, NULL), 0); /* 5 */
	ASSERT_INT_EQ(put(s, "/b/1", "b", -1, NULL), 0);     /* 6 */

	ASSERT_INT_EQ(store_range(s, "/a/", NULL, 0, r, &l), 0);
	ASSERT_INT_EQ(l.rev, B + 2);
	ASSERT_INT_EQ(l.len, 2);
	ASSERT_STR_EQ(l.kvs[0]->value, "one");
	ASSERT_INT_EQ(l.kvs[0]->mod_rev, B + 1);
	ASSERT_STR_EQ(l.kvs[1]->value, "two");
	store_list_fini(&l);

	ASSERT_INT_EQ(store_range(s, "/a/", NULL, 0, B + 4, &l), 0);
	ASSERT_INT_EQ(l.len, 1); /* /a/2 deleted, /a/3 not yet */
	ASSERT_STR_EQ(l.kvs[0]->value, "ONE");
	ASSERT_INT_EQ(l.kvs[0]->version, 2);
	ASSERT_INT_EQ(l.kvs[0]->create_rev, B + 1);
	store_list_fini(&l);

	ASSERT_INT_EQ(store_range(s, "/a/", NULL, 1, B + 2, &l), 0);
	ASSERT_INT_EQ(l.len, 1);
	ASSERT(l.more);
	store_list_fini(&l);
	ASSERT_INT_EQ(store_range(s, "/a/", "/a/1", 1, B + 2, &l), 0);
	ASSERT_INT_EQ(l.len, 1);
	ASSERT_STR_EQ(l.kvs[0]->key, "/a/2");
	ASSERT(!l.more);
	store_list_fini(&l);

	ASSERT_INT_EQ(store_range(s, "", NULL, 0, B + 5, &l), 0);
	ASSERT_INT_EQ(l.len, 2); /* /a/1 and /a/3; /b/1 comes later */
	store_list_fini(&l);
	store_close(s);
}

TEST(store_watch_from_revision)
{
	struct store *s = tstore_open();
	struct store_watch *w;
	struct store_event ev;

	ASSERT_INT_EQ(put(s, "/x/a", "a1", -1, NULL), 0); /* 1 */
	ASSERT_INT_EQ(put(s, "/y/a", "y", -1, NULL), 0);  /* 2 */
	ASSERT_INT_EQ(put(s, "/x/a", "a2", -1, NULL), 0); /* 3 */
	ASSERT_INT_EQ(del(s, "/x/a", -1), 0);		  /* 4 */
	ASSERT_INT_EQ(put(s, "/x/b", "b1", -1, NULL), 0); /* 5 */

	ASSERT_INT_EQ(store_watch_open(s, "/x/", B + 1, &w), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
	ASSERT_INT_EQ(ev.type, STORE_EV_PUT);
	ASSERT_INT_EQ(ev.rev, B + 3);
	ASSERT_STR_EQ(ev.kv->value, "a2");
	ASSERT_STR_EQ(ev.prev->value, "a1");
	store_event_fini(&ev);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
	ASSERT_INT_EQ(ev.type, STORE_EV_DELETE);
	ASSERT_INT_EQ(ev.rev, B + 4);
	ASSERT_STR_EQ(ev.kv->key, "/x/a");
	ASSERT_STR_EQ(ev.kv->value, "a2"); /* last value */
	ASSERT_INT_EQ(ev.kv->mod_rev, B + 3);
	ASSERT(ev.prev == NULL);
	store_event_fini(&ev);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
	ASSERT_INT_EQ(ev.rev, B + 5);
	ASSERT_STR_EQ(ev.kv->key, "/x/b");
	ASSERT(ev.prev == NULL);
	store_event_fini(&ev);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ETIMEDOUT);

	/* Events of one multi-op transaction share its revision, in op order. */
	struct store_op ops[3] = {{STORE_PUT, "/x/c", "c", 1, -1},
				  {STORE_PUT, "/y/z", "z", 1, -1},
				  {STORE_DELETE, "/x/b", NULL, 0, -1}};
	ASSERT_INT_EQ(store_txn(s, ops, 3, NULL, NULL, NULL), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 100), 0);
	ASSERT_INT_EQ(ev.rev, B + 6);
	ASSERT_STR_EQ(ev.kv->key, "/x/c");
	store_event_fini(&ev);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 100), 0);
	ASSERT_INT_EQ(ev.rev, B + 6);
	ASSERT_INT_EQ(ev.type, STORE_EV_DELETE);
	ASSERT_STR_EQ(ev.kv->value, "b1");
	store_event_fini(&ev);
	store_watch_close(w);
	store_close(s);
}

/* Enough events (more than the in-memory ring holds) that an old watcher must read the
 * start from the log, then continue from the ring without a gap or a duplicate. */
TEST(store_watch_catches_up_from_log)
{
	struct store *s = tstore_open();
	enum { TXNS = 130, OPS = 100 };
	struct store_op ops[OPS];
	char keys[OPS][16];
	struct store_watch *w;
	struct store_event ev;

	for (int t = 0; t < TXNS; t++) {
		for (int i = 0; i < OPS; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/k/%03d", i);
			ops[i] = (struct store_op){STORE_PUT, keys[i], "v", 1, -1};
		}
		ASSERT_INT_EQ(store_txn(s, ops, OPS, NULL, NULL, NULL), 0);
	}
	ASSERT_INT_EQ(store_watch_open(s, "/k/", B + 0, &w), 0);
	for (int t = 0; t < TXNS; t++) {
		for (int i = 0; i < OPS; i++) {
			ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
			ASSERT_INT_EQ(ev.rev, B + t + 1);
			ASSERT_STR_EQ(ev.kv->key, keys[i]);
			ASSERT_INT_EQ(ev.kv->version, t + 1);
			ASSERT(t == 0 ? ev.prev == NULL : ev.prev && ev.prev->version == t);
			store_event_fini(&ev);
		}
	}
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ETIMEDOUT);
	store_watch_close(w);
	store_close(s);
}

/* Large values rewritten often: the in-memory ring is bounded by bytes (32 MiB), so the
 * first of 40 one-MiB versions must come from the log, in order and complete. */
TEST(store_watch_ring_bounded_by_bytes)
{
	struct store *s = tstore_open();
	enum { N = 40, SZ = 1 << 20 };
	char *big = malloc(SZ + 1);
	struct store_watch *w;
	struct store_event ev;
	for (int t = 0; t < N; t++) {
		memset(big, 'a' + t % 26, SZ);
		big[SZ] = 0;
		struct store_op op = {STORE_PUT, "/big/x", big, SZ, -1};
		ASSERT_INT_EQ(store_txn(s, &op, 1, NULL, NULL, NULL), 0);
	}
	ASSERT_INT_EQ(store_watch_open(s, "/big/", B + 0, &w), 0);
	for (int t = 0; t < N; t++) {
		ASSERT_INT_EQ(store_watch_next(w, &ev, 1000), 0);
		ASSERT_INT_EQ(ev.rev, B + t + 1);
		ASSERT_INT_EQ(ev.kv->value_len, SZ);
		ASSERT(ev.kv->value[0] == 'a' + t % 26 && ev.kv->value[SZ - 1] == 'a' + t % 26);
		store_event_fini(&ev);
	}
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ETIMEDOUT);
	store_watch_close(w);
	store_close(s);
	free(big);
}

struct writer_arg {
	struct store *s;
	int delay_ms;
};

static void *delayed_put(void *p)
{
	struct writer_arg *a = p;
	usleep((useconds_t)a->delay_ms * 1000);
	put(a->s, "/w/late", "late", -1, NULL);
	return NULL;
}

TEST(store_watch_blocks_and_wakes)
{
	struct store *s = tstore_open();
	struct store_watch *w;
	struct store_event ev;
	pthread_t th;
	struct writer_arg a = {s, 50};

	ASSERT_INT_EQ(store_watch_open(s, "/w/", store_rev(s), &w), 0);
	pthread_create(&th, NULL, delayed_put, &a);
	ASSERT_INT_EQ(store_watch_next(w, &ev, -1), 0);
	ASSERT_STR_EQ(ev.kv->value, "late");
	ASSERT_INT_EQ(ev.rev, B + 1);
	store_event_fini(&ev);
	pthread_join(th, NULL);
	store_watch_close(w);
	store_close(s);
}

TEST(store_watch_timeout)
{
	struct store *s = tstore_open();
	struct store_watch *w;
	struct store_event ev;

	ASSERT_INT_EQ(put(s, "/other", "x", -1, NULL), 0);
	ASSERT_INT_EQ(store_watch_open(s, "/w/", B + 0, &w), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 30), -ETIMEDOUT);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ETIMEDOUT);
	store_watch_close(w);
	store_close(s);
}

struct cancel_arg {
	struct store_watch *w;
	struct store *s; /* closed instead of cancelling the watch when set */
};

static void *delayed_cancel(void *p)
{
	struct cancel_arg *a = p;
	usleep(50 * 1000);
	if (a->s)
		store_close(a->s);
	else
		store_watch_cancel(a->w);
	return NULL;
}

TEST(store_watch_cancel_wakes)
{
	struct store *s = tstore_open();
	struct store_watch *w;
	struct store_event ev;
	pthread_t th;

	ASSERT_INT_EQ(store_watch_open(s, "/", B + 0, &w), 0);
	struct cancel_arg a = {w, NULL};
	pthread_create(&th, NULL, delayed_cancel, &a);
	ASSERT_INT_EQ(store_watch_next(w, &ev, -1), -ECANCELED);
	pthread_join(th, NULL);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ECANCELED);
	store_watch_close(w);
	store_close(s);
}

TEST(store_close_wakes_watchers)
{
	struct store *s = tstore_open();
	struct store_watch *w;
	struct store_event ev;
	pthread_t th;

	ASSERT_INT_EQ(store_watch_open(s, "/", B + 0, &w), 0);
	struct cancel_arg a = {w, s};
	pthread_create(&th, NULL, delayed_cancel, &a);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 5000), -ECANCELED);
	pthread_join(th, NULL);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ECANCELED); /* store gone: still safe */
	store_watch_close(w);
}

TEST(store_compaction_bounds_history)
{
	sqlite_only();
	struct tmp t;
	tmp_init(&t);
	struct store *s = open_url(t.url, 10);
	struct store_watch *slow, *w;
	struct store_list l;
	struct store_event ev;
	char key[32], val[32];
	int64_t rev = 0;

	ASSERT_INT_EQ(store_watch_open(s, "/", 0, &slow), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "/d/%02d", i);
		ASSERT_INT_EQ(put(s, key, "doomed", -1, NULL), 0);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "/d/%02d", i);
		ASSERT_INT_EQ(del(s, key, -1), 0);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(val, sizeof(val), "v%d", i);
		ASSERT_INT_EQ(put(s, i % 2 ? "/c/odd" : "/c/even", val, -1, &rev), 0);
	}
	ASSERT_INT_EQ(rev, 300);
	wait_compacted(s, rev - 10);

	ASSERT_INT_EQ(store_range(s, "/", NULL, 0, 5, &l), ERR_EXPIRED);
	ASSERT_INT_EQ(store_watch_open(s, "/", 5, &w), ERR_EXPIRED);
	ASSERT_INT_EQ(store_watch_next(slow, &ev, 0), ERR_EXPIRED);
	store_watch_close(slow);

	/* The oldest kept revision still reads correctly, from the range and from watch. */
	ASSERT_INT_EQ(store_range(s, "/", NULL, 0, 290, &l), 0);
	ASSERT_INT_EQ(l.len, 2);
	ASSERT_STR_EQ(l.kvs[0]->value, "v188"); /* /c/even */
	ASSERT_STR_EQ(l.kvs[1]->value, "v189"); /* /c/odd */
	store_list_fini(&l);
	ASSERT_INT_EQ(store_watch_open(s, "/c/odd", 290, &w), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
	ASSERT_INT_EQ(ev.rev, 292);
	ASSERT_STR_EQ(ev.prev->value, "v189");
	store_event_fini(&ev);
	store_watch_close(w);

	/* 2 live keys + at most the 10 kept revisions (+1 for the row at the boundary). */
	long long rows = log_rows(t.path);
	ASSERT(rows >= 2 && rows <= 13);
	store_close(s);
	tmp_fini(&t);
}

struct quiet_arg {
	struct store_watch *w;
	pid_t tid;
	int rc;
	char value[32];
};

static void *quiet_watch(void *p)
{
	struct quiet_arg *a = p;
	struct store_event ev;
	__atomic_store_n(&a->tid, gettid(), __ATOMIC_SEQ_CST);
	a->rc = store_watch_next(a->w, &ev, 20000);
	if (a->rc == 0) {
		snprintf(a->value, sizeof(a->value), "%s", ev.kv->value);
		store_event_fini(&ev);
	}
	return NULL;
}

/* Whether thread tid of this process is asleep (state S in /proc). */
static bool thread_sleeping(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *e = strrchr(buf, ')');
	return e && e[1] == ' ' && e[2] == 'S';
}

/* A watcher asleep on one prefix is not woken by writes under others, yet never falls
 * behind for them: after thousands of other writes, past the ring and the compaction of
 * their revisions, its own change still arrives (no 410 Expired). */
TEST(store_quiet_watcher_survives_busy_neighbours)
{
	sqlite_only();
	struct tmp t;
	tmp_init(&t);
	struct store *s = open_url(t.url, 10);
	struct store_watch *w;
	char key[32];
	int64_t rev = 0;
	ASSERT_INT_EQ(store_watch_open(s, "/quiet/", 0, &w), 0);
	struct quiet_arg a = {.w = w};
	pthread_t th;
	pthread_create(&th, NULL, quiet_watch, &a);
	for (int i = 0; i < 5000 && !(__atomic_load_n(&a.tid, __ATOMIC_SEQ_CST) && thread_sleeping(a.tid));
	     i++)
		usleep(1000);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "/busy/%d", i % 7);
		ASSERT_INT_EQ(put(s, key, "x", -1, &rev), 0);
	}
	wait_compacted(s, rev - 10);
	ASSERT_INT_EQ(put(s, "/quiet/a", "here", -1, NULL), 0);
	pthread_join(th, NULL);
	ASSERT_INT_EQ(a.rc, 0);
	ASSERT_STR_EQ(a.value, "here");
	store_watch_close(w);
	store_close(s);
	tmp_fini(&t);
}

/* WAL checkpoints run on the checkpointer's thread once the WAL passes 1,000 pages, and
 * what they copied reads back after a restart. */
TEST(store_checkpoints_off_the_commit)
{
	sqlite_only();
	struct tmp t;
	tmp_init(&t);
	struct store *s = open_url(t.url, 0);
	struct store_metrics m0, m1;
	store_metrics_read(&m0);
	static char val[8192];
	memset(val, 'v', sizeof(val) - 1);
	char key[32];
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "/big/%03d", i);
		val[0] = (char)('a' + i % 26);
		ASSERT_INT_EQ(put(s, key, val, -1, NULL), 0);
	}
	for (int i = 0; i < 5000; i++) {
		store_metrics_read(&m1);
		if (m1.checkpoints > m0.checkpoints)
			break;
		usleep(1000);
	}
	ASSERT(m1.checkpoints > m0.checkpoints);
	store_close(s);
	s = open_url(t.url, 0);
	struct store_list l;
	ASSERT_INT_EQ(store_range(s, "/big/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 400);
	ASSERT_INT_EQ(l.kvs[399]->value[0], 'a' + 399 % 26);
	ASSERT_INT_EQ(l.kvs[399]->value_len, sizeof(val) - 1);
	store_list_fini(&l);
	store_close(s);
	tmp_fini(&t);
}

TEST(store_restart_keeps_everything)
{
	sqlite_only();
	struct tmp t;
	tmp_init(&t);
	struct store *s = open_url(t.path, 20); /* a plain path works as well */
	struct store_kv *kv;
	struct store_list l;
	char key[32];
	int64_t rev, compact;

	for (int i = 0; i < 60; i++) {
		snprintf(key, sizeof(key), "/r/%02d", i % 6);
		ASSERT_INT_EQ(put(s, key, key, -1, NULL), 0);
	}
	ASSERT_INT_EQ(del(s, "/r/05", -1), 0);
	rev = store_rev(s);
	ASSERT_INT_EQ(rev, 61);
	wait_compacted(s, rev - 20);
	compact = store_compact_rev(s);
	store_close(s);

	s = open_url(t.url, 20);
	ASSERT_INT_EQ(store_rev(s), rev);
	ASSERT_INT_EQ(store_compact_rev(s), compact);
	ASSERT_INT_EQ(store_get(s, "/r/00", &kv), 0);
	ASSERT_INT_EQ(kv->version, 10);
	ASSERT_INT_EQ(kv->create_rev, 1);
	ASSERT_INT_EQ(kv->mod_rev, 55);
	store_kv_unref(kv);
	ASSERT_INT_EQ(store_get(s, "/r/05", &kv), -ENOENT);
	ASSERT_INT_EQ(store_range(s, "/r/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 5);
	store_list_fini(&l);
	ASSERT_INT_EQ(store_range(s, "/r/", NULL, 0, rev - 1, &l), 0);
	ASSERT_INT_EQ(l.len, 6); /* before the delete */
	store_list_fini(&l);
	ASSERT_INT_EQ(store_range(s, "/r/", NULL, 0, compact - 1, &l), ERR_EXPIRED);

	/* Watch across the restart: the events come from the log. */
	struct store_watch *w;
	struct store_event ev;
	ASSERT_INT_EQ(store_watch_open(s, "/r/05", rev - 1, &w), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), 0);
	ASSERT_INT_EQ(ev.type, STORE_EV_DELETE);
	ASSERT_STR_EQ(ev.kv->value, "/r/05");
	ASSERT_INT_EQ(ev.kv->mod_rev, 60);
	store_event_fini(&ev);
	store_watch_close(w);

	ASSERT_INT_EQ(put(s, "/r/05", "back", 0, &rev), 0);
	ASSERT_INT_EQ(rev, 62);
	store_close(s);
	tmp_fini(&t);
}

enum { N_THREADS = 8, N_TXNS = 200 };

struct conc_arg {
	struct store *s;
	int id;
	int64_t revs[N_TXNS];
	int failures;
};

static void *conc_writer(void *p)
{
	struct conc_arg *a = p;
	char key[32];
	for (int i = 0; i < N_TXNS; i++) {
		snprintf(key, sizeof(key), "/c/%d/%03d", a->id, i);
		if (put(a->s, key, "{\"kind\":\"Service\"}", 0, &a->revs[i]) != 0)
			a->failures++;
	}
	return NULL;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

TEST(store_concurrent_writers)
{
	struct tmp t;
	tmp_init(&t);
	struct store *s = tstore_etcd_url() ? tstore_open() : open_url(t.url, 0);
	if (!tstore_etcd_url())
		B = 0;
	static struct conc_arg args[N_THREADS];
	static int64_t all[N_THREADS * N_TXNS];
	pthread_t th[N_THREADS];
	struct store_list l;

	for (int i = 0; i < N_THREADS; i++) {
		args[i] = (struct conc_arg){.s = s, .id = i};
		pthread_create(&th[i], NULL, conc_writer, &args[i]);
	}
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N_THREADS; i++) {
		ASSERT_INT_EQ(args[i].failures, 0);
		for (int j = 0; j < N_TXNS; j++) {
			if (j)
				ASSERT(args[i].revs[j] > args[i].revs[j - 1]);
			all[i * N_TXNS + j] = args[i].revs[j];
		}
	}
	qsort(all, N_THREADS * N_TXNS, sizeof(all[0]), cmp_i64);
	for (int i = 0; i < N_THREADS * N_TXNS; i++)
		ASSERT_INT_EQ(all[i], B + i + 1); /* distinct, no gaps */
	ASSERT_INT_EQ(store_rev(s), B + N_THREADS * N_TXNS);
	ASSERT_INT_EQ(store_range(s, "/c/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, N_THREADS * N_TXNS);
	for (size_t i = 0; i < l.len; i++)
		ASSERT_INT_EQ(l.kvs[i]->version, 1);
	store_list_fini(&l);
	store_close(s);
	tmp_fini(&t);
}

/* Read-modify-write with CAS from several threads: conflicts inside one group-commit
 * batch must be detected against the batch's earlier transactions. */
static void *cas_incrementer(void *p)
{
	struct store *s = p;
	char val[32];
	for (int done = 0; done < 50;) {
		struct store_kv *kv;
		if (store_get(s, "/counter", &kv) != 0)
			return NULL;
		snprintf(val, sizeof(val), "%d", atoi(kv->value) + 1);
		int rc = put(s, "/counter", val, kv->mod_rev, NULL);
		store_kv_unref(kv);
		if (rc == 0)
			done++;
		else if (rc != -ESTALE)
			return NULL;
	}
	return NULL;
}

TEST(store_concurrent_cas_counter)
{
	struct store *s = tstore_open();
	pthread_t th[4];
	struct store_kv *kv;

	ASSERT_INT_EQ(put(s, "/counter", "0", 0, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, cas_incrementer, s);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ASSERT_INT_EQ(store_get(s, "/counter", &kv), 0);
	ASSERT_STR_EQ(kv->value, "200");
	ASSERT_INT_EQ(kv->version, 201);
	ASSERT_INT_EQ(store_rev(s), B + 201);
	store_kv_unref(kv);
	store_close(s);
}

TEST(store_open_rejects_bad_urls)
{
	struct store *s = NULL;
	char err[256];
	struct store_opts o = {.url = "etcd://127.0.0.1:1"}; /* nobody listens on port 1 */

	ASSERT(store_open(&o, &s, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "etcd did not answer");
	ASSERT_STR_CONTAINS(err, "127.0.0.1:1");
	o.url = "etcd://";
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "no endpoint");
	o.url = "etcd://127.0.0.1:99999";
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "bad port");
	o.url = "etcd://a b:2379";
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), -EINVAL);
	o.url = "http://x";
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), -EINVAL);
	o.url = "/nonexistent-dir-for-store-test/x.db";
	ASSERT(store_open(&o, &s, err, sizeof(err)) < 0);
	ASSERT(s == NULL);
	ASSERT_STR_CONTAINS(err, "x.db");
}
