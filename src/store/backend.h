/* backend.h - the ops struct a store backend fills in, and helpers shared inside store/.
 *
 * store.c owns the public API: it parses the URL, picks a backend, checks arguments that
 * every backend would check the same way (ops of a transaction, prefixes) and forwards
 * each call through the ops table (like Knot's udp_api_t). A backend's own structs embed
 * `struct store` / `struct store_watch` as their first member and recover themselves with
 * a cast. Records (`struct store_kv`) are made only by store__kv_new(), which puts the
 * header, key and value in one allocation with an atomic refcount.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include "store/store.h"

struct store__ops;

struct store {
	const struct store__ops *ops;
};

struct store_watch {
	const struct store__ops *ops;
};

/* Every function has the contract of the public function of the same name in store.h;
 * store.c has already checked the arguments listed there (non-NULL pointers, valid ops,
 * no key twice in one transaction). */
struct store__ops {
	const char *name;
	void (*close)(struct store *s);
	int64_t (*rev)(struct store *s);
	int64_t (*compact_rev)(struct store *s);
	int (*sync)(struct store *s, int64_t *rev); /* NULL: the backend is always current */
	int (*get)(struct store *s, const char *key, struct store_kv **out);
	int (*range)(struct store *s, const char *prefix, const char *start_after, size_t limit, int64_t rev,
		     struct store_list *out);
	int (*txn)(struct store *s, const struct store_op *ops, size_t n, struct store_result *res,
		   int64_t *rev, size_t *failed_op);
	int (*watch_open)(struct store *s, const char *prefix, int64_t after_rev, struct store_watch **out);
	int (*watch_next)(struct store_watch *w, struct store_event *ev, int timeout_ms);
	void (*watch_cancel)(struct store_watch *w);
	void (*watch_close)(struct store_watch *w);
};

/* Opens the SQLite backend on path (a file path or ":memory:"); history_revisions > 0. */
int store__sqlite_open(const char *path, int64_t history_revisions, struct store **out, char *err,
		       size_t errlen);

/* Opens the etcd backend (store/etcd.c) on o->url ("etcd://host:port,..."). */
int store__etcd_open(const struct store_opts *o, struct store **out, char *err, size_t errlen);

/* Wraps inner (taken) in the encryption layer for enc (copied); *out is the wrapper. Also
 * rewrites records not written by each rule's first provider. Returns 0, or a negative
 * code with err (inner is then closed). */
int store__encrypt_open(struct store *inner, const struct store_encryption *enc, struct store **out,
			char *err, size_t errlen);

/* Returns a new record with one reference, copying key (key_len bytes) and value
 * (value_len bytes, may be NULL when value_len is 0) and NUL-terminating both. Never fails. */
struct store_kv *store__kv_new(const char *key, size_t key_len, const void *value, size_t value_len,
			       int64_t create_rev, int64_t mod_rev, int64_t version);

/* The calling thread's last transaction's timing (store_txn_timing_last); store_txn sets
 * called_ns and returned_ns, a backend's txn the stages in between. */
extern _Thread_local struct store_txn_timing store__txn_timing;

/* Appends kv (a reference the list takes over) to l, growing l->kvs as needed. */
void store__list_push(struct store_list *l, struct store_kv *kv_take);

#endif
