/* test_etcd.c - the etcd backend: key mapping and answer decoding (always), and what only etcd
 * has (interval compaction, restart on the same etcd, two servers on one etcd, endpoint
 * failover) when tests/etcd_run.sh gives a throwaway etcd in SVCPLANE_TEST_ETCD.
 */
#include "harness/t.h"
#include "store/etcdwire.h"
#include "unit/store/tstore.h"

#include "base/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void need_etcd(void)
{
	if (!tstore_etcd_url())
		t_skip("needs etcd: tests/etcd_run.sh (make test-unit-etcd) runs it");
}

static int put(struct store *s, const char *key, const char *value, int64_t expect, int64_t *rev)
{
	struct store_op op = {STORE_PUT, key, value, strlen(value), expect};
	return store_txn(s, &op, 1, NULL, rev, NULL);
}

TEST(store_etcd_keys_map_both_ways)
{
	char *k = etcd__key_to("/registry", "/registry/core/services/ns/a");
	ASSERT_STR_EQ(k, "/registry/core/services/ns/a");
	char *back = etcd__key_from("/registry", k, strlen(k));
	ASSERT_STR_EQ(back, "/registry/core/services/ns/a");
	free(k), free(back);
	k = etcd__key_to("/cluster1", "/registry/core/pods/x/y");
	ASSERT_STR_EQ(k, "/cluster1/core/pods/x/y");
	free(k);
	k = etcd__key_to("/registry", "/a/1"); /* outside /registry/: its own space */
	ASSERT_STR_EQ(k, "/registry/-/a/1");
	back = etcd__key_from("/registry", k, strlen(k));
	ASSERT_STR_EQ(back, "/a/1");
	free(k), free(back);
	ASSERT(etcd__key_from("/registry", "/other/x", 8) == NULL);
	ASSERT(etcd__key_from("/registry", "/registryx", 10) == NULL);
	ASSERT(etcd__key_from("/registry", "compact_rev_key", 15) == NULL);
	ASSERT(etcd__key_from("/registry", "/registry/a\0b", 13) == NULL);
	char *a, *e;
	etcd__prefix_range("/registry", "/registry/core/", &a, &e);
	ASSERT_STR_EQ(a, "/registry/core/");
	ASSERT_STR_EQ(e, "/registry/core0");
	free(a), free(e);
	etcd__prefix_range("/registry", "", &a, &e); /* both spaces */
	ASSERT_STR_EQ(a, "/registry/");
	ASSERT_STR_EQ(e, "/registry0");
	free(a), free(e);
}

TEST(store_etcd_decodes_answers_and_refuses_bad_ones)
{
	char *out;
	size_t n;
	ASSERT_INT_EQ(etcd__unb64("aGVsbG8=", 8, &out, &n), 0);
	ASSERT_INT_EQ(n, 5);
	ASSERT_STR_EQ(out, "hello");
	free(out);
	ASSERT_INT_EQ(etcd__unb64("aGVsbG8", 7, &out, &n), -EBADMSG);
	ASSERT_INT_EQ(etcd__unb64("a*VsbG8=", 8, &out, &n), -EBADMSG);

	/* A PUT of /registry/a over a previous version, then a DELETE with prev_kv. */
	static const char line[] =
	    "{\"result\":{\"header\":{\"revision\":\"3\"},\"events\":["
	    "{\"kv\":{\"key\":\"L3JlZ2lzdHJ5L2E=\",\"create_revision\":\"2\",\"mod_revision\":\"3\","
	    "\"version\":\"2\",\"value\":\"aGVsbG8=\"},\"prev_kv\":{\"key\":\"L3JlZ2lzdHJ5L2E=\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"aGk=\"}},"
	    "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3JlZ2lzdHJ5L2E=\",\"mod_revision\":\"4\"},"
	    "\"prev_kv\":{\"key\":\"L3JlZ2lzdHJ5L2E=\",\"create_revision\":\"2\",\"mod_revision\":\"3\","
	    "\"version\":\"2\",\"value\":\"aGVsbG8=\"}},"
	    "{\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"5\",\"value\":\"eA==\"}}]}}";
	struct etcd__watch_msg m;
	ASSERT_INT_EQ(etcd__watch_msg_parse(line, strlen(line), "/registry", &m), 0);
	ASSERT_INT_EQ(m.events.len, 2); /* "foo" is outside the prefix */
	ASSERT_INT_EQ(m.last_rev, 5);
	ASSERT_INT_EQ(m.events.v[0].type, STORE_EV_PUT);
	ASSERT_STR_EQ(m.events.v[0].kv->value, "hello");
	ASSERT_STR_EQ(m.events.v[0].prev->value, "hi");
	ASSERT_INT_EQ(m.events.v[1].type, STORE_EV_DELETE);
	ASSERT_INT_EQ(m.events.v[1].rev, 4);
	ASSERT_INT_EQ(m.events.v[1].kv->mod_rev, 3); /* the record as it was */
	etcd__watch_msg_fini(&m);

	static const char compacted[] =
	    "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"7\"}}";
	ASSERT_INT_EQ(etcd__watch_msg_parse(compacted, strlen(compacted), "/registry", &m), 0);
	ASSERT(m.canceled);
	ASSERT_INT_EQ(m.compact_rev, 7);
	etcd__watch_msg_fini(&m);

	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"result\":1}",
	    "{\"result\":{\"events\":{}}}",
	    "{\"result\":{\"events\":[{\"kv\":{\"key\":\"***\",\"mod_revision\":\"1\"}}]}}",
	    "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"x\"}}]}}",
	    "{\"result\":{\"events\":[{\"type\":\"BOOM\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"1\"}}]}}",
	    ("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"5\"}},"
	     "{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"4\"}}]}}"), /* out of order */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_INT_EQ(etcd__watch_msg_parse(bad[i], strlen(bad[i]), "/registry", &m), -EBADMSG);
	static const char err[] = "{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}";
	ASSERT_INT_EQ(etcd__watch_msg_parse(err, strlen(err), "/registry", &m), -EIO);
	ASSERT_STR_CONTAINS(m.err, "no leader");
}

TEST(store_etcd_compaction_by_interval)
{
	need_etcd();
	char prefix[64];
	tstore_prefix(prefix, sizeof(prefix));
	struct store *s = tstore_open_etcd(prefix, 100);
	struct store_watch *slow, *w;
	struct store_event ev;
	struct store_list l;
	int64_t rev = 0;

	ASSERT_INT_EQ(store_watch_open(s, "/", B, &slow), 0);
	for (int i = 0; i < 20; i++)
		ASSERT_INT_EQ(put(s, i % 2 ? "/c/odd" : "/c/even", "v", -1, &rev), 0);
	/* Two compaction rounds after the writes: the second compacts to at least rev. */
	for (int i = 0; i < 300 && store_compact_rev(s) < rev; i++)
		usleep(20000);
	ASSERT(store_compact_rev(s) >= rev);
	ASSERT_INT_EQ(store_range(s, "/", NULL, 0, B + 2, &l), ERR_EXPIRED);
	ASSERT_INT_EQ(store_watch_open(s, "/", B + 2, &w), ERR_EXPIRED);
	ASSERT_INT_EQ(store_watch_next(slow, &ev, 0), ERR_EXPIRED);
	store_watch_close(slow);
	/* The current state is whole. */
	ASSERT_INT_EQ(store_range(s, "/c/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 2);
	store_list_fini(&l);
	/* Another server opened later knows at once what was compacted. */
	int64_t compacted = store_compact_rev(s);
	struct store *s2 = tstore_open_etcd(prefix, -1);
	ASSERT(store_compact_rev(s2) >= compacted);
	ASSERT_INT_EQ(store_watch_open(s2, "/", compacted - 1, &w), ERR_EXPIRED);
	store_close(s2);
	store_close(s);
}

TEST(store_etcd_restart_keeps_everything)
{
	need_etcd();
	char prefix[64];
	tstore_prefix(prefix, sizeof(prefix));
	struct store *s = tstore_open_etcd(prefix, -1);
	struct store_kv *kv;
	struct store_list l;
	struct store_op del = {STORE_DELETE, "/r/5", NULL, 0, -1};
	char key[32];
	int64_t rev;

	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "/r/%d", i % 6);
		ASSERT_INT_EQ(put(s, key, key, -1, NULL), 0);
	}
	ASSERT_INT_EQ(store_txn(s, &del, 1, NULL, &rev, NULL), 0);
	int64_t first = B;
	store_close(s);

	s = tstore_open_etcd(prefix, -1);
	ASSERT_INT_EQ(store_rev(s), rev);
	ASSERT_INT_EQ(store_get(s, "/r/0", &kv), 0);
	ASSERT_INT_EQ(kv->version, 5);
	ASSERT_INT_EQ(kv->create_rev, first + 1);
	ASSERT_INT_EQ(kv->mod_rev, first + 25);
	store_kv_unref(kv);
	ASSERT_INT_EQ(store_get(s, "/r/5", &kv), -ENOENT);
	ASSERT_INT_EQ(store_range(s, "/r/", NULL, 0, rev - 1, &l), 0); /* from etcd */
	ASSERT_INT_EQ(l.len, 6);
	store_list_fini(&l);
	/* A watch from before the restart: the events come from etcd's history. */
	struct store_watch *w;
	struct store_event ev;
	ASSERT_INT_EQ(store_watch_open(s, "/r/5", rev - 1, &w), 0);
	ASSERT_INT_EQ(store_watch_next(w, &ev, 5000), 0);
	ASSERT_INT_EQ(ev.type, STORE_EV_DELETE);
	ASSERT_STR_EQ(ev.kv->value, "/r/5");
	ASSERT_INT_EQ(ev.rev, rev);
	store_event_fini(&ev);
	store_watch_close(w);
	store_close(s);
}

TEST(store_etcd_two_servers_see_each_other)
{
	need_etcd();
	char prefix[64];
	tstore_prefix(prefix, sizeof(prefix));
	struct store *a = tstore_open_etcd(prefix, -1), *b = tstore_open_etcd(prefix, -1);
	struct store_kv *kv = NULL;
	int64_t r1, r2, synced;

	ASSERT_INT_EQ(put(a, "/x", "1", 0, &r1), 0);
	ASSERT_INT_EQ(store_sync(b, &synced), 0); /* read-your-writes through the other server */
	ASSERT(synced >= r1);
	ASSERT_INT_EQ(store_get(b, "/x", &kv), 0);
	ASSERT_STR_EQ(kv->value, "1");
	store_kv_unref(kv);
	/* Both create: one wins, the other is AlreadyExists; then a stale CAS is a conflict. */
	ASSERT_INT_EQ(put(b, "/x", "2", 0, NULL), -EEXIST);
	ASSERT_INT_EQ(put(b, "/x", "2", r1, &r2), 0);
	ASSERT_INT_EQ(put(a, "/x", "3", r1, NULL), -ESTALE);
	ASSERT_INT_EQ(store_sync(a, NULL), 0);
	ASSERT_INT_EQ(store_get(a, "/x", &kv), 0);
	ASSERT_INT_EQ(kv->mod_rev, r2);
	store_kv_unref(kv);
	store_close(a);
	store_close(b);
}

TEST(store_etcd_fails_over_between_endpoints)
{
	need_etcd();
	/* The first endpoint refuses connections; requests move on to the live one. */
	const char *live = tstore_etcd_url() + strlen("etcd://");
	char url[256], prefix[64];
	snprintf(url, sizeof(url), "etcd://127.0.0.1:1,%s", live);
	tstore_prefix(prefix, sizeof(prefix));
	struct store_opts o = {.url = url, .etcd_prefix = prefix, .etcd_compaction_interval_ms = -1};
	struct store *s = NULL;
	char err[256];
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), 0);
	ASSERT_INT_EQ(put(s, "/f", "v", 0, NULL), 0);
	ASSERT_INT_EQ(store_sync(s, NULL), 0);
	store_close(s);
	o.etcd_prefix = "relative";
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "must start with /");
}

/* More keys than one etcd range page (5,000): the cache's list at open and a range at an old
 * revision read every page, at one revision. */
TEST(store_etcd_lists_in_pages)
{
	need_etcd();
	enum { TXNS = 121, OPS = 100 };
	char prefix[64], keys[OPS][32];
	struct store_op ops[OPS];
	struct store_list l;
	int64_t rev = 0;
	tstore_prefix(prefix, sizeof(prefix));
	struct store *s = tstore_open_etcd(prefix, -1);
	for (int t = 0; t < TXNS; t++) {
		for (int i = 0; i < OPS; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/p/%03d/%03d", t, i);
			ops[i] = (struct store_op){STORE_PUT, keys[i], "v", 1, -1};
		}
		ASSERT_INT_EQ(store_txn(s, ops, OPS, NULL, &rev, NULL), 0);
	}
	store_close(s);
	s = tstore_open_etcd(prefix, -1);
	ASSERT_INT_EQ(store_range(s, "/p/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, TXNS * OPS);
	ASSERT_STR_EQ(l.kvs[TXNS * OPS - 1]->key, "/p/120/099");
	store_list_fini(&l);
	ASSERT_INT_EQ(store_range(s, "/p/", NULL, 0, rev - 1, &l), 0); /* from etcd */
	ASSERT_INT_EQ(l.len, (TXNS - 1) * OPS);
	ASSERT_STR_EQ(l.kvs[0]->key, "/p/000/000");
	store_list_fini(&l);
	store_close(s);
}

static struct store *open_sqlite(const char *path)
{
	struct store_opts o = {.url = path};
	struct store *s = NULL;
	char err[256];
	ASSERT_INT_EQ(store_open(&o, &s, err, sizeof(err)), 0);
	return s;
}

/* A populated SQLite store to etcd and back: every key and value arrives (binary values,
 * keys outside /registry too); a non-empty destination is refused unless forced, and
 * forcing also removes the destination's extra keys. */
TEST(store_etcd_migrate_sqlite_to_etcd_and_back)
{
	need_etcd();
	char dir[] = "/tmp/store-migrate-XXXXXX", a[64], b[64], prefix[64], key[64], val[64];
	ASSERT(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/a.db", dir);
	snprintf(b, sizeof(b), "%s/b.db", dir);
	struct store *src = open_sqlite(a);
	for (int i = 0; i < 250; i++) {
		snprintf(key, sizeof(key), i % 5 ? "/registry/core/services/ns/s%03d" : "/other/k%03d", i);
		int n = snprintf(val, sizeof(val), "{\"i\":%d}", i);
		val[n - 1] = (char)(i % 2 ? '}' : 0x01); /* some values are not text */
		struct store_op op = {STORE_PUT, key, val, (size_t)n, -1};
		ASSERT_INT_EQ(store_txn(src, &op, 1, NULL, NULL, NULL), 0);
	}
	tstore_prefix(prefix, sizeof(prefix));
	struct store *mid = tstore_open_etcd(prefix, -1), *dst = open_sqlite(b);
	size_t copied = 0;
	char err[256];
	ASSERT_INT_EQ(store_migrate(src, mid, false, &copied, err, sizeof(err)), 0);
	ASSERT_INT_EQ(copied, 250);
	ASSERT_INT_EQ(store_migrate(src, mid, false, &copied, err, sizeof(err)), -EEXIST);
	ASSERT_STR_CONTAINS(err, "not empty");
	ASSERT_INT_EQ(store_migrate(mid, dst, false, &copied, err, sizeof(err)), 0);

	struct store_list la, lb;
	ASSERT_INT_EQ(store_range(src, "", NULL, 0, 0, &la), 0);
	ASSERT_INT_EQ(store_range(dst, "", NULL, 0, 0, &lb), 0);
	ASSERT_INT_EQ(la.len, 250);
	ASSERT_INT_EQ(lb.len, la.len);
	for (size_t i = 0; i < la.len; i++) {
		ASSERT_STR_EQ(la.kvs[i]->key, lb.kvs[i]->key);
		ASSERT_INT_EQ(la.kvs[i]->value_len, lb.kvs[i]->value_len);
		ASSERT(memcmp(la.kvs[i]->value, lb.kvs[i]->value, la.kvs[i]->value_len) == 0);
	}
	store_list_fini(&la);
	store_list_fini(&lb);

	/* --force onto a destination with a key the source lacks: it goes. */
	struct store_op extra = {STORE_PUT, "/registry/extra", "x", 1, -1};
	ASSERT_INT_EQ(store_txn(mid, &extra, 1, NULL, NULL, NULL), 0);
	ASSERT_INT_EQ(store_migrate(src, mid, true, &copied, err, sizeof(err)), 0);
	struct store_kv *kv = NULL;
	ASSERT_INT_EQ(store_get(mid, "/registry/extra", &kv), -ENOENT);
	store_close(dst);
	store_close(mid);
	store_close(src);
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%s%s", a, sfx[i]);
		unlink(key);
		snprintf(key, sizeof(key), "%s%s", b, sfx[i]);
		unlink(key);
	}
	rmdir(dir);
}

enum { W_THREADS = 8, W_EACH = 40 };
struct wr_arg {
	struct store *s;
	int id;
	int64_t revs[W_EACH];
	int failures;
};

static void *two_server_writer(void *p)
{
	struct wr_arg *a = p;
	char key[32];
	for (int i = 0; i < W_EACH; i++) {
		snprintf(key, sizeof(key), "/w/%d/%03d", a->id, i);
		if (put(a->s, key, "v", 0, &a->revs[i]) != 0)
			a->failures++;
	}
	return NULL;
}

/* Eight writers through two stores on one etcd (as two API servers): a watcher on the second
 * sees every acknowledged write once, in revision order, and both stores end at one state. */
TEST(store_etcd_two_servers_watchers_see_every_write_in_order)
{
	need_etcd();
	char prefix[64];
	tstore_prefix(prefix, sizeof(prefix));
	struct store *a = tstore_open_etcd(prefix, -1), *b = tstore_open_etcd(prefix, -1);
	static struct wr_arg args[W_THREADS];
	pthread_t th[W_THREADS];
	struct store_watch *w;
	struct store_event ev;

	ASSERT_INT_EQ(store_watch_open(b, "/w/", store_rev(b), &w), 0);
	for (int i = 0; i < W_THREADS; i++) {
		args[i] = (struct wr_arg){.s = i % 2 ? b : a, .id = i};
		pthread_create(&th[i], NULL, two_server_writer, &args[i]);
	}
	for (int i = 0; i < W_THREADS; i++)
		pthread_join(th[i], NULL);
	int64_t last = 0;
	for (int n = 0; n < W_THREADS * W_EACH; n++) {
		ASSERT_INT_EQ(store_watch_next(w, &ev, 30000), 0);
		ASSERT(ev.rev > last); /* one write per revision: strictly in order */
		last = ev.rev;
		int t = -1, i = -1;
		ASSERT_INT_EQ(sscanf(ev.kv->key, "/w/%d/%d", &t, &i), 2);
		ASSERT(t >= 0 && t < W_THREADS && i >= 0 && i < W_EACH);
		ASSERT_INT_EQ(args[t].revs[i], ev.rev); /* the acknowledged write, at its revision */
		args[t].revs[i] = -1;			/* seen: a second time would fail above */
		store_event_fini(&ev);
	}
	ASSERT_INT_EQ(store_watch_next(w, &ev, 0), -ETIMEDOUT);
	for (int i = 0; i < W_THREADS; i++)
		ASSERT_INT_EQ(args[i].failures, 0);
	int64_t ra, rb;
	ASSERT_INT_EQ(store_sync(a, &ra), 0);
	ASSERT_INT_EQ(store_sync(b, &rb), 0);
	struct store_list la, lb;
	ASSERT_INT_EQ(store_range(a, "/w/", NULL, 0, 0, &la), 0);
	ASSERT_INT_EQ(store_range(b, "/w/", NULL, 0, 0, &lb), 0);
	ASSERT_INT_EQ(la.len, W_THREADS * W_EACH);
	ASSERT_INT_EQ(lb.len, la.len);
	for (size_t i = 0; i < la.len; i++)
		ASSERT_INT_EQ(la.kvs[i]->mod_rev, lb.kvs[i]->mod_rev);
	store_list_fini(&la);
	store_list_fini(&lb);
	store_watch_close(w);
	store_close(a);
	store_close(b);
}
