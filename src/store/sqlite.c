/* sqlite.c - the SQLite store backend: a revision log on disk, current state and recent events in memory.
 *
 * On disk (WAL mode, synchronous=FULL, so a COMMIT is on disk when it returns):
 *
 *   log(id INTEGER PRIMARY KEY, rev, key, create_rev, version, deleted, prev_id, prev_rev, value)
 *   meta(k PRIMARY KEY, v)          -- 'rev' (last committed revision), 'compact_rev'
 *
 * Every change of a key is one row; a DELETE writes a tombstone row (deleted = 1) that
 * keeps the deleted record's value, create_rev and version, with prev_rev = its mod_rev.
 * prev_id / prev_rev point at the previous row of the same key (0 when the key did not
 * exist), so compaction finds superseded rows from the rows written since the last pass
 * alone (no full scan; see k3s-io/kine#213 for a compactor that falls behind). All rows of
 * one transaction share its revision; id orders rows inside a revision.
 *
 * In memory, under `mu`: the current state (a key-sorted array, so gets and prefix ranges
 * are binary searches), the revision counters, a bounded ring of recent events that feeds
 * watchers, and the write queue. Reads at the current revision never touch SQLite; reads
 * at an older revision and watchers that fell behind the ring read the log through a
 * second connection (WAL readers do not wait for the writer).
 *
 * Write path (one writer thread, group commit):
 *
 *   store_txn: enqueue --> wait on own condvar ----------------------------> return result
 *                 |                                                     ^
 *   writer:   take all queued (<= BATCH_MAX) --> check conditions -->  |  (failed ones: error,
 *             against state + earlier txns of the batch, assign revs   |   no revision used)
 *                 --> BEGIN IMMEDIATE, insert rows, meta.rev, COMMIT (one fsync)
 *                 --> lock mu: apply to state, append events, rev = last,
 *                     wake watchers, fill results, wake callers -----------'
 *                 --> at most one bounded compaction pass, then the next batch
 *
 * WAL checkpoints (copying the WAL's pages into the database file, then fsyncing it) run
 * on a thread and connection of their own, never inside a COMMIT: SQLite's automatic
 * checkpoint ran in the COMMIT that crossed 1,000 WAL pages, so every ~200th write also
 * waited for 4 MB to be written and fsynced, and every write queued behind it. The
 * writer's WAL hook wakes the checkpointer past CKPT_PAGES; a PASSIVE checkpoint never
 * blocks the writer (WAL lets one writer and checkpoints run at once), and durability is
 * the WAL's fsync at each COMMIT as before. Should checkpoints fall far behind (a reader
 * pinning old frames), the writer checkpoints itself past CKPT_FORCE_PAGES, as before.
 *
 * Invariants: memory only changes after the COMMIT that makes the change durable, so
 * nothing readable can be lost by a crash; only the writer thread changes the state, the
 * revision counters and the ring (always holding mu), so it reads them without mu;
 * compact_rev in memory is raised before the compaction's COMMIT, and old-revision readers
 * check it again after reading, so a read that raced a compaction returns ERR_EXPIRED
 * instead of a partial answer.
 */
#include "store/backend.h"
#include "store/memcache.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 256	       /* transactions per group commit */
#define COMPACT_STEP 1000      /* revisions compacted per pass at most */
#define COMPACT_MIN_STEP 500   /* revisions behind target before a pass runs while busy */
#define CATCHUP_REVS 1000      /* revisions read from the log at once by a lagging watcher */
#define CKPT_PAGES 1000	       /* WAL pages that wake the checkpointer (SQLite's own threshold) */
#define CKPT_FORCE_PAGES 16000 /* WAL pages past which the writer checkpoints itself (64 MB) */
/* The writer thread's nice value: every write waits for it, so on a busy machine it runs
 * before batch work (the API server's request threads run at the same value). The
 * checkpointer keeps the default: nothing waits for it. */
#define WRITER_NICE (-10)

/* Per op scratch of a transaction, filled by the writer. */
struct pending {
	struct store_kv *kv;  /* PUT: the new record (ref); DELETE: NULL */
	struct store_kv *old; /* the record before (ref), NULL if none */
	int64_t row_id;
};

struct txn_req {
	const struct store_op *ops;
	size_t n;
	struct store_result *res;
	struct pending *pend;
	int rc;
	int64_t rev;
	size_t failed_op;
	bool done;
	pthread_cond_t cv;
	struct txn_req *next;
	int64_t taken_ns, syncing_ns, committed_ns; /* for store_txn_timing_last */
	unsigned group;
};

struct sq_store {
	struct store__hub h;	/* first: state (aux = the key's latest log row id), ring, revision,
				 * watchers; mu guards them and the queue */
	sqlite3 *db;		/* the writer's connection */
	sqlite3 *rdb;		/* readers' connection; == db for ":memory:" */
	pthread_mutex_t rdb_mu; /* serializes use of rdb (and of db too when they are one) */
	bool one_conn;
	sqlite3_stmt *st_insert, *st_set_meta;
	int64_t history;
	pthread_t writer;

	pthread_cond_t writer_cv; /* queue became non-empty, or closing */
	/* The checkpointer (not for ":memory:"): its connection, its wake-up (under ck_mu). */
	sqlite3 *ckdb;
	pthread_t ckpt;
	bool ckpt_started, ckpt_due, ckpt_stop;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;
	struct txn_req *q_head, **q_tail;
	int64_t compact_failed_rev; /* after a failed pass, no retry until rev moves past this */
};

static const struct store__ops sqlite_ops;
static int watch_fill_log(struct store__hub *h, struct store__hwatch *w, int64_t upto);

/* ---- small helpers ---- */

static void set_err(char *err, size_t errlen, const char *path, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "store: %s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static bool has_prefix(const char *key, const char *prefix, size_t prefix_len)
{
	return strncmp(key, prefix, prefix_len) == 0;
}

/* Smallest string greater than every string starting with prefix, or NULL if none
 * (empty prefix, or only 0xff bytes). The caller frees it. */
static char *prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
		return NULL;
	char *end = xstrndup(prefix, n);
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	return end;
}

static const void *col_blob(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	*len = (size_t)sqlite3_column_bytes(st, i);
	return p;
}

/* ---- open ---- */

/* The store is every object of the cluster, Secrets-to-be included: owner-only, whatever
 * modes the files had before. Called right after SQLite opened (and so created) the
 * database: SQLite creates -wal and -shm later with the database's mode. By path, never
 * by opening the file: closing any descriptor of a file drops every POSIX lock this
 * process holds on it, and SQLite's locks are POSIX locks (another process could then
 * take the database for unused, checkpoint it and delete the WAL under us). */
static int restrict_modes(const char *path, char *err, size_t errlen)
{
	if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
		return 0;
	if (chmod(path, 0600) < 0) {
		int e = errno;
		snprintf(err, errlen, "store: %s: %s", path, strerror(e));
		return -e;
	}
	static const char *const sfx[] = {"-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", path, sfx[i]);
		if (chmod(p, 0600) < 0 && errno != ENOENT)
			log_warn("store: chmod %s: %s", p, strerror(errno));
		free(p);
	}
	return 0;
}

static int db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	sqlite3 *db = NULL;

	*out = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, path, "open", db);
		sqlite3_close(db);
		return -EIO;
	}
	int rc = restrict_modes(path, err, errlen);
	if (rc < 0) {
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 10000);
	*out = db;
	return 0;
}

/* db_open, then one statement that must succeed (what names it in err). */
static int conn_open(const char *path, sqlite3 **out, const char *sql, const char *what, char *err,
		     size_t errlen)
{
	int rc = db_open(path, out, err, errlen);
	if (rc == 0 && exec(*out, sql) < 0) {
		set_err(err, errlen, path, what, *out);
		rc = -EIO;
	}
	return rc;
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS log("
    " id INTEGER PRIMARY KEY, rev INTEGER NOT NULL, key TEXT NOT NULL,"
    " create_rev INTEGER NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL,"
    " prev_id INTEGER NOT NULL, prev_rev INTEGER NOT NULL, value BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);"
    "CREATE INDEX IF NOT EXISTS log_rev ON log(rev);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('rev', 0), ('compact_rev', 0);";

static int meta_get(sqlite3 *db, const char *k, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*v = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Loads the latest live row of every key into the (empty) state. */
static int state_load(struct sq_store *s)
{
	static const char sql[] = "SELECT key, MAX(rev), id, value, create_rev, version, deleted FROM log "
				  "GROUP BY key ORDER BY key";
	sqlite3_stmt *st = NULL;
	int rc = -EIO, step;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len;
		const void *v;
		if (sqlite3_column_int(st, 6))
			continue;
		v = col_blob(st, 3, &len);
		struct store_kv *kv = store__kv_new(
		    (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), v, len,
		    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 5));
		store__state_append(&s->h.st, kv, sqlite3_column_int64(st, 2));
	}
	if (step == SQLITE_DONE)
		rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static void *writer_main(void *arg);

/* ---- metrics ---- */

/* Process-wide commit figures for /metrics (store_metrics_read). */
static const double commit_buckets[STORE_METRIC_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
							    0.05,   0.1,   0.25,  0.5,	 1,    2.5};
static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store_metrics metrics;

static void metrics_commit(double took, size_t txns)
{
	pthread_mutex_lock(&metrics_mu);
	metrics.commits++;
	metrics.txns += txns;
	metrics.commit_seconds_sum += took;
	for (int i = 0; i < STORE_METRIC_BUCKETS; i++)
		if (took <= commit_buckets[i])
			metrics.commit_bucket[i]++;
	pthread_mutex_unlock(&metrics_mu);
}

void store_metrics_read(struct store_metrics *out)
{
	pthread_mutex_lock(&metrics_mu);
	*out = metrics;
	pthread_mutex_unlock(&metrics_mu);
	for (int i = 0; i < STORE_METRIC_BUCKETS; i++)
		out->bucket_le[i] = commit_buckets[i];
}

/* ---- checkpoints ---- */

/* After each COMMIT on the writer's connection (writer thread), with the WAL's size. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct sq_store *s = ud;
	if (pages >= CKPT_FORCE_PAGES) {
		log_warn("store: the WAL holds %d pages: checkpointing in the writer", pages);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ck_mu);
		s->ckpt_due = true;
		pthread_cond_signal(&s->ck_cv);
		pthread_mutex_unlock(&s->ck_mu);
	}
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	pthread_mutex_lock(&s->ck_mu);
	for (;;) {
		while (!s->ckpt_due && !s->ckpt_stop)
			pthread_cond_wait(&s->ck_cv, &s->ck_mu);
		if (s->ckpt_stop)
			break;
		s->ckpt_due = false;
		pthread_mutex_unlock(&s->ck_mu);
		int log = 0, done = 0;
		double t0 = clock_mono_s();
		int rc = sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		double took = clock_mono_s() - t0;
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint: %s", sqlite3_errmsg(s->ckdb));
		log_debug("store: checkpoint of %d/%d WAL pages in %.1f ms", done, log, took * 1e3);
		pthread_mutex_lock(&metrics_mu);
		metrics.checkpoints++;
		metrics.checkpoint_seconds_sum += took;
		pthread_mutex_unlock(&metrics_mu);
		pthread_mutex_lock(&s->ck_mu);
	}
	pthread_mutex_unlock(&s->ck_mu);
	return NULL;
}

static void ckpt_stop(struct sq_store *s)
{
	if (!s->ckpt_started)
		return;
	pthread_mutex_lock(&s->ck_mu);
	s->ckpt_stop = true;
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	pthread_join(s->ckpt, NULL);
	s->ckpt_started = false;
}

static void store_free(struct sq_store *s)
{
	ckpt_stop(s);
	sqlite3_close(s->ckdb);
	pthread_cond_destroy(&s->ck_cv);
	pthread_mutex_destroy(&s->ck_mu);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_set_meta);
	if (s->rdb != s->db)
		sqlite3_close(s->rdb);
	sqlite3_close(s->db);
	store__hub_fini(&s->h);
	pthread_cond_destroy(&s->writer_cv);
	pthread_mutex_destroy(&s->rdb_mu);
	free(s);
}

int store__sqlite_open(const char *path, int64_t history_revisions, struct store **out, char *err,
		       size_t errlen)
{
	struct sq_store *s = xcalloc(1, sizeof(*s));
	sqlite3_stmt *st = NULL;
	int rc;

	store__hub_init(&s->h, &sqlite_ops);
	s->h.targeted = true;
	s->h.fill_old = watch_fill_log;
	s->h.catchup_revs = CATCHUP_REVS;
	s->history = history_revisions;
	s->q_tail = &s->q_head;
	s->one_conn = strcmp(path, ":memory:") == 0;
	pthread_mutex_init(&s->rdb_mu, NULL);
	pthread_cond_init(&s->writer_cv, NULL);
	pthread_mutex_init(&s->ck_mu, NULL);
	pthread_cond_init(&s->ck_cv, NULL);

	rc = db_open(path, &s->db, err, errlen);
	if (rc < 0)
		goto fail;
	if (!s->one_conn) {
		/* WAL: a reader sees the last COMMIT and never waits for the writer;
		 * synchronous=FULL: every COMMIT fsyncs the WAL, so a returned write is durable. */
		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
			set_err(err, errlen, path, "cannot enable WAL mode", s->db);
			rc = -EIO;
			goto fail;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (exec(s->db, "PRAGMA synchronous=FULL") < 0 || exec(s->db, schema_sql) < 0) {
		set_err(err, errlen, path, "create schema", s->db);
		rc = -EIO;
		goto fail;
	}
	if (meta_get(s->db, "rev", &s->h.rev) < 0 || meta_get(s->db, "compact_rev", &s->h.compact_rev) < 0 ||
	    state_load(s) < 0) {
		set_err(err, errlen, path, "load", s->db);
		rc = -EIO;
		goto fail;
	}
	s->h.ring.floor = s->h.rev;
	s->compact_failed_rev = -1;
	if (sqlite3_prepare_v3(
		s->db,
		"INSERT INTO log(rev, key, create_rev, version, deleted, prev_id, prev_rev, value) "
		"VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		-1, SQLITE_PREPARE_PERSISTENT, &s->st_insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "UPDATE meta SET v = ?2 WHERE k = ?1", -1, SQLITE_PREPARE_PERSISTENT,
			       &s->st_set_meta, NULL) != SQLITE_OK) {
		set_err(err, errlen, path, "prepare", s->db);
		rc = -EIO;
		goto fail;
	}
	if (s->one_conn) {
		s->rdb = s->db;
	} else {
		rc = conn_open(path, &s->rdb, "PRAGMA query_only=1", "open reader", err, errlen);
		if (rc < 0)
			goto fail;
		rc = conn_open(path, &s->ckdb, "PRAGMA synchronous=FULL", "open checkpointer", err, errlen);
		if (rc < 0)
			goto fail;
		rc = -pthread_create(&s->ckpt, NULL, ckpt_main, s);
		if (rc < 0) {
			snprintf(err, errlen, "store: %s: cannot start the checkpointer: %s", path,
				 strerror(-rc));
			goto fail;
		}
		s->ckpt_started = true;
		/* Our hook replaces SQLite's automatic checkpoint on the writer's connection. */
		sqlite3_wal_hook(s->db, wal_hook, s);
	}
	rc = -pthread_create(&s->writer, NULL, writer_main, s);
	if (rc < 0) {
		snprintf(err, errlen, "store: %s: cannot start the writer thread: %s", path, strerror(-rc));
		goto fail;
	}
	*out = &s->h.base;
	return 0;
fail:
	sqlite3_finalize(st);
	store_free(s);
	return rc;
}

/* ---- writer ---- */

/* What a key looks like to the transaction being checked: the batch's own earlier changes
 * (newest first) shadow the committed state. */
struct overlay_ent {
	const char *key;
	struct store_kv *kv; /* borrowed from a pending; NULL = deleted */
	int64_t row_id;
};
struct overlay {
	struct overlay_ent *v;
	size_t len, cap; /* a VEC (base/vec.h) */
};

static struct store_kv *lookup(struct sq_store *s, const struct overlay *ov, const char *key, int64_t *row_id)
{
	for (size_t i = ov->len; i-- > 0;) {
		if (strcmp(ov->v[i].key, key) == 0) {
			*row_id = ov->v[i].row_id;
			return ov->v[i].kv;
		}
	}
	struct store__ent *e = store__state_find(&s->h.st, key);
	*row_id = e ? e->aux : 0;
	return e ? e->kv : NULL;
}

static void overlay_push(struct overlay *ov, const char *key, struct store_kv *kv, int64_t row_id)
{
	*vec_push(ov) = (struct overlay_ent){key, kv, row_id};
}

/* Checks t's conditions; on success builds its new records and inserts its rows. Returns 0,
 * a condition error (t->failed_op set), or -EIO when SQLite failed. */
static int txn_stage(struct sq_store *s, struct overlay *ov, struct txn_req *t, int64_t rev)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct store_op *op = &t->ops[i];
		int64_t row;
		struct store_kv *cur = lookup(s, ov, op->key, &row);
		int rc = 0;
		if (op->expect_mod_rev == 0 && cur)
			rc = -EEXIST;
		else if (op->expect_mod_rev > 0 && !cur)
			rc = -ENOENT;
		else if (op->expect_mod_rev > 0 && cur->mod_rev != op->expect_mod_rev)
			rc = -ESTALE;
		else if (op->kind == STORE_DELETE && !cur)
			rc = -ENOENT;
		if (rc < 0) {
			t->failed_op = i;
			return rc;
		}
	}
	t->pend = xcalloc(t->n, sizeof(*t->pend));
	for (size_t i = 0; i < t->n; i++) {
		const struct store_op *op = &t->ops[i];
		struct pending *p = &t->pend[i];
		sqlite3_stmt *st = s->st_insert;
		int64_t row;
		struct store_kv *cur = lookup(s, ov, op->key, &row);
		bool put = op->kind == STORE_PUT;

		p->old = store_kv_ref(cur);
		if (put)
			p->kv = store__kv_new(op->key, strlen(op->key), op->value, op->value_len,
					      cur ? cur->create_rev : rev, rev, cur ? cur->version + 1 : 1);
		/* A tombstone keeps the deleted record (value, create_rev, version; mod_rev
		 * is its prev_rev) so DELETE events read back from the log carry it. */
		const struct store_kv *row_kv = put ? p->kv : cur;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rev);
		sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, row_kv->create_rev);
		sqlite3_bind_int64(st, 4, row_kv->version);
		sqlite3_bind_int(st, 5, !put);
		sqlite3_bind_int64(st, 6, row);
		sqlite3_bind_int64(st, 7, cur ? cur->mod_rev : 0);
		sqlite3_bind_blob64(st, 8, row_kv->value, row_kv->value_len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			return -EIO;
		}
		sqlite3_reset(st);
		p->row_id = sqlite3_last_insert_rowid(s->db);
		overlay_push(ov, op->key, p->kv, p->row_id);
	}
	return 0;
}

static void pend_free(struct txn_req *t)
{
	if (!t->pend)
		return;
	for (size_t i = 0; i < t->n; i++) {
		store_kv_unref(t->pend[i].kv);
		store_kv_unref(t->pend[i].old);
	}
	free(t->pend);
	t->pend = NULL;
}

static int set_meta(struct sq_store *s, const char *k, int64_t v)
{
	sqlite3_stmt *st = s->st_set_meta;
	int step;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : -EIO;
}

/* Commits one batch (a list of queued transactions) and answers every caller in it. */
static void batch_commit(struct sq_store *s, struct txn_req *batch)
{
	struct overlay ov = {0};
	int64_t rev = s->h.rev, taken = clock_mono_ns(), syncing = 0;
	bool began = false;
	int rc = 0;
	unsigned group = 0;

	if (s->one_conn)
		pthread_mutex_lock(&s->rdb_mu);
	for (struct txn_req *t = batch; t && rc == 0; t = t->next) {
		if (!began) {
			if (exec(s->db, "BEGIN IMMEDIATE") < 0) {
				rc = -EIO;
				break;
			}
			began = true;
		}
		t->rc = txn_stage(s, &ov, t, rev + 1);
		if (t->rc == -EIO)
			rc = -EIO;
		else if (t->rc == 0)
			t->rev = ++rev;
	}
	if (began && rc == 0 && rev == s->h.rev) {
		exec(s->db, "ROLLBACK"); /* every transaction failed its conditions */
	} else if (began && rc == 0) {
		double t0 = clock_mono_s();
		syncing = clock_mono_ns();
		if (set_meta(s, "rev", rev) < 0 || exec(s->db, "COMMIT") < 0)
			rc = -EIO;
		else
			metrics_commit(clock_mono_s() - t0, (size_t)(rev - s->h.rev));
	}
	if (rc < 0) {
		log_error("store: commit of %lld..%lld failed: %s", (long long)s->h.rev + 1, (long long)rev,
			  sqlite3_errmsg(s->db));
		if (!sqlite3_get_autocommit(s->db))
			exec(s->db, "ROLLBACK");
	}
	if (s->one_conn)
		pthread_mutex_unlock(&s->rdb_mu);
	free(ov.v);
	int64_t committed = clock_mono_ns();
	for (struct txn_req *t = batch; t; t = t->next)
		group++;

	pthread_mutex_lock(&s->h.mu);
	for (struct txn_req *t = batch; t; t = t->next) {
		t->taken_ns = taken;
		t->syncing_ns = syncing;
		t->committed_ns = committed;
		t->group = group;
		if (rc < 0 && t->rc >= 0) {
			t->rc = -EIO;
			t->rev = 0;
		}
		if (t->rc < 0)
			continue;
		for (size_t i = 0; i < t->n; i++) {
			struct pending *p = &t->pend[i];
			struct store_event ev = {.rev = t->rev};
			if (p->kv) {
				store__state_put(&s->h.st, store_kv_ref(p->kv), p->row_id);
				ev.type = STORE_EV_PUT;
				ev.kv = store_kv_ref(p->kv);
				ev.prev = store_kv_ref(p->old);
			} else {
				store__state_del(&s->h.st, p->old->key);
				ev.type = STORE_EV_DELETE;
				ev.kv = store_kv_ref(p->old);
			}
			store__ring_push(&s->h.ring, &ev);
			if (t->res)
				t->res[i].kv = store_kv_ref(p->kv ? p->kv : p->old);
		}
	}
	if (rc == 0 && rev > s->h.rev) {
		s->h.rev = rev;
		/* Wakes only the watchers with an event under their prefix, each on a
		 * condition variable of its own (memcache.h): a commit no longer wakes every
		 * watch of the process into a held mutex. */
		store__hub_notify(&s->h);
	}
	/* The caller owns t once done is set and mu is released: touch nothing after. */
	for (struct txn_req *t = batch, *next; t; t = next) {
		next = t->next;
		pend_free(t);
		t->done = true;
		pthread_cond_signal(&t->cv);
	}
	pthread_mutex_unlock(&s->h.mu);
}

/* Whether a compaction pass should run now; idle passes run as soon as anything is due. */
static bool compact_due(const struct sq_store *s, bool idle)
{
	int64_t target = s->h.rev - s->history;
	int64_t min_step = s->history / 16 < COMPACT_MIN_STEP ? s->history / 16 : COMPACT_MIN_STEP;
	if (target <= s->h.compact_rev || s->h.rev == s->compact_failed_rev)
		return false;
	return idle || target - s->h.compact_rev >= (min_step > 0 ? min_step : 1);
}

/* One bounded compaction pass: drops the rows superseded by rows of revisions
 * (compact_rev, to] and the tombstones of those revisions, then records to. The deletes are
 * committed without their own fsync: the next write's fsync of the WAL covers them, and
 * losing them in a crash only means compacting again. */
static void compact_pass(struct sq_store *s)
{
	static const char del_superseded[] = "DELETE FROM log WHERE id IN (SELECT prev_id FROM log "
					     "WHERE rev > ?1 AND rev <= ?2 AND prev_id > 0)";
	static const char del_tombstones[] = "DELETE FROM log WHERE rev > ?1 AND rev <= ?2 AND deleted = 1";
	int64_t from = s->h.compact_rev, to = s->h.rev - s->history;
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	if (to > from + COMPACT_STEP)
		to = from + COMPACT_STEP;
	if (to <= from)
		return;
	if (s->one_conn)
		pthread_mutex_lock(&s->rdb_mu);
	exec(s->db, "PRAGMA synchronous=NORMAL");
	if (exec(s->db, "BEGIN IMMEDIATE") < 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		if (sqlite3_prepare_v2(s->db, i ? del_tombstones : del_superseded, -1, &st, NULL) !=
		    SQLITE_OK)
			goto out;
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, to);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (set_meta(s, "compact_rev", to) < 0)
		goto out;
	/* Raised before COMMIT: a reader that could see the deletes sees this first. */
	pthread_mutex_lock(&s->h.mu);
	s->h.compact_rev = to;
	pthread_mutex_unlock(&s->h.mu);
	if (exec(s->db, "COMMIT") < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		log_warn("store: compaction to %lld failed: %s", (long long)to, sqlite3_errmsg(s->db));
		s->compact_failed_rev = s->h.rev; /* an idle writer must not spin on a failing pass */
		if (!sqlite3_get_autocommit(s->db))
			exec(s->db, "ROLLBACK");
	}
	exec(s->db, "PRAGMA synchronous=FULL");
	if (s->one_conn)
		pthread_mutex_unlock(&s->rdb_mu);
}

static void *writer_main(void *arg)
{
	struct sq_store *s = arg;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE) < 0)
		log_debug("store: writer thread nice %d: %s", WRITER_NICE, strerror(errno));

	pthread_mutex_lock(&s->h.mu);
	for (;;) {
		if (!s->q_head) {
			if (s->h.closing)
				break;
			if (compact_due(s, true)) {
				pthread_mutex_unlock(&s->h.mu);
				compact_pass(s);
				pthread_mutex_lock(&s->h.mu);
				continue;
			}
			pthread_cond_wait(&s->writer_cv, &s->h.mu);
			continue;
		}
		struct txn_req *batch = s->q_head, *last = batch;
		for (int i = 1; i < BATCH_MAX && last->next; i++)
			last = last->next;
		s->q_head = last->next;
		if (!s->q_head)
			s->q_tail = &s->q_head;
		last->next = NULL;
		pthread_mutex_unlock(&s->h.mu);

		batch_commit(s, batch);
		if (compact_due(s, false))
			compact_pass(s);
		pthread_mutex_lock(&s->h.mu);
	}
	pthread_mutex_unlock(&s->h.mu);
	return NULL;
}

static int sq_txn(struct store *base, const struct store_op *ops, size_t n, struct store_result *res,
		  int64_t *rev, size_t *failed_op)
{
	struct sq_store *s = (struct sq_store *)base;
	struct txn_req t = {.ops = ops, .n = n, .res = res};
	int rc;

	pthread_cond_init(&t.cv, NULL);
	pthread_mutex_lock(&s->h.mu);
	if (s->h.closing) {
		t.rc = -ECANCELED;
	} else {
		*s->q_tail = &t;
		s->q_tail = &t.next;
		s->h.inside++;
		pthread_cond_signal(&s->writer_cv);
		while (!t.done)
			pthread_cond_wait(&t.cv, &s->h.mu);
		if (--s->h.inside == 0 && s->h.closing)
			pthread_cond_broadcast(&s->h.idle_cv);
	}
	pthread_mutex_unlock(&s->h.mu);
	pthread_cond_destroy(&t.cv);
	store__txn_timing.taken_ns = t.taken_ns;
	store__txn_timing.syncing_ns = t.syncing_ns;
	store__txn_timing.committed_ns = t.committed_ns;
	store__txn_timing.group = t.group;
	rc = t.rc;
	if (rc == 0)
		*rev = t.rev;
	else if (rc == -EEXIST || rc == -ENOENT || rc == -ESTALE)
		*failed_op = t.failed_op;
	return rc;
}

/* ---- reads ---- */

/* Reads the range as of an older revision from the log: per key, its latest row at or
 * before rev, unless that row is a tombstone. */
static int range_log(struct sq_store *s, const char *prefix, const char *start_after, size_t limit,
		     int64_t rev, struct store_list *out)
{
	char *end = prefix_end(prefix);
	char *sql = xasprintf("SELECT key, MAX(rev), value, create_rev, version, deleted FROM log "
			      "WHERE key >= ?1 AND rev <= ?2%s%s GROUP BY key ORDER BY key",
			      end ? " AND key < ?3" : "", start_after ? " AND key > ?4" : "");
	sqlite3_stmt *st = NULL;
	int rc = -EIO, step;

	pthread_mutex_lock(&s->rdb_mu);
	if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rev);
	if (end)
		sqlite3_bind_text(st, 3, end, -1, SQLITE_STATIC);
	if (start_after)
		sqlite3_bind_text(st, 4, start_after, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len;
		const void *v;
		if (sqlite3_column_int(st, 5))
			continue;
		if (limit && out->len == limit) {
			out->more = true;
			break;
		}
		v = col_blob(st, 2, &len);
		store__list_push(out, store__kv_new((const char *)sqlite3_column_text(st, 0),
						    (size_t)sqlite3_column_bytes(st, 0), v, len,
						    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 1),
						    sqlite3_column_int64(st, 4)));
	}
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		rc = 0;
	else
		log_error("store: range at %lld: %s", (long long)rev, sqlite3_errmsg(s->rdb));
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rdb_mu);
	free(sql);
	free(end);
	out->rev = rev;
	return rc;
}

static int sq_range(struct store *base, const char *prefix, const char *start_after, size_t limit,
		    int64_t rev, struct store_list *out)
{
	struct sq_store *s = (struct sq_store *)base;
	int rc = 0;

	pthread_mutex_lock(&s->h.mu);
	if (rev > s->h.rev)
		rc = -EINVAL;
	else if (rev > 0 && rev < s->h.compact_rev)
		rc = ERR_EXPIRED;
	else if (rev == 0 || rev == s->h.rev) {
		store__state_range(&s->h.st, prefix, start_after, limit, out);
		out->rev = s->h.rev;
	} else
		rc = 1;
	pthread_mutex_unlock(&s->h.mu);
	if (rc <= 0)
		return rc;

	rc = range_log(s, prefix, start_after, limit, rev, out);
	if (rc == 0 && rev < store__hub_compact_rev(base))
		rc = ERR_EXPIRED; /* a compaction ran under the read */
	if (rc < 0)
		store_list_fini(out);
	return rc;
}

/* ---- watch ---- */

/* Reads the events of revisions (w->cursor, upto] from the log into w's buffer. Called
 * without mu; the store cannot close meanwhile because the caller counts as waiting. */
static int watch_fill_log(struct store__hub *h, struct store__hwatch *w, int64_t upto)
{
	struct sq_store *s = (struct sq_store *)h;
	static const char sql[] =
	    "SELECT l.rev, l.key, l.deleted, l.create_rev, l.version, l.prev_rev, l.value,"
	    " p.deleted, p.create_rev, p.version, p.value "
	    "FROM log l LEFT JOIN log p ON p.id = l.prev_id "
	    "WHERE l.rev > ?1 AND l.rev <= ?2 ORDER BY l.id";
	sqlite3_stmt *st = NULL;
	int rc = -EIO, step;

	pthread_mutex_lock(&s->rdb_mu);
	if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, w->cursor);
	sqlite3_bind_int64(st, 2, upto);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 1);
		size_t klen = (size_t)sqlite3_column_bytes(st, 1), len;
		int64_t rev = sqlite3_column_int64(st, 0), prev_rev = sqlite3_column_int64(st, 5);
		const void *v = col_blob(st, 6, &len);
		struct store_event ev = {.rev = rev};

		if (!has_prefix(key, w->prefix, w->prefix_len))
			continue;
		if (sqlite3_column_int(st, 2)) {
			ev.type = STORE_EV_DELETE;
			ev.kv = store__kv_new(key, klen, v, len, sqlite3_column_int64(st, 3), prev_rev,
					      sqlite3_column_int64(st, 4));
		} else {
			ev.type = STORE_EV_PUT;
			ev.kv = store__kv_new(key, klen, v, len, sqlite3_column_int64(st, 3), rev,
					      sqlite3_column_int64(st, 4));
			if (sqlite3_column_type(st, 7) != SQLITE_NULL && !sqlite3_column_int(st, 7)) {
				v = col_blob(st, 10, &len);
				ev.prev = store__kv_new(key, klen, v, len, sqlite3_column_int64(st, 8),
							prev_rev, sqlite3_column_int64(st, 9));
			}
		}
		store__wbuf_push(&w->buf, &ev);
	}
	if (step == SQLITE_DONE)
		rc = 0;
	else
		log_error("store: watch read after %lld: %s", (long long)w->cursor, sqlite3_errmsg(s->rdb));
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rdb_mu);
	if (rc == 0 && w->cursor < store__hub_compact_rev(&s->h.base))
		rc = ERR_EXPIRED; /* a compaction ran under the read */
	return rc;
}

/* ---- close ---- */

static void sq_close(struct store *base)
{
	struct sq_store *s = (struct sq_store *)base;

	store__hub_close_begin(&s->h);
	pthread_mutex_lock(&s->h.mu);
	pthread_cond_signal(&s->writer_cv);
	pthread_mutex_unlock(&s->h.mu);
	/* The writer drains the queue before it exits, so in-flight writes finish; then
	 * every thread still inside a blocking call has been answered and only has to leave. */
	pthread_join(s->writer, NULL);
	ckpt_stop(s);
	store__hub_wait_idle(&s->h);
	store_free(s);
}

static const struct store__ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .rev = store__hub_rev,
    .compact_rev = store__hub_compact_rev,
    .get = store__hub_get,
    .range = sq_range,
    .txn = sq_txn,
    .watch_open = store__hub_watch_open,
    .watch_next = store__hub_watch_next,
    .watch_cancel = store__hub_watch_cancel,
    .watch_close = store__hub_watch_close,
};
