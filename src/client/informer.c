/* informer.c - list + watch + cache (see informer.h for the state machine). */
#include "client/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

struct informer {
	struct client_config cfg;
	struct client *cl;
	char *path;
	struct informer_handlers h;
	void *ud;
	pthread_t thread;
	bool started;
	volatile int stop;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	json_t *cache;	  /* key -> object */
	json_t *by_ns;	  /* namespace -> {key -> object}: informer_list(ns) */
	json_t *by_index; /* index value -> {key -> object}, when index_fn is set */
	char *(*index_fn)(const json_t *obj);
	int nice;
	bool nice_set;
	void (*transform)(json_t *obj); /* informer_set_transform */
	char *transform_tag;
	long long rv;
	bool synced;
	long long resync_ms;	    /* informer_set_resync; 0 = no resync */
	struct client_timer resync; /* the next resync, armed by the first list */
	/* watch stream parsing */
	struct buf line;
	bool expired;
};

/* ---- objects shared between informers --------------------------------------------
 *
 * A process often runs several informers of the same collection (the agent: Services
 * for pods' environment, the proxy, cluster DNS, the Ingress proxy and the LoadBalancer
 * announcer; EndpointSlices for four of them). Cached objects are immutable, so
 * informers that hold the same version of an object (same collection, key and
 * resourceVersion, same top-level fields: list items carry no kind) hold one copy: each
 * parses its own watch stream, then swaps its new tree for the one already shared. The
 * table keeps a reference to the newest version of each object seen (one per live
 * object; resourceVersions compare as numbers, as this server and etcd write them), and
 * drops it on a DELETED event. */
static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *share_tab;  /* "collection|key" -> object */
static size_t share_users; /* live informers: the table empties with the last one */

static int resync(void *ud, struct client_timer *t);

char *informer_key(const json_t *obj)
{
	const char *ns = api_str(obj, "metadata.namespace"), *name = api_str(obj, "metadata.name");
	if (ns && *ns)
		return xasprintf("%s/%s", ns, name ? name : "");
	return xstrdup(name ? name : "");
}

struct informer *informer_new(const struct client_config *cfg, const char *path,
			      const struct informer_handlers *h, void *ud)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));
	client_config_copy(&inf->cfg, cfg);
	inf->cl = client_new(&inf->cfg, 60000);
	inf->path = xstrdup(path);
	if (h)
		inf->h = *h;
	inf->ud = ud;
	inf->resync.fn = resync;
	pthread_mutex_init(&inf->mu, NULL);
	pthread_cond_init(&inf->cond, NULL);
	inf->cache = json_object();
	inf->by_ns = json_object();
	inf->by_index = json_object();
	buf_init(&inf->line);
	pthread_mutex_lock(&share_mu);
	share_users++;
	pthread_mutex_unlock(&share_mu);
	return inf;
}

void informer_set_index(struct informer *inf, char *(*fn)(const json_t *obj))
{
	inf->index_fn = fn;
}

/* The buckets an object sits in: its namespace ("" for cluster-scoped objects, which are
 * not indexed) and its index value (NULL when none). Heap strings. */
static char *ns_of(const json_t *obj)
{
	const char *ns = api_str(obj, "metadata.namespace");
	return ns && *ns ? xstrdup(ns) : NULL;
}

static void bucket_set(json_t *idx, const char *value, const char *key, json_t *obj)
{
	if (!value)
		return;
	json_t *b = json_object_get(idx, value);
	if (!b) {
		b = json_object();
		json_object_set_new(idx, value, b);
	}
	json_object_set(b, key, obj);
}

static void bucket_del(json_t *idx, const char *value, const char *key)
{
	json_t *b = value ? json_object_get(idx, value) : NULL;
	if (!b)
		return;
	json_object_del(b, key);
	if (json_object_size(b) == 0)
		json_object_del(idx, value);
}

/* Moves key from prev's buckets to obj's (either may be NULL). Caller holds inf->mu. */
static void index_move(struct informer *inf, const char *key, const json_t *prev, json_t *obj)
{
	char *(*fns[2])(const json_t *) = {ns_of, inf->index_fn};
	json_t *idx[2] = {inf->by_ns, inf->by_index};
	for (int i = 0; i < 2; i++) {
		if (!fns[i])
			continue;
		char *pv = prev ? fns[i](prev) : NULL, *nv = obj ? fns[i](obj) : NULL;
		if (pv && (!nv || strcmp(pv, nv) != 0))
			bucket_del(idx[i], pv, key);
		bucket_set(idx[i], nv, key, obj);
		free(pv);
		free(nv);
	}
}

static const char *sep(const char *path)
{
	return strchr(path, '?') ? "&" : "?";
}

/* What no consumer of an informer reads, dropped before caching (like client-go's
 * transform that strips managedFields): it is most of a small object's size. */
static void trim(const struct informer *inf, json_t *obj)
{
	if (inf->transform)
		inf->transform(obj);
	json_t *meta = json_object_get(obj, "metadata");
	json_object_del(meta, "managedFields");
	json_t *ann = json_object_get(meta, "annotations");
	json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	if (ann && json_object_size(ann) == 0)
		json_object_del(meta, "annotations");
}

static char *share_key(const struct informer *inf, const char *key)
{
	size_t l = strcspn(inf->path, "?");
	return xasprintf("%.*s|%s|%s", (int)l, inf->path, inf->transform_tag ? inf->transform_tag : "", key);
}

/* The object to cache for obj (borrowed): a new reference to the shared copy when an
 * equal version is shared, else to obj (which becomes the shared one). */
static json_t *share_take(const struct informer *inf, const char *key, json_t *obj)
{
	char *sk = share_key(inf, key);
	const char *rv = api_str(obj, "metadata.resourceVersion");
	pthread_mutex_lock(&share_mu);
	if (!share_tab)
		share_tab = json_object();
	json_t *have = json_object_get(share_tab, sk);
	const char *hrv = have ? api_str(have, "metadata.resourceVersion") : NULL;
	json_t *use;
	if (have && rv && hrv && !strcmp(rv, hrv) && json_object_size(have) == json_object_size(obj)) {
		use = json_incref(have);
	} else {
		/* An informer behind the others (a list after their watch events) does not
		 * take the newest version's place. */
		if (!have || !hrv || !rv || atoll(rv) >= atoll(hrv))
			json_object_set(share_tab, sk, obj);
		use = json_incref(obj);
	}
	pthread_mutex_unlock(&share_mu);
	free(sk);
	return use;
}

static void share_drop(const struct informer *inf, const char *key)
{
	char *sk = share_key(inf, key);
	pthread_mutex_lock(&share_mu);
	json_object_del(share_tab, sk);
	pthread_mutex_unlock(&share_mu);
	free(sk);
}

/* Lists the whole collection (paged); returns 0 with *items (array) and *rv. */
static int list_all(struct informer *inf, json_t **items, long long *rv)
{
	json_t *all = json_array();
	char *cont = NULL;
	for (int page = 0; page < 100000 && !inf->stop; page++) {
		char *path;
		if (cont) {
			char *e = client_escape(cont);
			path = xasprintf("%s%slimit=500&continue=%s", inf->path, sep(inf->path), e);
			free(e);
		} else {
			path = xasprintf("%s%slimit=500", inf->path, sep(inf->path));
		}
		long status = 0;
		char *body = NULL, err[512];
		int rc = client_request(inf->cl, "GET", path, NULL, NULL, NULL, &status, &body, NULL, err,
					sizeof(err));
		free(path);
		json_t *list = rc == 0 && status == 200 ? json_loads(body, 0, NULL) : NULL;
		if (!list) {
			log_warn("informer %s: list failed: %s", inf->path, rc < 0 ? err : body ? body : "");
			free(body);
			free(cont);
			json_decref(all);
			return rc < 0 ? rc : -EIO;
		}
		free(body);
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(list, "items"), i, o) json_array_append(all, o);
		const char *c = api_str(list, "metadata.continue");
		free(cont);
		cont = c && *c ? xstrdup(c) : NULL;
		if (!cont) {
			*rv = atoll(api_str(list, "metadata.resourceVersion") ?: "0");
			json_decref(list);
			*items = all;
			return 0;
		}
		json_decref(list);
	}
	free(cont);
	json_decref(all);
	return -ECANCELED;
}

/* Replaces the cache with items and tells the handlers what changed. */
static void replace(struct informer *inf, json_t *items, long long rv)
{
	json_t *fresh = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o)
	{
		trim(inf, o);
		char *k = informer_key(o);
		json_object_set_new(fresh, k, share_take(inf, k, o));
		free(k);
	}
	const char *k;
	json_t *v;
	pthread_mutex_lock(&inf->mu);
	json_t *old = inf->cache;
	inf->cache = fresh;
	json_incref(fresh);
	json_object_clear(inf->by_ns);
	json_object_clear(inf->by_index);
	json_object_foreach(fresh, k, v) index_move(inf, k, NULL, v);
	inf->rv = rv;
	pthread_mutex_unlock(&inf->mu);
	json_object_foreach(fresh, k, v)
	{
		json_t *prev = json_object_get(old, k);
		if (!prev) {
			if (inf->h.on_add)
				inf->h.on_add(inf->ud, v);
		} else if (strcmp(api_str(prev, "metadata.resourceVersion") ?: "",
				  api_str(v, "metadata.resourceVersion") ?: "")) {
			if (inf->h.on_update)
				inf->h.on_update(inf->ud, prev, v);
		}
	}
	json_object_foreach(old, k, v)
	{
		if (!json_object_get(fresh, k) && inf->h.on_delete)
			inf->h.on_delete(inf->ud, v);
	}
	json_decref(old);
	json_decref(fresh);
	pthread_mutex_lock(&inf->mu);
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
	if (inf->h.on_synced)
		inf->h.on_synced(inf->ud);
}

static void apply_event(struct informer *inf, const char *type, json_t *obj)
{
	trim(inf, obj);
	long long rv = atoll(api_str(obj, "metadata.resourceVersion") ?: "0");
	if (!strcmp(type, "BOOKMARK")) {
		pthread_mutex_lock(&inf->mu);
		if (rv > inf->rv)
			inf->rv = rv;
		pthread_mutex_unlock(&inf->mu);
		return;
	}
	char *k = informer_key(obj);
	bool deleted = !strcmp(type, "DELETED");
	if (deleted)
		share_drop(inf, k);
	else
		obj = share_take(inf, k, obj);
	pthread_mutex_lock(&inf->mu);
	json_t *prev = json_incref(json_object_get(inf->cache, k));
	index_move(inf, k, prev, deleted ? NULL : obj);
	if (deleted)
		json_object_del(inf->cache, k);
	else
		json_object_set(inf->cache, k, obj);
	if (rv > inf->rv)
		inf->rv = rv;
	pthread_mutex_unlock(&inf->mu);
	free(k);
	if (!strcmp(type, "DELETED")) {
		if (inf->h.on_delete)
			inf->h.on_delete(inf->ud, prev ? prev : obj);
	} else if (prev) {
		if (inf->h.on_update)
			inf->h.on_update(inf->ud, prev, obj);
	} else if (inf->h.on_add) {
		inf->h.on_add(inf->ud, obj);
	}
	json_decref(prev);
	if (!deleted)
		json_decref(obj);
}

static json_t *list_of(struct informer *inf, json_t *idx, const char *value);

/* The periodic resync (client-go's Resync with resyncPeriod): every cached object to
 * on_update as (obj, obj). The cache is read under its lock, then delivered without it,
 * as the other handlers are; only this thread changes the cache, so what is delivered is
 * the cache during the whole resync (watch events wait in the socket meanwhile), and an
 * object deleted before it began is not delivered. A stop ends it between two objects.
 * The next one is due a period after this one ends, so a slow handler never leaves the
 * watch without time between resyncs. */
static int resync(void *ud, struct client_timer *t)
{
	struct informer *inf = ud;
	json_t *all = inf->h.on_update ? list_of(inf, NULL, NULL) : NULL;
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		if (inf->stop)
			break;
		inf->h.on_update(inf->ud, o, o);
	}
	json_decref(all);
	client_timer_arm(t, inf->resync_ms);
	return inf->stop ? 1 : 0;
}

/* Feeds stream bytes; each complete line is one watch event. */
static int on_stream(void *ud, const char *data, size_t len)
{
	struct informer *inf = ud;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			buf_putc(&inf->line, data[i]);
			continue;
		}
		if (!inf->line.len)
			continue;
		json_t *ev = json_loads(inf->line.data, 0, NULL);
		buf_reset(&inf->line);
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *obj = json_object_get(ev, "object");
		if (!type || !json_is_object(obj)) {
			json_decref(ev);
			continue;
		}
		if (!strcmp(type, "ERROR")) {
			if (json_integer_value(json_object_get(obj, "code")) == 410)
				inf->expired = true;
			json_decref(ev);
			return 1;
		}
		apply_event(inf, type, obj);
		json_decref(ev);
	}
	return inf->stop ? 1 : 0;
}

static void nap(struct informer *inf, int ms)
{
	for (int i = 0; i < ms / 50 && !inf->stop; i++)
		usleep(50000);
}

void informer_set_transform(struct informer *inf, void (*fn)(json_t *obj), const char *tag)
{
	inf->transform = fn;
	free(inf->transform_tag);
	inf->transform_tag = fn ? xstrdup(tag) : NULL;
}

void informer_set_resync(struct informer *inf, long long period_ms, double jitter)
{
	long long p = period_ms > 0 ? period_ms : 0;
	if (p && jitter > 0)
		p += (long long)((double)p * jitter * ((double)random() / ((double)RAND_MAX + 1.0)));
	inf->resync_ms = p;
}

void informer_set_nice(struct informer *inf, int nice)
{
	inf->nice = nice;
	inf->nice_set = true;
}

static void *run(void *arg)
{
	struct informer *inf = arg;
	if (inf->nice_set && setpriority(PRIO_PROCESS, (id_t)gettid(), inf->nice) < 0)
		log_debug("informer %s: nice %d: %s", inf->path, inf->nice, strerror(errno));
	int backoff = 100;
	bool need_list = true;
	while (!inf->stop) {
		if (need_list) {
			json_t *items = NULL;
			long long rv = 0;
			if (list_all(inf, &items, &rv) < 0) {
				nap(inf, backoff);
				backoff = backoff < 5000 ? backoff * 2 : 5000;
				continue;
			}
			replace(inf, items, rv);
			json_decref(items);
			need_list = false;
			/* The first list arms the resync; a relist does not move it (a relist
			 * tells only what changed, so it is no resync). */
			if (inf->resync_ms && !inf->resync.due_ms)
				client_timer_arm(&inf->resync, inf->resync_ms);
		}
		pthread_mutex_lock(&inf->mu);
		long long rv = inf->rv;
		pthread_mutex_unlock(&inf->mu);
		char *path = xasprintf(
		    "%s%swatch=true&allowWatchBookmarks=true&resourceVersion=%lld&timeoutSeconds=%d",
		    inf->path, sep(inf->path), rv, 300 + (int)(random() % 60));
		long status = 0;
		char err[512] = "";
		inf->expired = false;
		buf_reset(&inf->line);
		int rc = client_stream_timed(inf->cl, path, on_stream, inf, &inf->stop, &inf->resync, &status,
					     err, sizeof(err));
		free(path);
		if (inf->stop)
			break;
		if (inf->expired || status == 410) {
			need_list = true;
			continue;
		}
		if (rc < 0 || status != 200) {
			log_debug("informer %s: watch ended (%s, status %ld); retrying", inf->path, err,
				  status);
			nap(inf, backoff);
			backoff = backoff < 5000 ? backoff * 2 : 5000;
			/* A 5xx (or no answer) is the server's trouble: the client moved to
			 * the next server, and the watch resumes from the last resourceVersion
			 * there; only a client error asks for a new list (410 above). */
			if (status >= 400 && status < 500)
				need_list = true;
			continue;
		}
		backoff = 100;
	}
	return NULL;
}

int informer_start(struct informer *inf)
{
	if (pthread_create(&inf->thread, NULL, run, inf) != 0)
		return -EAGAIN;
	inf->started = true;
	return 0;
}

bool informer_wait_synced(struct informer *inf, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&inf->mu);
	while (!inf->synced)
		if (pthread_cond_timedwait(&inf->cond, &inf->mu, &ts) != 0)
			break;
	bool ok = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return ok;
}

json_t *informer_get(struct informer *inf, const char *ns, const char *name)
{
	char *k = ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	pthread_mutex_lock(&inf->mu);
	json_t *o = json_incref(json_object_get(inf->cache, k));
	pthread_mutex_unlock(&inf->mu);
	free(k);
	return o;
}

/* The objects of one bucket (or of the whole cache) as a new array. */
static json_t *list_of(struct informer *inf, json_t *idx, const char *value)
{
	json_t *out = json_array();
	const char *k;
	json_t *v;
	pthread_mutex_lock(&inf->mu);
	json_t *b = idx ? json_object_get(idx, value ? value : "") : inf->cache;
	json_object_foreach(b, k, v) json_array_append(out, v);
	pthread_mutex_unlock(&inf->mu);
	return out;
}

json_t *informer_list(struct informer *inf, const char *ns)
{
	return list_of(inf, ns ? inf->by_ns : NULL, ns);
}

json_t *informer_list_index(struct informer *inf, const char *value)
{
	return list_of(inf, inf->by_index, value);
}

json_t *informer_get_many(struct informer *inf, const json_t *keys)
{
	json_t *out = json_array(), *k;
	size_t i;
	pthread_mutex_lock(&inf->mu);
	json_array_foreach(keys, i, k)
	{
		json_t *o = json_object_get(inf->cache, json_string_value(k) ?: "");
		if (o)
			json_array_append(out, o);
	}
	pthread_mutex_unlock(&inf->mu);
	return out;
}

long long informer_rv(struct informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	long long rv = inf->rv;
	pthread_mutex_unlock(&inf->mu);
	return rv;
}

void informer_stop(struct informer *inf)
{
	if (!inf)
		return;
	inf->stop = 1;
	/* Without waiting for the stream's next progress tick (up to a second). */
	client_interrupt(inf->cl);
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	if (inf->started)
		pthread_join(inf->thread, NULL);
	client_free(inf->cl);
	client_config_fini(&inf->cfg);
	json_decref(inf->cache);
	json_decref(inf->by_ns);
	json_decref(inf->by_index);
	buf_fini(&inf->line);
	free(inf->path);
	free(inf->transform_tag);
	pthread_mutex_destroy(&inf->mu);
	pthread_cond_destroy(&inf->cond);
	free(inf);
	pthread_mutex_lock(&share_mu);
	if (--share_users == 0) {
		json_decref(share_tab);
		share_tab = NULL;
	}
	pthread_mutex_unlock(&share_mu);
}
