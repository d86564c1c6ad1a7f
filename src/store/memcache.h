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

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
	struct store_event *v;
	size_t len, cap; /* a VEC (base/vec.h) */
	size_t pos;	 /* the next to deliver */
};
void store__wbuf_push(struct store__wbuf *b, const struct store_event *ev_take);
void store__wbuf_clear(struct store__wbuf *b); /* finis the undelivered events */
void store__wbuf_fini(struct store__wbuf *b);
/* With *cursor >= r->floor: copies the ring's events after *cursor whose key starts with
 * prefix (whole revisions, about STORE_WATCH_FILL_MAX at most) into b, advancing *cursor
 * (to cur_rev when the ring is exhausted). */
void store__ring_fill(struct store__ring *r, int64_t *cursor, const char *prefix, size_t prefix_len,
		      int64_t cur_rev, struct store__wbuf *b);

/* ---- the hub: what a backend serves reads and watches from, and its watchers ----
 *
 * A backend's struct starts with a hub, changes st, ring and rev only with mu held (and broadcasts cv),
 * and fills in fill_old: the events a watcher needs that the ring no longer holds. The
 * hub's functions implement store_get, store_range at the current revision and the whole
 * store_watch_* contract (store.h) on top. */
struct store__hwatch;
struct store__hub {
	struct store base; /* first: the backend's struct starts with its hub */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* new events, a cancel, or closing (CLOCK_MONOTONIC) */
	pthread_cond_t idle_cv; /* a thread left a blocking call (close waits for inside == 0) */
	atomic_bool closing;
	struct store__state st;
	struct store__ring ring;
	int64_t rev, compact_rev;
	struct store__hwatch *watchers;
	int inside;	      /* threads inside a blocking call of the backend */
	int64_t catchup_revs; /* revisions fill_old reads at once */
	/* Set by a backend that calls store__hub_notify after each publish: a watcher then
	 * sleeps on its own condition variable and only a change under its prefix wakes it
	 * (with cv, every commit woke every watcher of the process: ~40 threads at once). */
	bool targeted;
	/* Appends the events of revisions (w->cursor, upto] with w's prefix to w->buf (empty
	 * when called); called without mu (the caller counts as inside). 0 (the hub then moves
	 * the cursor to upto) or < 0 (ERR_EXPIRED when compacted; the hub drops what was
	 * appended). */
	int (*fill_old)(struct store__hub *h, struct store__hwatch *w, int64_t upto);
};
struct store__hwatch {
	struct store_watch base;
	struct store__hub *h;
	char *prefix;
	size_t prefix_len;
	int64_t cursor; /* every matching event with rev <= cursor is delivered or in buf */
	struct store__wbuf buf;
	bool cancelled;
	bool waiting;	      /* asleep on cv with nothing buffered (targeted hubs) */
	pthread_cond_t cv;    /* targeted hubs: signalled for this watcher alone */
	atomic_bool detached; /* the store closed; only freeing is left */
	struct store__hwatch *prev, *next;
};

void store__hub_init(struct store__hub *h, const struct store__ops *ops);
void store__hub_fini(struct store__hub *h);
/* Counts the caller as inside a blocking call; false (not counted) when closing. */
bool store__hub_enter(struct store__hub *h);
void store__hub_leave(struct store__hub *h);
/* Marks the hub closing, wakes every waiter and detaches every watcher. */
void store__hub_close_begin(struct store__hub *h);
/* Waits until no thread is inside a blocking call. */
void store__hub_wait_idle(struct store__hub *h);

/* Wakes the watchers the events published since the last call concern (called with mu held,
 * after the backend raised rev and appended the events; targeted hubs only). A sleeping
 * watcher none of them concern has its cursor moved to rev, as if it had looked: it never
 * falls behind the ring (or the compaction) for changes it does not watch. */
void store__hub_notify(struct store__hub *h);

/* The ops of the same names (s is the hub's base). */
int64_t store__hub_rev(struct store *s);
int64_t store__hub_compact_rev(struct store *s);
int store__hub_get(struct store *s, const char *key, struct store_kv **out);
int store__hub_watch_open(struct store *s, const char *prefix, int64_t after_rev, struct store_watch **out);
int store__hub_watch_next(struct store_watch *w, struct store_event *ev, int timeout_ms);
void store__hub_watch_cancel(struct store_watch *w);
void store__hub_watch_close(struct store_watch *w);

#endif
