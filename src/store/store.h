/* store.h - revisioned key/value store with etcd v3 semantics, and watch.
 *
 * One global revision counts every committed transaction. Each key carries the revision
 * that created it (create_rev), the one that last changed it (mod_rev) and how many times
 * it changed since creation (version). Reads see only durable data: a transaction is
 * visible (to reads and watchers) only after it is on disk. Values are opaque bytes; the
 * API server stores JSON objects without metadata.resourceVersion and fills that field
 * from mod_rev on the way out.
 *
 * History: every revision stays readable (range at a revision, watch from a revision)
 * until it is compacted. Compaction at revision C drops versions superseded at or before
 * C and deletions at or before C; a read or watch older than the compacted revision
 * fails with ERR_EXPIRED (HTTP 410 Gone / reason Expired). The store compacts by
 * itself, keeping opts.history_revisions revisions, so history never grows without bound.
 *
 * Backends (sqlite, etcd) sit behind an ops struct chosen by store_open() from the
 * URL; this header is the whole contract. The etcd backend keeps the current state and recent
 * events in memory too (a watch cache fed by one etcd watch), so reads and watches never wait
 * on etcd; a write returns once etcd committed it and the cache shows it. All functions are thread-safe.
 * Writes block until durable (group commit: concurrent writers share one fsync); reads never block on writes
 * for longer than an in-memory lookup.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* An immutable, refcounted record. value is NUL-terminated (value[value_len] == 0). */
struct store_kv {
	const char *key;
	const char *value;
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
	int64_t version;
};

struct store_kv *store_kv_ref(struct store_kv *kv);
void store_kv_unref(struct store_kv *kv); /* NULL is a no-op */

/* Encryption at rest (store/encrypt.c), kube's EncryptionConfiguration made concrete:
 * values of keys under each prefix are written with the first provider and read with
 * whichever provider's prefix they carry ("k8s:enc:aesgcm:v1:<name>:" + nonce + ciphertext
 * + tag, with the store key as additional data; "k8s:enc:aescbc:v1:<name>:" + IV +
 * ciphertext, PKCS#7), or as they are when they carry none (identity). */
enum store_enc_kind { STORE_ENC_IDENTITY, STORE_ENC_AESGCM, STORE_ENC_AESCBC };
struct store_enc_provider {
	enum store_enc_kind kind;
	char name[64];	       /* the key's name (not identity) */
	unsigned char key[32]; /* AES key */
	size_t key_len;	       /* 16, 24 or 32 */
};
struct store_enc_rule {
	char prefix[128]; /* "/registry/core/secrets/" */
	struct store_enc_provider providers[8];
	size_t nproviders; /* >= 1; providers[0] writes */
};
struct store_encryption {
	struct store_enc_rule rules[8];
	size_t nrules;
};

struct store_opts {
	/* "sqlite:///path/to/db" or a plain file path (SQLite); ":memory:" for tests. */
	const char *url;
	/* Revisions kept readable behind the current one; 0 = default (10000). */
	int64_t history_revisions;
	/* Encryption at rest, or NULL. When set, store_open also rewrites every record under
	 * a rule's prefix that its first provider did not write (key rotation by rewrite). */
	const struct store_encryption *encryption;
	/* etcd backend only (kube-apiserver's flags of the same names). The prefix of every key
	 * in etcd (NULL = "/registry"); CA, client certificate and key files for https; how
	 * often the servers compact etcd's history (0 = 5 minutes, < 0 = never). SQLite
	 * ignores these and compacts by history_revisions; etcd ignores history_revisions. */
	const char *etcd_prefix;
	const char *etcd_cafile, *etcd_certfile, *etcd_keyfile;
	int64_t etcd_compaction_interval_ms;
};

/* Opens (creating if needed) the store. On failure returns a negative code and writes a
 * human reason into err. The SQLite backend caches the current state in memory, so a file
 * must be open in one store (one process) at a time. */
int store_open(const struct store_opts *opts, struct store **out, char *err, size_t errlen);
/* Closes the store: wakes every watcher with -ECANCELED, waits for in-flight writes. A
 * store_txn that starts while closing gets -ECANCELED. Open watches must still be closed with
 * store_watch_close (after store_close their store_watch_next returns -ECANCELED). */
void store_close(struct store *s);

int64_t store_rev(struct store *s); /* current committed revision (0 when empty) */
/* Makes this store's view current: returns once it shows every transaction committed before
 * the call, by any process (etcd: asks etcd for its revision, then waits, at most 10 s, for the
 * watch cache to reach it; SQLite: always current). *rev (may be NULL) gets the revision.
 * 0, -EIO (etcd unreachable), -ETIMEDOUT or -ECANCELED. Blocks for one etcd round trip. */
int store_sync(struct store *s, int64_t *rev);
int64_t store_compact_rev(struct store *s); /* oldest readable revision boundary */

/* Returns the key's current record (a reference the caller unrefs), or -ENOENT. */
int store_get(struct store *s, const char *key, struct store_kv **out);

struct store_list {
	struct store_kv **kvs; /* sorted by key; each a reference owned by the list */
	size_t len;
	int64_t rev; /* the revision the list was read at */
	bool more;   /* limit cut the list short */
};

/* Lists keys starting with prefix (NULL or "" = all), in key order, strictly after start_after when it is
 * not NULL, at most limit records (0 = all), as of revision rev (0 = current). A rev
 * older than the compacted revision gives ERR_EXPIRED; a rev in the future -EINVAL. */
int store_range(struct store *s, const char *prefix, const char *start_after, size_t limit, int64_t rev,
		struct store_list *out);
void store_list_fini(struct store_list *l);

enum store_op_kind { STORE_PUT, STORE_DELETE };

/* expect_mod_rev: -1 = no condition; 0 = key must not exist; > 0 = key's mod_rev must equal it. */
struct store_op {
	enum store_op_kind kind;
	const char *key;
	const char *value; /* PUT only */
	size_t value_len;
	int64_t expect_mod_rev;
};

struct store_result {
	/* PUT: the new record. DELETE: the record as it was before deletion. Owned by the
	 * caller (unref), NULL on failure. */
	struct store_kv *kv;
};

/* Commits ops atomically at one new revision and returns it in *rev, once durable. If any
 * condition fails nothing is written and the call returns -EEXIST (expected absent, is
 * present), -ENOENT (expected present or DELETE of a missing key) or -ESTALE (mod_rev
 * differs), with *failed_op set to the index of the first failing op; a failed transaction
 * uses no revision. -EINVAL (with *failed_op) for a malformed op (empty key, a key twice in
 * one transaction) or n == 0; -EIO when the disk write failed; -ECANCELED when closing.
 * res (may be NULL) has n slots; rev and failed_op may be NULL. Blocks until the
 * transaction is on disk. */
int store_txn(struct store *s, const struct store_op *ops, size_t n, struct store_result *res, int64_t *rev,
	      size_t *failed_op);

/* Where the calling thread's last store_txn spent its time, for a trace of a write's path
 * (the API server's debug log of each write, benches). CLOCK_MONOTONIC nanoseconds; a
 * stage the backend does not report is 0 (etcd reports none). Thread-local: a thread only
 * ever sees its own last transaction. */
struct store_txn_timing {
	int64_t called_ns;    /* store_txn entered */
	int64_t taken_ns;     /* the writer took the group holding it (SQLite) */
	int64_t syncing_ns;   /* its rows were staged: the COMMIT (and fsync) began (SQLite) */
	int64_t committed_ns; /* the group's COMMIT returned: on disk (SQLite) */
	int64_t returned_ns;  /* store_txn returned */
	unsigned group;	      /* transactions that shared the commit (SQLite) */
};
void store_txn_timing_last(struct store_txn_timing *out);

enum store_event_type { STORE_EV_PUT, STORE_EV_DELETE };

struct store_event {
	enum store_event_type type;
	int64_t rev;	       /* revision of the change */
	struct store_kv *kv;   /* PUT: new record; DELETE: the record as it was before deletion */
	struct store_kv *prev; /* PUT over an existing key: the previous record; else NULL */
};

void store_event_fini(struct store_event *ev); /* unrefs kv and prev */

struct store_watch;

/* Watches keys starting with prefix for changes with revision > after_rev. after_rev older
 * than the compacted revision gives ERR_EXPIRED. */
int store_watch_open(struct store *s, const char *prefix, int64_t after_rev, struct store_watch **out);
/* Waits up to timeout_ms (-1 = forever) for the next event, in revision order. Returns 0 with
 * *ev filled (caller calls store_event_fini), -ETIMEDOUT, -ECANCELED when the store or the
 * watch is closing, or ERR_EXPIRED when the watcher fell so far behind that the events it
 * needs were compacted. */
int store_watch_next(struct store_watch *w, struct store_event *ev, int timeout_ms);
/* Makes a blocked store_watch_next() return -ECANCELED (from any thread). */
void store_watch_cancel(struct store_watch *w);
void store_watch_close(struct store_watch *w);

/* Copies every record of src into dst (svcplane store migrate): keys and values as stored, at
 * dst's own revisions, then reads the copy back and compares. dst must be empty unless force,
 * which also deletes dst's keys that src lacks. Returns 0 with *copied, -EEXIST (dst not
 * empty) or another negative code, with a reason in err. Blocks while it copies. */
int store_migrate(struct store *src, struct store *dst, bool force, size_t *copied, char *err, size_t errlen);

/* The SQLite store's commits since the process started (all stores of the process): each
 * commit is one fsync (group commit: txns transactions in commits commits), and how long
 * the COMMIT took (histogram over bucket_le, seconds). For /metrics. */
#define STORE_METRIC_BUCKETS 12
struct store_metrics {
	unsigned long long commits, txns;
	double commit_seconds_sum;
	unsigned long long checkpoints; /* WAL checkpoints (their own thread, off the commit) */
	double checkpoint_seconds_sum;
	unsigned long long commit_bucket[STORE_METRIC_BUCKETS];
	double bucket_le[STORE_METRIC_BUCKETS];
};
void store_metrics_read(struct store_metrics *out);

#endif
