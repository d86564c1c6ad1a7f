/* objcache.c - ConfigMaps and Secrets read one by one (see objcache.h). */
#include "node/objcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "node/bgworker.h"
#include "node/probe.h"

#define POLL_MS 1000
#define IDLE_MS 30000

struct ent {
	char *kind, *ns, *name;
	json_t *obj;	 /* NULL: absent (or not read yet) */
	char *rv;	 /* obj's resourceVersion, NULL when absent */
	bool fetched;	 /* read at least once */
	int64_t used_ms; /* last asked for */
	int64_t due_ms;	 /* next read */
	struct ent *next;
};

struct node_objcache {
	struct node_bg bg;
	struct ent *list;
	size_t pending;
};

static void ent_free(struct ent *e)
{
	free(e->kind);
	free(e->ns);
	free(e->name);
	free(e->rv);
	json_decref(e->obj);
	free(e);
}

/* GET kind ns/name: 1 with *obj, 0 when it does not exist, -1 on any other outcome. */
static int fetch(struct client *cl, const char *kind, const char *ns, const char *name, json_t **obj)
{
	char *path = xasprintf("/api/v1/namespaces/%s/%s/%s", ns, kind, name), *r = NULL, err[256] = "";
	long status = 0;
	int rc = client_request(cl, "GET", path, NULL, NULL, NULL, &status, &r, NULL, err, sizeof(err));
	*obj = NULL;
	int out = -1;
	if (rc < 0)
		log_warn("agent: GET %s: %s", path, err);
	else if (status == 404)
		out = 0;
	else if (status == 403) { /* no pod of ours uses it (any more): as absent, so no pod waits */
		out = 0;
		log_warn("agent: GET %s: HTTP 403: %.300s", path, r ? r : "");
	} else if (status == 200 && (*obj = json_loads(r ? r : "", 0, NULL)) && json_is_object(*obj))
		out = 1;
	else
		log_warn("agent: GET %s: HTTP %ld: %.300s", path, status, r ? r : "");
	if (out < 0) {
		json_decref(*obj);
		*obj = NULL;
	}
	free(r);
	free(path);
	return out;
}

static void *worker_main(void *arg)
{
	struct node_objcache *c = arg;
	pthread_mutex_lock(&c->bg.w.mu);
	while (!worker_stopping(&c->bg.w)) {
		int64_t now = clock_mono_ms();
		struct ent **pp = &c->list, *e = NULL;
		while (*pp) {
			if (now - (*pp)->used_ms > IDLE_MS) { /* no pod asks for it any more */
				struct ent *d = *pp;
				*pp = d->next;
				if (!d->fetched)
					c->pending--;
				ent_free(d);
				continue;
			}
			if (!e && (*pp)->due_ms <= now)
				e = *pp;
			pp = &(*pp)->next;
		}
		if (!e) {
			node_bg_wait_ms(&c->bg, 200);
			continue;
		}
		char *kind = xstrdup(e->kind), *ns = xstrdup(e->ns), *name = xstrdup(e->name);
		e->due_ms = now + POLL_MS;
		pthread_mutex_unlock(&c->bg.w.mu);
		json_t *obj = NULL;
		int rc = fetch(c->bg.cl, kind, ns, name, &obj);
		pthread_mutex_lock(&c->bg.w.mu);
		for (e = c->list; e && (strcmp(e->kind, kind) || strcmp(e->ns, ns) || strcmp(e->name, name));
		     e = e->next) {
		}
		bool changed = false;
		if (e && rc >= 0) {
			const char *rv = obj ? api_str(obj, "metadata.resourceVersion") : NULL;
			changed = !e->fetched || (!rv != !e->rv) || (rv && strcmp(rv, e->rv));
			if (!e->fetched)
				c->pending--;
			e->fetched = true;
			if (changed) {
				json_decref(e->obj);
				e->obj = obj;
				obj = NULL;
				free(e->rv);
				e->rv = rv ? xstrdup(rv) : NULL;
			}
		}
		json_decref(obj);
		free(kind);
		free(ns);
		free(name);
		if (changed)
			node_bg_wake(&c->bg);
	}
	pthread_mutex_unlock(&c->bg.w.mu);
	return NULL;
}

struct node_objcache *node_objcache_start(const struct client_config *cfg, void (*wake)(void *ud), void *ud,
					  char *err, size_t errlen)
{
	return node_bg_new(sizeof(struct node_objcache), cfg, worker_main, "ConfigMap/Secret reader", wake,
			   ud, err, errlen);
}

json_t *node_objcache_get(struct node_objcache *c, const char *kind, const char *ns, const char *name)
{
	if (!kind || !ns || !name || !*name)
		return NULL;
	pthread_mutex_lock(&c->bg.w.mu);
	struct ent *e = c->list;
	while (e && (strcmp(e->kind, kind) || strcmp(e->ns, ns) || strcmp(e->name, name)))
		e = e->next;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->kind = xstrdup(kind);
		e->ns = xstrdup(ns);
		e->name = xstrdup(name);
		e->next = c->list;
		c->list = e;
		c->pending++;
		pthread_cond_signal(&c->bg.w.cv);
	}
	e->used_ms = clock_mono_ms();
	json_t *o = json_incref(e->obj);
	pthread_mutex_unlock(&c->bg.w.mu);
	return o;
}

size_t node_objcache_pending(struct node_objcache *c)
{
	pthread_mutex_lock(&c->bg.w.mu);
	size_t n = c->pending;
	pthread_mutex_unlock(&c->bg.w.mu);
	return n;
}

void node_objcache_stop(struct node_objcache *c)
{
	if (!c)
		return;
	node_bg_stop(&c->bg);
	while (c->list) {
		struct ent *e = c->list;
		c->list = e->next;
		ent_free(e);
	}
	free(c);
}
