/* etcdwire.h - etcd v3 JSON gateway: key mapping, base64 and answer decoding (no I/O).
 *
 * Shared by the etcd backend (store/etcd.c), store migration and the fuzz target. Every
 * decoder takes bytes or JSON from etcd, which is outside input: a malformed answer is
 * -EBADMSG (or the error etcd reported), never an abort.
 */
#ifndef STORE_ETCDWIRE_H
#define STORE_ETCDWIRE_H

#include "store/backend.h"
#include "base/vec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The etcd key of store key key under prefix ("/registry" by default): "/registry/x" maps to
 * "<prefix>/x", any other key K to "<prefix>/-K". The caller frees the result. */
char *etcd__key_to(const char *prefix, const char *key);
/* The store key of etcd key ekey (elen bytes), or NULL when it is not under prefix. */
char *etcd__key_from(const char *prefix, const char *ekey, size_t elen);
/* The etcd range [*key, *end) holding every store key that starts with store_prefix (maybe
 * more: the caller filters by store key). The caller frees both. */
void etcd__prefix_range(const char *prefix, const char *store_prefix, char **key, char **end);

/* Base64 of len bytes (the caller frees it). */
char *etcd__b64(const void *data, size_t len);
/* Decodes slen base64 characters into *out (NUL-terminated, the caller frees it). -EBADMSG
 * when s is not base64. */
int etcd__unb64(const char *s, size_t slen, char **out, size_t *outlen);
/* Reads integer field name of o (a JSON string of digits or a number; 0 when absent). */
int etcd__i64(const json_t *o, const char *name, int64_t *v);
/* Decodes an etcd KeyValue into a new record with its store key; *out stays NULL (and the
 * call returns 0) when the key is not under prefix. */
int etcd__kv_parse(const json_t *o, const char *prefix, struct store_kv **out);
/* 0 when root carries no "error"; else ERR_EXPIRED (revision compacted), -EINVAL (future
 * revision) or -EIO, with etcd's message in msg. */
int etcd__error(const json_t *root, char *msg, size_t msglen);

/* One message of a /v3/watch stream. */
struct etcd__watch_msg {
	int64_t header_rev;
	int64_t compact_rev; /* set when etcd cancelled the watch: history compacted */
	bool created, canceled;
	int64_t last_rev;		/* revision of the last event (also of events outside the prefix) */
	VEC(struct store_event) events; /* those under the prefix, store keys; owned */
	char err[256];
};
/* Decodes one line of the stream. Returns 0, -EBADMSG, or etcd's error (see etcd__error). */
int etcd__watch_msg_parse(const char *line, size_t len, const char *prefix, struct etcd__watch_msg *m);
void etcd__watch_msg_fini(struct etcd__watch_msg *m);

/* Splits a streamed answer into newline-terminated messages. */
#define ETCD_STREAM_MAX (256u << 20) /* a message larger than this is refused */
struct etcd__stream {
	char *buf;
	size_t len, cap;
	size_t scanned; /* bytes of buf known to hold no newline */
};
/* Appends data and calls line_cb for each complete line; stops at the first non-zero return
 * of line_cb and returns it (the rest stays buffered). -EMSGSIZE past ETCD_STREAM_MAX. */
int etcd__stream_feed(struct etcd__stream *st, const char *data, size_t len,
		      int (*line_cb)(const char *line, size_t len, void *arg), void *arg);
void etcd__stream_fini(struct etcd__stream *st);

/* The store's answer for op against the key's state (present, mod_rev): 0 or
 * -EEXIST / -ENOENT / -ESTALE, checked in the same order as the SQLite backend. */
int etcd__op_check(const struct store_op *op, bool present, int64_t mod_rev);

/* The answer to a Txn whose compares failed: the first op whose condition does not hold,
 * judged from resps, the failure branch's one range per op (read at the compares' revision).
 * Returns its code with *failed_op, -EBADMSG for a malformed answer, or -EIO when no op's
 * state explains the failure. */
int etcd__txn_failed(const struct store_op *ops, size_t n, const json_t *resps, size_t *failed_op);

#endif
