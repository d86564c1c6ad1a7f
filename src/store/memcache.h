/* memcache.h - the in-memory half both store backends share: current state, event ring, watch buffers.
 *
 * SQLite (store/sqlite.c) and etcd (store/etcd.c) each keep the current state and a bounded
 * ring of recent events in memory and serve reads and watches from them. The pieces here
 * are plain data structures with no locking of their own: the backend holds its mutex
 * around every call. Records are shared references (store_kv_ref), never copies.
 */
#ifndef STORE_MEMCACHE_H
#define STORE_MEMCACHE_H

#include "store/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_RING_CAP 10000		 /* events kept in memory for watchers */
#define STORE_RING_MAX_BYTES (32u << 20) /* and at most this many value bytes */
#define STORE_WATCH_FILL_MAX 1024	 /* events copied to a watcher's buffer at once */

/* The current state: records sorted by key, each with a backend word (SQLite: the row id). */
struct store__ent {
	struct store_kv *kv; /* reference owned by the state */
	int64_t aux;
};
struct store__state {
	struct store__ent *ents;
	size_t len, cap;
};

/* Index of the first entry whose key is >= key (strict: > key). */
size_t store__state_bound(const struct store__state *st, const char *key, bool strict);
struct store__ent *store__state_find(const struct store__state *st, const char *key);
/* Inserts or replaces key's record; takes kv_take's reference. */
void store__state_put(struct store__state *st, struct store_kv *kv_take, int64_t aux);
/* Appends a record greater than every key present (loading a sorted list); takes kv_take. */
void store__state_append(struct store__state *st, struct store_kv *kv_take, int64_t aux);
void store__state_del(struct store__state *st, const char *key);
/* Lists prefix after start_after (NULL: from the start), at most limit (0 = all), into out
 * (references); sets out->more when cut short. */
void store__state_range(const struct store__state *st, const char *prefix, const char *start_after,
			size_t limit, struct store_list *out);
void store__state_clear(struct store__state *st); /* unrefs every record, keeps the array */
void store__state_fini(struct store__state *st);

/* Recent events, oldest first, bounded by STORE_RING_CAP and STORE_RING_MAX_BYTES. */
struct store__ring {
	struct store_event *ev; /* STORE_RING_CAP slots */
	size_t start, len, bytes;
	int64_t floor; /* every event with rev > floor is in the ring */
};
void store__ring_init(struct store__ring *r);
void store__ring_fini(struct store__ring *r);
struct store_event *store__ring_at(struct store__ring *r, size_t i);
/* Appends an event (taking its references), dropping the oldest ones as the bounds say. */
void store__ring_push(struct store__ring *r, const struct store_event *ev_take);
void store__ring_drop_oldest(struct store__ring *r); /* r->len > 0; raises floor */

/* A watcher's queue of events to deliver. */
struct store__wbuf {
	struct store_event *ev;
	size_t pos, len, cap;
};
void store__wbuf_push(struct store__wbuf *b, const struct store_event *ev_take);
void store__wbuf_clear(struct store__wbuf *b); /* finis the undelivered events */
void store__wbuf_fini(struct store__wbuf *b);
/* With *cursor >= r->floor: copies the ring's events after *cursor whose key starts with
 * prefix (whole revisions, about STORE_WATCH_FILL_MAX at most) into b, advancing *cursor
 * (to cur_rev when the ring is exhausted). */
void store__ring_fill(struct store__ring *r, int64_t *cursor, const char *prefix, size_t prefix_len,
		      int64_t cur_rev, struct store__wbuf *b);

#endif
