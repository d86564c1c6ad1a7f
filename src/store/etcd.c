/* etcd.c - the etcd store backend: etcd v3 through its JSON gateway, with a watch cache per server.
 *
 * etcd holds the data; this process holds a cache of it, as kube-apiserver's watch cache
 * does: the current state (a key-sorted array of records) and a bounded ring of recent
 * events, both fed by ONE streamed /v3/watch. Reads at the current revision and store
 * watches are served from memory and never wait on etcd.
 *
 * The cache's watch covers the whole etcd keyspace (events outside --etcd-prefix only
 * advance the revision). Every etcd revision is some key's change, so the cache's revision
 * is exactly etcd's once the stream caught up: "wait until the cache reached revision R"
 * always ends, even when R was a write outside the prefix. (The gateway's watch is one
 * POST, so a progress request cannot be sent on it later.)
 *
 *   store_txn: one etcd Txn: compares (mod_revision / create_revision) --> success ops
 *              (put/delete with prev_kv) | failure ops (ranges: which compare failed)
 *              --> committed at revision R --> wait (bounded) until cache rev >= R --> return
 *   watcher thread: list prefix at R0 --> watch keyspace from rev + 1 --> per message:
 *              lock mu, apply events to state and ring, rev = last, wake waiters
 *              on a broken stream: next endpoint, resume from rev + 1 (backoff)
 *              on "compacted": relist, empty the ring (old watchers get ERR_EXPIRED)
 *   store_sync: range count_only on etcd --> its revision R --> wait for cache rev >= R
 *   store watch behind the ring: a short-lived etcd watch from its cursor reads the
 *              missing events (with prev_kv), then it continues from the ring
 *   compactor thread: every interval, kube-apiserver's compare-and-swap on
 *              "compact_rev_key" (only one server wins per interval), then compaction to
 *              the revision seen one interval earlier
 *
 * Requests go to one endpoint at a time; on a connection error they move to the next.
 * A write is retried on another endpoint only when it cannot have reached etcd (the
 * connection failed), so a retried Txn never applies twice.
 */
#include "store/etcdwire.h"
#include "store/memcache.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITE_WAIT_MS 30000 /* a committed write waits this long for the cache */
#define SYNC_WAIT_MS 10000
#define REQ_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 3000
#define CATCHUP_SILENCE_S 30 /* a catch-up read of history ends after this long without a byte */
#define COMPACT_KEY "compact_rev_key"
#define RANGE_PAGE 5000 /* keys per range request */
/* The keepalive (with several endpoints): every PROBE_INTERVAL_MS a serializable range,
 * answered by the member alone, to the member holding the cache's watch and to the one
 * requests go to; no answer within PROBE_TIMEOUT_MS marks the member silent. kube-apiserver
 * gets the same from gRPC keepalive pings and --etcd-healthcheck-timeout (2 s). */
#define PROBE_INTERVAL_MS 2000
#define PROBE_TIMEOUT_MS 3000

struct et_store {
	struct store__hub h; /* first: state, ring, revision and watchers, under h.mu */
	VEC(char *) eps;     /* "http(s)://host:port" */
	atomic_size_t ep_cur;
	/* Per endpoint: bumped each time the keepalive finds it silent. A transfer to an
	 * endpoint whose count changed since it began is aborted (struct xfer). */
	atomic_uint *ep_silent;
	atomic_long watch_ep; /* the endpoint the cache's watch streams from; -1: none */
	char *url, *prefix;
	char *cafile, *certfile, *keyfile;
	int64_t compact_interval_ms;

	pthread_mutex_t pool_mu;
	VEC(CURL *) pool;

	pthread_t watcher, compactor, keeper;
	bool have_compactor, have_keeper;
};

/* One transfer's progress check: aborts it when the store closes or when the keepalive
 * found its endpoint silent after it began. */
struct xfer {
	struct et_store *s;
	size_t at;
	unsigned epoch;
};

static const struct store__ops etcd_ops;
static int watch_fill_etcd(struct store__hub *h, struct store__hwatch *w, int64_t upto);

/* ---- HTTP ---- */

static CURL *pool_get(struct et_store *s)
{
	CURL *h = NULL;
	pthread_mutex_lock(&s->pool_mu);
	if (s->pool.len)
		h = s->pool.v[--s->pool.len];
	pthread_mutex_unlock(&s->pool_mu);
	return h ? h : curl_easy_init();
}

static void pool_put(struct et_store *s, CURL *h)
{
	pthread_mutex_lock(&s->pool_mu);
	*vec_push(&s->pool) = h;
	pthread_mutex_unlock(&s->pool_mu);
}

static size_t body_write(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static int xfer_check(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct xfer *x = arg;
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&x->s->h.closing) || atomic_load(&x->s->ep_silent[x->at]) != x->epoch ? 1 : 0;
}

static struct curl_slist *hdrs;
static void hdrs_init(void)
{
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" (libcurl adds it to bodies over 1 KiB): it costs a round
	 * trip per request. */
	hdrs = curl_slist_append(hdrs, "Expect:");
}

/* Prepares h for a POST of body to path on endpoint at; x (the caller's, alive until the
 * transfer ends) is its progress check. */
static void setup(struct et_store *s, CURL *h, size_t at, const char *path, const char *body, long timeout_ms,
		  struct xfer *x)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, hdrs_init);
	*x = (struct xfer){.s = s, .at = at, .epoch = atomic_load(&s->ep_silent[at])};
	char *url = xasprintf("%s%s", s->eps.v[at], path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_check);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (s->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->cafile);
	if (s->certfile)
		curl_easy_setopt(h, CURLOPT_SSLCERT, s->certfile);
	if (s->keyfile)
		curl_easy_setopt(h, CURLOPT_SSLKEY, s->keyfile);
}

/* True when a failed request cannot have reached etcd: not one byte of it was sent. */
static bool not_sent(CURL *h, CURLcode c)
{
	long sent = 0;
	if (c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_SSL_CONNECT_ERROR)
		return true;
	return curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
}

/* POSTs body to path on the current endpoint, moving to the next on a connection error
 * (any error when idempotent). On success *out is etcd's JSON answer (the caller decrefs);
 * an error etcd reported comes back as etcd__error's code. err gets a reason. */
static int post(struct et_store *s, const char *path, const char *body, bool idempotent, json_t **out,
		char *err, size_t errlen)
{
	CURL *h = pool_get(s);
	int rc = -EIO;
	size_t first = atomic_load(&s->ep_cur) % s->eps.len;

	*out = NULL;
	for (size_t i = 0; i < s->eps.len; i++) {
		size_t at = (first + i) % s->eps.len;
		struct buf b = {0};
		struct xfer x;
		long status = 0;
		setup(s, h, at, path, body, REQ_TIMEOUT_MS, &x);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		CURLcode c = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (c == CURLE_ABORTED_BY_CALLBACK && atomic_load(&s->h.closing)) {
			buf_fini(&b);
			rc = -ECANCELED;
			snprintf(err, errlen, "closing");
			break;
		}
		if (c != CURLE_OK || status == 503 || status == 502) {
			snprintf(err, errlen, "%s: %s", s->eps.v[at],
				 c == CURLE_ABORTED_BY_CALLBACK ? "member stopped answering"
				 : c != CURLE_OK		? curl_easy_strerror(c)
								: "service unavailable");
			buf_fini(&b);
			rc = -EIO;
			/* The next request starts at the next endpoint. A write that may have
			 * reached etcd is not sent again (it could apply twice); the caller gets
			 * -EIO, as kube's "may have succeeded". */
			atomic_store(&s->ep_cur, (at + 1) % s->eps.len);
			if (!idempotent && (c == CURLE_OK || !not_sent(h, c)))
				break;
			continue;
		}
		json_error_t je;
		json_t *root = b.data ? json_loadb(b.data, b.len, 0, &je) : NULL;
		buf_fini(&b);
		if (!json_is_object(root)) {
			json_decref(root);
			snprintf(err, errlen, "%s: answer is not JSON (HTTP %ld)", s->eps.v[at], status);
			rc = -EBADMSG;
			break;
		}
		rc = etcd__error(root, err, errlen);
		if (rc < 0) {
			json_decref(root);
			break;
		}
		*out = root;
		rc = 0;
		break;
	}
	pool_put(s, h);
	return rc;
}

static char *b64s(const char *s)
{
	return etcd__b64(s, strlen(s));
}

/* Reads etcd's current revision (a count_only range). */
static int etcd_current_rev(struct et_store *s, int64_t *rev, char *err, size_t errlen)
{
	char *k = b64s(COMPACT_KEY);
	char *body = xasprintf("{\"key\":\"%s\",\"count_only\":true}", k);
	json_t *r = NULL;
	int rc = post(s, "/v3/kv/range", body, true, &r, err, errlen);
	if (rc == 0 && etcd__i64(json_object_get(r, "header"), "revision", rev) < 0)
		rc = -EBADMSG;
	json_decref(r);
	free(body);
	free(k);
	return rc;
}

/* Ranges the store keys starting with store_prefix as of rev (0 = current) from etcd, all of
 * them, in pages of RANGE_PAGE at one revision (the caller filters, sorts and pages). */
static int etcd_range(struct et_store *s, const char *store_prefix, int64_t rev, struct store_list *out,
		      char *err, size_t errlen)
{
	char *key, *end;
	etcd__prefix_range(s->prefix, store_prefix, &key, &end);
	char *bk = b64s(key), *be = b64s(end);
	size_t plen = strlen(store_prefix);
	int rc = 0;
	bool more = true;

	out->rev = rev;
	while (rc == 0 && more) {
		char *body =
		    xasprintf("{\"key\":\"%s\",\"range_end\":\"%s\",\"revision\":\"%lld\",\"limit\":\"%d\"}",
			      bk, be, (long long)out->rev, RANGE_PAGE);
		json_t *r = NULL;
		rc = post(s, "/v3/kv/range", body, true, &r, err, errlen);
		free(body);
		if (rc < 0)
			break;
		const json_t *kvs = json_object_get(r, "kvs");
		int64_t at = 0;
		rc = etcd__i64(json_object_get(r, "header"), "revision", &at);
		if (out->rev == 0)
			out->rev = at; /* the next pages read at the first one's revision */
		if (kvs && !json_is_array(kvs))
			rc = -EBADMSG;
		more = json_is_true(json_object_get(r, "more")) && json_array_size(kvs) > 0;
		for (size_t i = 0; rc == 0 && i < json_array_size(kvs); i++) {
			struct store_kv *kv;
			rc = etcd__kv_parse(json_array_get(kvs, i), s->prefix, &kv);
			if (rc == 0 && kv && strncmp(kv->key, store_prefix, plen) == 0)
				store__list_push(out, kv);
			else
				store_kv_unref(kv);
		}
		if (rc == 0 && more) {
			/* The next page starts just after the last etcd key of this one. */
			const json_t *lk =
			    json_object_get(json_array_get(kvs, json_array_size(kvs) - 1), "key");
			char *raw = NULL;
			size_t rl = 0;
			rc = json_is_string(lk)
				 ? etcd__unb64(json_string_value(lk), json_string_length(lk), &raw, &rl)
				 : -EBADMSG;
			if (rc == 0) {
				raw = xrealloc(raw, rl + 1);
				raw[rl] = 0; /* the smallest key after it: the key and a zero byte */
				free(bk);
				bk = etcd__b64(raw, rl + 1);
			}
			free(raw);
		}
		json_decref(r);
	}
	if (rc < 0 && rc != ERR_EXPIRED && rc != -EIO && rc != -ECANCELED && rc != -EINVAL)
		snprintf(err, errlen, "range: malformed answer");
	if (rc < 0)
		store_list_fini(out);
	free(bk);
	free(be);
	free(key);
	free(end);
	return rc;
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp((*(struct store_kv *const *)a)->key, (*(struct store_kv *const *)b)->key);
}

/* ---- cache ---- */

/* Replaces the cache by a fresh list of the prefix (after start, or when etcd compacted
 * history the stream still needed). The ring restarts empty at the list's revision. */
static int cache_relist(struct et_store *s, char *err, size_t errlen)
{
	struct store_list l = {0};
	int rc = etcd_range(s, "", 0, &l, err, errlen);
	if (rc < 0)
		return rc;
	xqsort(l.kvs, l.len, sizeof(*l.kvs), cmp_kv);
	pthread_mutex_lock(&s->h.mu);
	store__state_clear(&s->h.st);
	for (size_t i = 0; i < l.len; i++)
		store__state_append(&s->h.st, l.kvs[i], 0);
	l.len = 0;
	while (s->h.ring.len)
		store__ring_drop_oldest(&s->h.ring);
	s->h.rev = l.rev;
	s->h.ring.floor = l.rev;
	pthread_cond_broadcast(&s->h.cv);
	pthread_mutex_unlock(&s->h.mu);
	store_list_fini(&l);
	return 0;
}

/* Waits until the cache reached rev. 0, -ETIMEDOUT or -ECANCELED. */
static int cache_wait(struct et_store *s, int64_t rev, int timeout_ms)
{
	struct timespec d;
	int rc = 0;
	d = clock_mono_deadline(timeout_ms);
	pthread_mutex_lock(&s->h.mu);
	s->h.inside++;
	while (s->h.rev < rev) {
		if (atomic_load(&s->h.closing)) {
			rc = -ECANCELED;
			break;
		}
		if (pthread_cond_timedwait(&s->h.cv, &s->h.mu, &d) == ETIMEDOUT && s->h.rev < rev) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	if (--s->h.inside == 0 && atomic_load(&s->h.closing))
		pthread_cond_broadcast(&s->h.idle_cv);
	pthread_mutex_unlock(&s->h.mu);
	return rc;
}

/* ---- the cache's watch stream ---- */

struct stream_ctx {
	struct et_store *s;
	struct etcd__stream st;
	int rc;		     /* first error of the stream (ERR_EXPIRED: compacted) */
	int64_t compact_rev; /* with ERR_EXPIRED */
	/* Catch-up of one store watch instead of the cache (when w is set). */
	struct store__hwatch *w;
	int64_t upto;
	bool done;
};

static void cache_apply(struct et_store *s, struct etcd__watch_msg *m)
{
	pthread_mutex_lock(&s->h.mu);
	for (size_t i = 0; i < m->events.len; i++) {
		struct store_event *ev = &m->events.v[i];
		if (ev->rev <= s->h.rev)
			continue; /* already applied (a resumed stream) */
		if (ev->type == STORE_EV_PUT)
			store__state_put(&s->h.st, store_kv_ref(ev->kv), 0);
		else
			store__state_del(&s->h.st, ev->kv->key);
		store__ring_push(&s->h.ring, ev);
		memset(ev, 0, sizeof(*ev));
	}
	int64_t to = m->last_rev;
	if (!m->events.len && !m->last_rev && !m->created && m->header_rev > 0)
		to = m->header_rev; /* a progress notification */
	if (to > s->h.rev)
		s->h.rev = to;
	pthread_mutex_unlock(&s->h.mu);
	pthread_cond_broadcast(&s->h.cv); /* after the unlock, as sqlite.c's writer */
}

static int stream_line(const char *line, size_t len, void *arg)
{
	struct stream_ctx *c = arg;
	struct etcd__watch_msg m;
	int rc = etcd__watch_msg_parse(line, len, c->s->prefix, &m);
	if (rc < 0) {
		log_warn("store: etcd watch: %s", rc == -EBADMSG ? "malformed message" : m.err);
		c->rc = rc;
		return 1;
	}
	if (m.canceled) {
		c->rc = m.compact_rev > 0 ? ERR_EXPIRED : -EIO;
		c->compact_rev = m.compact_rev;
		etcd__watch_msg_fini(&m);
		return 1;
	}
	if (!c->w) {
		cache_apply(c->s, &m);
		etcd__watch_msg_fini(&m);
		return 0;
	}
	struct store__hwatch *w = c->w;
	for (size_t i = 0; i < m.events.len; i++) {
		struct store_event *ev = &m.events.v[i];
		if (ev->rev > w->cursor && ev->rev <= c->upto &&
		    !strncmp(ev->kv->key, w->prefix, w->prefix_len)) {
			store__wbuf_push(&w->buf, ev);
			memset(ev, 0, sizeof(*ev));
		}
	}
	if (m.last_rev >= c->upto)
		c->done = true;
	etcd__watch_msg_fini(&m);
	return c->done ? 1 : 0;
}

static size_t stream_write(char *p, size_t size, size_t n, void *arg)
{
	struct stream_ctx *c = arg;
	return etcd__stream_feed(&c->st, p, size * n, stream_line, c) == 0 ? size * n : 0;
}

/* Runs one /v3/watch of the whole keyspace from start_rev on the current endpoint until it
 * ends or the callback stops it. */
static CURLcode stream_run(struct et_store *s, struct stream_ctx *c, int64_t start_rev, long timeout_ms)
{
	char *all = etcd__b64("\0", 1);
	char *body = xasprintf("{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
			       "\"start_revision\":\"%lld\",\"prev_kv\":true,\"progress_notify\":true}}",
			       all, all, (long long)start_rev);
	CURL *h = pool_get(s);
	size_t at = atomic_load(&s->ep_cur) % s->eps.len;
	struct xfer x;
	setup(s, h, at, "/v3/watch", body, timeout_ms, &x);
	if (!c->w) {
		long was = atomic_exchange(&s->watch_ep, (long)at);
		if (was != (long)at)
			log_info("store: etcd watch streams from %s after revision %lld", s->eps.v[at],
				 (long long)start_rev - 1);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	/* A member that stops answering (SIGSTOP, partition) must not hold the cache: etcd
	 * sends progress notifications, so minutes of silence mean a dead stream (with
	 * several members the keepalive notices much sooner). A catch-up read of history
	 * streams without pause, so a shorter silence ends it. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->w ? (long)CATCHUP_SILENCE_S : 900L);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR && rc != CURLE_ABORTED_BY_CALLBACK)
		atomic_store(&s->ep_cur, (at + 1) % s->eps.len);
	pool_put(s, h);
	etcd__stream_fini(&c->st);
	free(body);
	free(all);
	return rc;
}

static void sleep_unless_closing(struct et_store *s, int ms)
{
	struct timespec d;
	d = clock_mono_deadline(ms);
	pthread_mutex_lock(&s->h.mu);
	while (!atomic_load(&s->h.closing) && pthread_cond_timedwait(&s->h.cv, &s->h.mu, &d) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->h.mu);
}

static void *watcher_main(void *arg)
{
	struct et_store *s = arg;
	int backoff = 50;
	char err[256];

	while (!atomic_load(&s->h.closing)) {
		struct stream_ctx c = {.s = s};
		pthread_mutex_lock(&s->h.mu);
		int64_t from = s->h.rev + 1;
		pthread_mutex_unlock(&s->h.mu);
		CURLcode cc = stream_run(s, &c, from, 0);
		pthread_mutex_lock(&s->h.mu);
		int64_t reached = s->h.rev;
		pthread_mutex_unlock(&s->h.mu);
		if (atomic_load(&s->h.closing))
			break;
		if (c.rc == ERR_EXPIRED) {
			log_warn("store: etcd compacted revision %lld the cache still needed: relisting",
				 (long long)c.compact_rev);
			pthread_mutex_lock(&s->h.mu);
			if (c.compact_rev > s->h.compact_rev)
				s->h.compact_rev = c.compact_rev;
			pthread_mutex_unlock(&s->h.mu);
			if (cache_relist(s, err, sizeof(err)) < 0) {
				log_warn("store: etcd relist: %s", err);
				sleep_unless_closing(s, backoff);
				backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			}
			continue;
		}
		if (reached >= from)
			backoff = 50;
		log_warn("store: etcd watch stream ended (%s); resuming after revision %lld",
			 cc == CURLE_ABORTED_BY_CALLBACK ? "the member stopped answering"
			 : cc != CURLE_OK		 ? curl_easy_strerror(cc)
							 : "closed by etcd",
			 (long long)reached);
		sleep_unless_closing(s, backoff);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
	return NULL;
}

/* ---- keepalive ---- */

/* Whether the member at endpoint at answers a serializable range (its own state, no
 * quorum round) within PROBE_TIMEOUT_MS. */
static bool probe(struct et_store *s, size_t at)
{
	char *k = b64s(COMPACT_KEY);
	char *body = xasprintf("{\"key\":\"%s\",\"count_only\":true,\"serializable\":true}", k);
	CURL *h = pool_get(s);
	struct xfer x;
	struct buf b = {0};
	long status = 0;
	setup(s, h, at, "/v3/kv/range", body, PROBE_TIMEOUT_MS, &x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)PROBE_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	CURLcode c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	pool_put(s, h);
	buf_fini(&b);
	free(body);
	free(k);
	return c == CURLE_OK && status == 200;
}

/* Marks endpoint at silent: its transfers abort (requests move on, the cache's watch resumes
 * elsewhere from its revision) and the next requests start at the following endpoint. */
static void mark_silent(struct et_store *s, size_t at)
{
	atomic_fetch_add(&s->ep_silent[at], 1);
	size_t cur = at;
	atomic_compare_exchange_strong(&s->ep_cur, &cur, (at + 1) % s->eps.len);
}

static void *keeper_main(void *arg)
{
	struct et_store *s = arg;
	while (!atomic_load(&s->h.closing)) {
		sleep_unless_closing(s, PROBE_INTERVAL_MS);
		size_t t[2] = {atomic_load(&s->ep_cur) % s->eps.len, 0};
		size_t n = 1;
		long w = atomic_load(&s->watch_ep);
		if (w >= 0 && (size_t)w != t[0])
			t[n++] = (size_t)w;
		for (size_t i = 0; i < n && !atomic_load(&s->h.closing); i++) {
			if (probe(s, t[i]) || atomic_load(&s->h.closing))
				continue;
			log_warn("store: etcd member %s did not answer within %d ms: requests and the watch "
				 "move to another member",
				 s->eps.v[t[i]], PROBE_TIMEOUT_MS);
			mark_silent(s, t[i]);
		}
	}
	return NULL;
}

/* ---- compaction (kube-apiserver's storage/etcd3/compact.go, with the same key) ---- */

/* Raises the compacted revision to the one COMPACT_KEY's record kv (etcd JSON, may be NULL)
 * holds: the last compaction some server made or is making. Returns the record's version. */
static int64_t learn_compacted(struct et_store *s, const json_t *kv)
{
	int64_t ver = 0;
	char *raw = NULL;
	size_t rl;
	const json_t *jv = json_object_get(kv, "value");
	etcd__i64(kv, "version", &ver);
	if (json_is_string(jv) &&
	    etcd__unb64(json_string_value(jv), json_string_length(jv), &raw, &rl) == 0) {
		int64_t done = strtoll(raw, NULL, 10);
		pthread_mutex_lock(&s->h.mu);
		if (done > s->h.compact_rev)
			s->h.compact_rev = done;
		pthread_mutex_unlock(&s->h.mu);
	}
	free(raw);
	return ver;
}

/* One round: if COMPACT_KEY's version is still *t, this server wins the round, bumps it and
 * compacts to *rev (the revision seen one round earlier); else it learns the version.
 * Either way *rev becomes the current revision. */
static int compact_round(struct et_store *s, int64_t *t, int64_t *rev)
{
	char err[256];
	char *k = b64s(COMPACT_KEY), *v;
	char val[32];
	snprintf(val, sizeof(val), "%lld", (long long)*rev);
	v = b64s(val);
	char *body = xasprintf(
	    "{\"compare\":[{\"key\":\"%s\",\"target\":\"VERSION\",\"result\":\"EQUAL\",\"version\":\"%lld\"}],"
	    "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
	    k, (long long)*t, k, v, k);
	json_t *r = NULL;
	int rc = post(s, "/v3/kv/txn", body, false, &r, err, sizeof(err));
	free(body);
	free(k);
	free(v);
	if (rc < 0) {
		log_warn("store: etcd compaction: %s", err);
		return rc;
	}
	int64_t cur = 0, compact_to = *rev;
	etcd__i64(json_object_get(r, "header"), "revision", &cur);
	if (!json_is_true(json_object_get(r, "succeeded"))) {
		/* Another server won this round: learn its version and what it compacted. */
		const json_t *kv = json_array_get(
		    json_object_get(
			json_object_get(json_array_get(json_object_get(r, "responses"), 0), "response_range"),
			"kvs"),
		    0);
		int64_t ver = learn_compacted(s, kv);
		*t = ver;
		*rev = cur;
		json_decref(r);
		return 0;
	}
	json_decref(r);
	*t += 1;
	*rev = cur;
	if (compact_to <= 0)
		return 0;
	/* Raised first: a read that could see the compaction's effect sees this before. */
	pthread_mutex_lock(&s->h.mu);
	if (compact_to > s->h.compact_rev)
		s->h.compact_rev = compact_to;
	pthread_mutex_unlock(&s->h.mu);
	body = xasprintf("{\"revision\":\"%lld\",\"physical\":false}", (long long)compact_to);
	rc = post(s, "/v3/kv/compaction", body, true, &r, err, sizeof(err));
	free(body);
	json_decref(r);
	if (rc < 0 && rc != ERR_EXPIRED)
		log_warn("store: etcd compaction to %lld: %s", (long long)compact_to, err);
	return 0;
}

static void *compactor_main(void *arg)
{
	struct et_store *s = arg;
	int64_t t = 0, rev = 0;
	while (!atomic_load(&s->h.closing)) {
		sleep_unless_closing(s, (int)s->compact_interval_ms);
		if (atomic_load(&s->h.closing))
			break;
		compact_round(s, &t, &rev);
	}
	return NULL;
}

/* ---- open ---- */

static void store_free(struct et_store *s)
{
	for (size_t i = 0; i < s->eps.len; i++)
		free(s->eps.v[i]);
	vec_free(&s->eps);
	free(s->ep_silent);
	for (size_t i = 0; i < s->pool.len; i++)
		curl_easy_cleanup(s->pool.v[i]);
	vec_free(&s->pool);
	free(s->url);
	free(s->prefix);
	free(s->cafile);
	free(s->certfile);
	free(s->keyfile);
	store__hub_fini(&s->h);
	pthread_mutex_destroy(&s->pool_mu);
	free(s);
}

static bool host_ok(const char *h, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

/* "etcd://h1:2379,h2:2379" (or "etcds://": https) into endpoints. */
static int parse_url(struct et_store *s, const char *url, bool tls, char *err, size_t errlen)
{
	const char *p = strstr(url, "://") + 3;
	if (!strncmp(url, "etcds://", 8))
		tls = true;
	if (!*p) {
		snprintf(err, errlen, "store: %s: no endpoint after etcd://", url);
		return -EINVAL;
	}
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && p[n - 1] == '/')
			n--;
		if (!host_ok(p, n)) {
			snprintf(err, errlen, "store: %s: bad endpoint \"%.*s\" (want host:port)", url,
				 (int)n, p);
			return -EINVAL;
		}
		const char *colon = memrchr(p, ':', n), *rb = memrchr(p, ']', n);
		bool has_port = colon && (!rb || colon > rb) && (p[0] == '[' || memchr(p, ':', n) == colon);
		if (has_port) {
			char *end;
			long port = strtol(colon + 1, &end, 10);
			if (end != p + n || port < 1 || port > 65535) {
				snprintf(err, errlen, "store: %s: bad port in \"%.*s\"", url, (int)n, p);
				return -EINVAL;
			}
		}
		*vec_push(&s->eps) =
		    xasprintf("%s://%.*s%s", tls ? "https" : "http", (int)n, p, has_port ? "" : ":2379");
		p += n;
		while (*p == '/')
			p++;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Starts a thread the store can do without; says so when it cannot. Whether it runs. */
static bool start_helper(pthread_t *th, void *(*fn)(void *), struct et_store *s, const char *what)
{
	int rc = pthread_create(th, NULL, fn, s);
	if (rc != 0)
		log_warn("store: cannot start the etcd %s: %s", what, strerror(rc));
	return rc == 0;
}

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int store__etcd_open(const struct store_opts *o, struct store **out, char *err, size_t errlen)
{
	struct et_store *s = xcalloc(1, sizeof(*s));
	int rc;
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	*out = NULL;
	s->url = xstrdup(o->url);
	s->prefix = xstrdup(o->etcd_prefix && o->etcd_prefix[0] ? o->etcd_prefix : "/registry");
	size_t pl = strlen(s->prefix);
	while (pl > 1 && s->prefix[pl - 1] == '/')
		s->prefix[--pl] = 0;
	s->cafile = o->etcd_cafile ? xstrdup(o->etcd_cafile) : NULL;
	s->certfile = o->etcd_certfile ? xstrdup(o->etcd_certfile) : NULL;
	s->keyfile = o->etcd_keyfile ? xstrdup(o->etcd_keyfile) : NULL;
	s->compact_interval_ms = o->etcd_compaction_interval_ms ? o->etcd_compaction_interval_ms : 300000;
	store__hub_init(&s->h, &etcd_ops);
	s->h.fill_old = watch_fill_etcd;
	atomic_init(&s->ep_cur, 0);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_once(&once, curl_init);

	if (s->prefix[0] != '/') {
		snprintf(err, errlen, "store: --etcd-prefix %s: must start with /", s->prefix);
		rc = -EINVAL;
		goto fail;
	}
	if ((s->certfile != NULL) != (s->keyfile != NULL)) {
		snprintf(err, errlen, "store: --etcd-certfile and --etcd-keyfile go together");
		rc = -EINVAL;
		goto fail;
	}
	rc = parse_url(s, o->url, s->cafile || s->certfile, err, errlen);
	if (rc < 0)
		goto fail;
	s->ep_silent = xcalloc(s->eps.len, sizeof(*s->ep_silent));
	atomic_init(&s->watch_ep, -1);
	char why[256] = "";
	rc = cache_relist(s, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "store: %s: etcd did not answer: %s", o->url, why);
		goto fail;
	}
	/* What the servers compacted so far (watches from before it get ERR_EXPIRED at once). */
	char *ck = b64s(COMPACT_KEY), *body = xasprintf("{\"key\":\"%s\"}", ck);
	json_t *cr = NULL;
	if (post(s, "/v3/kv/range", body, true, &cr, why, sizeof(why)) == 0)
		learn_compacted(s, json_array_get(json_object_get(cr, "kvs"), 0));
	json_decref(cr);
	free(body);
	free(ck);
	rc = -pthread_create(&s->watcher, NULL, watcher_main, s);
	if (rc < 0) {
		snprintf(err, errlen, "store: cannot start the etcd watch thread: %s", strerror(-rc));
		goto fail;
	}
	if (s->compact_interval_ms > 0)
		s->have_compactor = start_helper(&s->compactor, compactor_main, s, "compactor");
	/* With one member there is nowhere to move to: requests keep their own timeouts. */
	if (s->eps.len > 1)
		s->have_keeper = start_helper(&s->keeper, keeper_main, s, "keepalive");
	*out = &s->h.base;
	return 0;
fail:
	store_free(s);
	return rc;
}

/* ---- reads ---- */

static int et_sync(struct store *base, int64_t *rev)
{
	struct et_store *s = (struct et_store *)base;
	char err[256];
	int64_t r = 0;
	if (!store__hub_enter(&s->h))
		return -ECANCELED;
	int rc = etcd_current_rev(s, &r, err, sizeof(err));
	store__hub_leave(&s->h);
	if (rc < 0) {
		if (rc != -ECANCELED)
			log_warn("store: etcd: reading the current revision: %s", err);
		return rc == -ECANCELED ? rc : -EIO;
	}
	rc = cache_wait(s, r, SYNC_WAIT_MS);
	if (rc == 0 && rev)
		*rev = store__hub_rev(&s->h.base);
	return rc;
}

/* Keeps the records of l after start_after, at most limit, in key order. */
static void list_page(struct store_list *l, const char *start_after, size_t limit)
{
	size_t w = 0;
	xqsort(l->kvs, l->len, sizeof(*l->kvs), cmp_kv);
	for (size_t i = 0; i < l->len; i++) {
		struct store_kv *kv = l->kvs[i];
		if ((start_after && strcmp(kv->key, start_after) <= 0) || (limit && w == limit)) {
			if (limit && w == limit)
				l->more = true;
			store_kv_unref(kv);
			continue;
		}
		l->kvs[w++] = kv;
	}
	l->len = w;
}

static int et_range(struct store *base, const char *prefix, const char *start_after, size_t limit,
		    int64_t rev, struct store_list *out)
{
	struct et_store *s = (struct et_store *)base;
	int rc = 0;

	pthread_mutex_lock(&s->h.mu);
	if (rev > s->h.rev) {
		rc = -EINVAL;
	} else if (rev > 0 && rev < s->h.compact_rev) {
		rc = ERR_EXPIRED;
	} else if (rev == 0 || rev == s->h.rev) {
		store__state_range(&s->h.st, prefix, start_after, limit, out);
		out->rev = s->h.rev;
	} else {
		rc = 1;
	}
	pthread_mutex_unlock(&s->h.mu);
	if (rc <= 0)
		return rc;
	/* An older revision: etcd keeps it until compaction. */
	char err[256];
	if (!store__hub_enter(&s->h))
		return -ECANCELED;
	rc = etcd_range(s, prefix, rev, out, err, sizeof(err));
	store__hub_leave(&s->h);
	if (rc < 0) {
		if (rc == ERR_EXPIRED) {
			pthread_mutex_lock(&s->h.mu);
			if (rev + 1 > s->h.compact_rev)
				s->h.compact_rev = rev + 1; /* at least: etcd compacted past rev */
			pthread_mutex_unlock(&s->h.mu);
		} else {
			log_warn("store: etcd range at %lld: %s", (long long)rev, err);
		}
		return rc;
	}
	list_page(out, start_after, limit);
	out->rev = rev;
	return 0;
}

/* ---- write ---- */

static json_t *jkey(struct et_store *s, const char *key)
{
	char *ek = etcd__key_to(s->prefix, key);
	char *b = b64s(ek);
	json_t *j = json_string(b);
	free(b);
	free(ek);
	return j;
}

static char *txn_body(struct et_store *s, const struct store_op *ops, size_t n)
{
	json_t *cmp = json_array(), *succ = json_array(), *fail = json_array();
	char rv[32];
	for (size_t i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		if (op->expect_mod_rev == 0 || (op->kind == STORE_DELETE && op->expect_mod_rev < 0)) {
			/* Absent: create_revision == 0; present: create_revision > 0. */
			bool absent = op->expect_mod_rev == 0;
			json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:s}", "key", jkey(s, op->key),
							     "target", "CREATE", "result",
							     absent ? "EQUAL" : "GREATER", "create_revision",
							     "0"));
		}
		if (op->expect_mod_rev > 0) {
			snprintf(rv, sizeof(rv), "%lld", (long long)op->expect_mod_rev);
			json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:s}", "key", jkey(s, op->key),
							     "target", "MOD", "result", "EQUAL",
							     "mod_revision", rv));
		}
		if (op->kind == STORE_DELETE && op->expect_mod_rev == 0) {
			/* Must be absent and present at once: fails, and says which way. */
			json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:s}", "key", jkey(s, op->key),
							     "target", "CREATE", "result", "GREATER",
							     "create_revision", "0"));
		}
		if (op->kind == STORE_PUT) {
			char *v = etcd__b64(op->value ? op->value : "", op->value_len);
			json_array_append_new(succ, json_pack("{s:{s:o, s:s, s:b}}", "request_put", "key",
							      jkey(s, op->key), "value", v, "prev_kv", 1));
			free(v);
		} else {
			json_array_append_new(succ, json_pack("{s:{s:o, s:b}}", "request_delete_range", "key",
							      jkey(s, op->key), "prev_kv", 1));
		}
		json_array_append_new(fail, json_pack("{s:{s:o, s:b}}", "request_range", "key",
						      jkey(s, op->key), "keys_only", 1));
	}
	json_t *root = json_pack("{s:o, s:o, s:o}", "compare", cmp, "success", succ, "failure", fail);
	char *body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return body;
}

static int txn_results(struct et_store *s, const struct store_op *ops, size_t n, const json_t *resps,
		       int64_t rev, struct store_result *res)
{
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(resps, i);
		struct store_kv *prev = NULL;
		int rc;
		if (ops[i].kind == STORE_PUT) {
			const json_t *pr = json_object_get(json_object_get(r, "response_put"), "prev_kv");
			rc = pr ? etcd__kv_parse(pr, s->prefix, &prev) : 0;
			if (rc < 0)
				return rc;
			res[i].kv =
			    store__kv_new(ops[i].key, strlen(ops[i].key), ops[i].value, ops[i].value_len,
					  prev ? prev->create_rev : rev, rev, prev ? prev->version + 1 : 1);
			store_kv_unref(prev);
		} else {
			const json_t *pk = json_array_get(
			    json_object_get(json_object_get(r, "response_delete_range"), "prev_kvs"), 0);
			rc = pk ? etcd__kv_parse(pk, s->prefix, &prev) : -EBADMSG;
			if (rc < 0 || !prev)
				return -EBADMSG;
			res[i].kv = prev;
		}
	}
	return 0;
}

static int et_txn(struct store *base, const struct store_op *ops, size_t n, struct store_result *res,
		  int64_t *rev, size_t *failed_op)
{
	struct et_store *s = (struct et_store *)base;
	char err[256];
	json_t *r = NULL;
	int rc;

	if (!store__hub_enter(&s->h))
		return -ECANCELED;
	char *body = txn_body(s, ops, n);
	rc = post(s, "/v3/kv/txn", body, false, &r, err, sizeof(err));
	free(body);
	store__hub_leave(&s->h);
	if (rc < 0) {
		if (rc != -ECANCELED)
			log_warn("store: etcd txn: %s", err);
		return rc == -ECANCELED ? rc : -EIO;
	}
	const json_t *resps = json_object_get(r, "responses");
	int64_t at = 0;
	if (etcd__i64(json_object_get(r, "header"), "revision", &at) < 0 || !json_is_array(resps) ||
	    json_array_size(resps) != n) {
		rc = -EIO;
		log_warn("store: etcd txn: malformed answer");
		goto out;
	}
	if (!json_is_true(json_object_get(r, "succeeded"))) {
		rc = etcd__txn_failed(ops, n, resps, failed_op);
		/* The state that failed the compares is etcd's at revision at: a caller that
		 * reads again to retry (get, then CAS) must find at least that here. */
		cache_wait(s, at, SYNC_WAIT_MS);
		goto out;
	}
	if (res && txn_results(s, ops, n, resps, at, res) < 0) {
		for (size_t i = 0; i < n; i++) {
			store_kv_unref(res[i].kv);
			res[i].kv = NULL;
		}
		log_warn("store: etcd txn at %lld: malformed answer", (long long)at);
		rc = -EIO;
		goto out;
	}
	/* Committed: answer once this server's cache shows it (read-your-writes). */
	rc = cache_wait(s, at, WRITE_WAIT_MS);
	if (rc == -ETIMEDOUT)
		log_warn("store: etcd committed revision %lld but the cache did not reach it", (long long)at);
	if (rc == 0)
		*rev = at;
out:
	if (rc < 0 && res) {
		for (size_t i = 0; i < n; i++) {
			store_kv_unref(res[i].kv);
			res[i].kv = NULL;
		}
	}
	json_decref(r);
	return rc;
}

/* ---- watch ---- */

/* Reads the events of revisions (w->cursor, upto] from etcd (a watch that stops at upto). */
static int watch_fill_etcd(struct store__hub *h, struct store__hwatch *w, int64_t upto)
{
	struct et_store *s = (struct et_store *)h;
	struct stream_ctx c = {.s = s, .w = w, .upto = upto};
	if (upto <= 1) /* a fresh etcd's revision 1 changed no key: no event would come */
		return 0;
	/* No deadline on the whole read: with megabytes of history on a loaded machine it
	 * may take longer than a request, and is cut only when nothing arrives for
	 * CATCHUP_SILENCE_S (stream_run). */
	CURLcode cc = stream_run(s, &c, w->cursor + 1, 0);
	int rc = 0;
	if (c.rc == ERR_EXPIRED) {
		rc = ERR_EXPIRED;
		pthread_mutex_lock(&s->h.mu);
		if (w->cursor + 1 > s->h.compact_rev)
			s->h.compact_rev = w->cursor + 1; /* at least: etcd compacted past the cursor */
		pthread_mutex_unlock(&s->h.mu);
	} else if (!c.done) {
		log_warn("store: etcd: reading events after %lld: %s", (long long)w->cursor,
			 c.rc ? "bad answer" : curl_easy_strerror(cc));
		rc = atomic_load(&s->h.closing) ? -ECANCELED : -EIO;
	}
	return rc;
}

static void et_close(struct store *base)
{
	struct et_store *s = (struct et_store *)base;
	store__hub_close_begin(&s->h);
	pthread_join(s->watcher, NULL);
	if (s->have_compactor)
		pthread_join(s->compactor, NULL);
	if (s->have_keeper)
		pthread_join(s->keeper, NULL);
	store__hub_wait_idle(&s->h);
	store_free(s);
}

static const struct store__ops etcd_ops = {
    .name = "etcd",
    .close = et_close,
    .rev = store__hub_rev,
    .compact_rev = store__hub_compact_rev,
    .sync = et_sync,
    .get = store__hub_get,
    .range = et_range,
    .txn = et_txn,
    .watch_open = store__hub_watch_open,
    .watch_next = store__hub_watch_next,
    .watch_cancel = store__hub_watch_cancel,
    .watch_close = store__hub_watch_close,
};
