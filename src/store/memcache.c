/* memcache.c - current state, event ring and watch buffers shared by the store backends (memcache.h).
 *
 * No locking here: each backend calls these with its own mutex held. The ring is bounded by
 * count and by bytes: large objects rewritten often (EndpointSlices) would otherwise pin
 * hundreds of MB of old versions; a watcher behind the ring is served by the backend's
 * history (SQLite's log, etcd's watch from a revision).
 */
#include "store/memcache.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/vec.h"

#include <errno.h>
#include <time.h>

#include <stdlib.h>
#include <string.h>

size_t store__state_bound(const struct store__state *st, const char *key, bool strict)
{
	size_t lo = 0, hi = st->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->ents[mid].kv->key, key);
		if (c < 0 || (strict && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct store__ent *store__state_find(const struct store__state *st, const char *key)
{
	size_t i = store__state_bound(st, key, false);
	return i < st->len && strcmp(st->ents[i].kv->key, key) == 0 ? &st->ents[i] : NULL;
}

static void grow(struct store__state *st)
{
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->ents = xrealloc(st->ents, st->cap * sizeof(*st->ents));
	}
}

void store__state_put(struct store__state *st, struct store_kv *kv_take, int64_t aux)
{
	size_t i = store__state_bound(st, kv_take->key, false);
	if (i < st->len && strcmp(st->ents[i].kv->key, kv_take->key) == 0) {
		store_kv_unref(st->ents[i].kv);
	} else {
		grow(st);
		memmove(&st->ents[i + 1], &st->ents[i], (st->len - i) * sizeof(*st->ents));
		st->len++;
	}
	st->ents[i].kv = kv_take;
	st->ents[i].aux = aux;
}

void store__state_append(struct store__state *st, struct store_kv *kv_take, int64_t aux)
{
	grow(st);
	st->ents[st->len].kv = kv_take;
	st->ents[st->len].aux = aux;
	st->len++;
}

void store__state_del(struct store__state *st, const char *key)
{
	size_t i = store__state_bound(st, key, false);
	if (i >= st->len || strcmp(st->ents[i].kv->key, key) != 0)
		return;
	store_kv_unref(st->ents[i].kv);
	memmove(&st->ents[i], &st->ents[i + 1], (st->len - i - 1) * sizeof(*st->ents));
	st->len--;
}

void store__state_range(const struct store__state *st, const char *prefix, const char *start_after,
			size_t limit, struct store_list *out)
{
	size_t plen = strlen(prefix), i = store__state_bound(st, prefix, false);
	if (start_after) {
		size_t j = store__state_bound(st, start_after, true);
		if (j > i)
			i = j;
	}
	for (; i < st->len && strncmp(st->ents[i].kv->key, prefix, plen) == 0; i++) {
		if (limit && out->len == limit) {
			out->more = true;
			break;
		}
		store__list_push(out, store_kv_ref(st->ents[i].kv));
	}
}

void store__state_clear(struct store__state *st)
{
	for (size_t i = 0; i < st->len; i++)
		store_kv_unref(st->ents[i].kv);
	st->len = 0;
}

void store__state_fini(struct store__state *st)
{
	store__state_clear(st);
	free(st->ents);
	memset(st, 0, sizeof(*st));
}

void store__ring_init(struct store__ring *r)
{
	memset(r, 0, sizeof(*r));
	r->ev = xcalloc(STORE_RING_CAP, sizeof(*r->ev));
}

struct store_event *store__ring_at(struct store__ring *r, size_t i)
{
	return &r->ev[(r->start + i) % STORE_RING_CAP];
}

static size_t event_bytes(const struct store_event *ev)
{
	return (ev->kv ? ev->kv->value_len : 0) + (ev->prev ? ev->prev->value_len : 0);
}

void store__ring_drop_oldest(struct store__ring *r)
{
	struct store_event *old = store__ring_at(r, 0);
	r->floor = old->rev;
	r->bytes -= event_bytes(old);
	store_event_fini(old);
	r->start = (r->start + 1) % STORE_RING_CAP;
	r->len--;
}

void store__ring_push(struct store__ring *r, const struct store_event *ev_take)
{
	size_t add = event_bytes(ev_take);
	while (r->len > 0 && (r->len == STORE_RING_CAP || r->bytes + add > STORE_RING_MAX_BYTES))
		store__ring_drop_oldest(r);
	*store__ring_at(r, r->len) = *ev_take;
	r->len++;
	r->bytes += add;
}

void store__ring_fini(struct store__ring *r)
{
	if (!r->ev)
		return;
	while (r->len)
		store__ring_drop_oldest(r);
	free(r->ev);
	r->ev = NULL;
}

void store__wbuf_push(struct store__wbuf *b, const struct store_event *ev_take)
{
	*vec_push(b) = *ev_take;
}

void store__wbuf_clear(struct store__wbuf *b)
{
	for (size_t i = b->pos; i < b->len; i++)
		store_event_fini(&b->v[i]);
	b->pos = b->len = 0;
}

void store__wbuf_fini(struct store__wbuf *b)
{
	store__wbuf_clear(b);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

void store__ring_fill(struct store__ring *r, int64_t *cursor, const char *prefix, size_t prefix_len,
		      int64_t cur_rev, struct store__wbuf *b)
{
	size_t lo = 0, hi = r->len, copied = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (store__ring_at(r, mid)->rev <= *cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->len; lo++) {
		struct store_event *ev = store__ring_at(r, lo);
		if (copied >= STORE_WATCH_FILL_MAX && ev->rev != *cursor)
			return;
		*cursor = ev->rev;
		if (strncmp(ev->kv->key, prefix, prefix_len) != 0)
			continue;
		struct store_event copy = {ev->type, ev->rev, store_kv_ref(ev->kv), store_kv_ref(ev->prev)};
		store__wbuf_push(b, &copy);
		copied++;
	}
	if (cur_rev > *cursor)
		*cursor = cur_rev;
}

/* ---- hub ---- */

void store__hub_init(struct store__hub *h, const struct store__ops *ops)
{
	memset(h, 0, sizeof(*h));
	h->base.ops = ops;
	h->catchup_revs = 1000;
	atomic_init(&h->closing, false);
	store__ring_init(&h->ring);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->idle_cv, NULL);
	clock_cond_init_mono(&h->cv);
}

void store__hub_fini(struct store__hub *h)
{
	store__state_fini(&h->st);
	store__ring_fini(&h->ring);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->idle_cv);
	pthread_mutex_destroy(&h->mu);
}

bool store__hub_enter(struct store__hub *h)
{
	pthread_mutex_lock(&h->mu);
	bool ok = !atomic_load(&h->closing);
	if (ok)
		h->inside++;
	pthread_mutex_unlock(&h->mu);
	return ok;
}

/* Called with mu held. */
static void leave_locked(struct store__hub *h)
{
	if (--h->inside == 0 && atomic_load(&h->closing))
		pthread_cond_broadcast(&h->idle_cv);
}

void store__hub_leave(struct store__hub *h)
{
	pthread_mutex_lock(&h->mu);
	leave_locked(h);
	pthread_mutex_unlock(&h->mu);
}

void store__hub_close_begin(struct store__hub *h)
{
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->closing, true);
	pthread_cond_broadcast(&h->cv);
	for (struct store__hwatch *w = h->watchers; w; w = w->next) {
		pthread_cond_signal(&w->cv);
		atomic_store(&w->detached, true);
	}
	h->watchers = NULL;
	pthread_mutex_unlock(&h->mu);
}

void store__hub_wait_idle(struct store__hub *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->inside > 0)
		pthread_cond_wait(&h->idle_cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int64_t store__hub_rev(struct store *s)
{
	struct store__hub *h = (struct store__hub *)s;
	pthread_mutex_lock(&h->mu);
	int64_t rev = h->rev;
	pthread_mutex_unlock(&h->mu);
	return rev;
}

int64_t store__hub_compact_rev(struct store *s)
{
	struct store__hub *h = (struct store__hub *)s;
	pthread_mutex_lock(&h->mu);
	int64_t rev = h->compact_rev;
	pthread_mutex_unlock(&h->mu);
	return rev;
}

int store__hub_get(struct store *s, const char *key, struct store_kv **out)
{
	struct store__hub *h = (struct store__hub *)s;
	pthread_mutex_lock(&h->mu);
	struct store__ent *e = store__state_find(&h->st, key);
	*out = e ? store_kv_ref(e->kv) : NULL;
	pthread_mutex_unlock(&h->mu);
	return *out ? 0 : -ENOENT;
}

int store__hub_watch_open(struct store *s, const char *prefix, int64_t after_rev, struct store_watch **out)
{
	struct store__hub *h = (struct store__hub *)s;
	pthread_mutex_lock(&h->mu);
	if (atomic_load(&h->closing)) {
		pthread_mutex_unlock(&h->mu);
		return -ECANCELED;
	}
	if (after_rev < h->compact_rev) {
		pthread_mutex_unlock(&h->mu);
		return ERR_EXPIRED;
	}
	struct store__hwatch *w = xcalloc(1, sizeof(*w));
	w->base.ops = h->base.ops;
	w->h = h;
	w->prefix = xstrdup(prefix);
	w->prefix_len = strlen(prefix);
	w->cursor = after_rev;
	clock_cond_init_mono(&w->cv);
	atomic_init(&w->detached, false);
	w->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = w;
	h->watchers = w;
	pthread_mutex_unlock(&h->mu);
	*out = &w->base;
	return 0;
}

int store__hub_watch_next(struct store_watch *base, struct store_event *ev, int timeout_ms)
{
	struct store__hwatch *w = (struct store__hwatch *)base;
	struct store__hub *h = w->h;
	struct timespec deadline;
	bool timed_out = false;
	int rc;

	if (atomic_load(&w->detached))
		return -ECANCELED;
	if (timeout_ms > 0)
		deadline = clock_mono_deadline(timeout_ms);
	pthread_mutex_lock(&h->mu);
	h->inside++;
	for (;;) {
		if (w->cancelled || atomic_load(&h->closing)) {
			rc = -ECANCELED;
			break;
		}
		if (w->buf.pos < w->buf.len) {
			*ev = w->buf.v[w->buf.pos++];
			rc = 0;
			break;
		}
		w->buf.pos = w->buf.len = 0;
		if (w->cursor < h->compact_rev) {
			rc = ERR_EXPIRED;
			break;
		}
		if (w->cursor < h->ring.floor) {
			int64_t upto = h->ring.floor < w->cursor + h->catchup_revs
					   ? h->ring.floor
					   : w->cursor + h->catchup_revs;
			pthread_mutex_unlock(&h->mu);
			rc = h->fill_old(h, w, upto);
			pthread_mutex_lock(&h->mu);
			if (rc < 0) {
				store__wbuf_clear(&w->buf); /* nothing half read is delivered */
				break;
			}
			w->cursor = upto;
			continue;
		}
		store__ring_fill(&h->ring, &w->cursor, w->prefix, w->prefix_len, h->rev, &w->buf);
		if (w->buf.len)
			continue;
		if (timeout_ms == 0 || timed_out) {
			rc = -ETIMEDOUT;
			break;
		}
		pthread_cond_t *cv = h->targeted ? &w->cv : &h->cv;
		w->waiting = true;
		if (timeout_ms < 0)
			pthread_cond_wait(cv, &h->mu);
		else if (pthread_cond_timedwait(cv, &h->mu, &deadline) == ETIMEDOUT)
			timed_out = true; /* one more look, then give up */
		w->waiting = false;
	}
	leave_locked(h);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void store__hub_watch_cancel(struct store_watch *base)
{
	struct store__hwatch *w = (struct store__hwatch *)base;
	struct store__hub *h = w->h;
	if (atomic_load(&w->detached))
		return;
	pthread_mutex_lock(&h->mu);
	w->cancelled = true;
	pthread_cond_broadcast(&h->cv);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Whether an event after w's cursor in the ring is under w's prefix. */
static bool ring_has_for(struct store__ring *r, const struct store__hwatch *w)
{
	size_t lo = 0, hi = r->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (store__ring_at(r, mid)->rev <= w->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->len; lo++)
		if (strncmp(store__ring_at(r, lo)->kv->key, w->prefix, w->prefix_len) == 0)
			return true;
	return false;
}

void store__hub_notify(struct store__hub *h)
{
	for (struct store__hwatch *w = h->watchers; w; w = w->next) {
		if (!w->waiting)
			continue; /* awake: it looks at the ring before it sleeps again */
		if (w->cursor < h->ring.floor || ring_has_for(&h->ring, w)) {
			w->waiting = false;
			pthread_cond_signal(&w->cv);
		} else {
			w->cursor = h->rev;
		}
	}
}

void store__hub_watch_close(struct store_watch *base)
{
	struct store__hwatch *w = (struct store__hwatch *)base;
	struct store__hub *h = w->h;
	if (!atomic_load(&w->detached)) {
		pthread_mutex_lock(&h->mu);
		if (w->prev)
			w->prev->next = w->next;
		else
			h->watchers = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&h->mu);
	}
	store__wbuf_fini(&w->buf);
	pthread_cond_destroy(&w->cv);
	free(w->prefix);
	free(w);
}
