/* scheduler.c - binds unscheduled pods to the Ready node with the fewest pods. */
#include "controller/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"

struct sched {
	struct client *cl;
	struct informer *pods, *nodes;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool dirty, stop, started;
};

static bool is_schedulable_node(const json_t *n)
{
	if (json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable")))
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

static bool pod_active(const json_t *p)
{
	const char *ph = api_str(p, "status.phase");
	return !(ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")));
}

const char *sched_pick_node(const json_t *nodes, const json_t *pods, const json_t *extra)
{
	const char *best = NULL;
	long long best_n = 0;
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		if (!name || !is_schedulable_node(n))
			continue;
		long long cnt = json_integer_value(json_object_get(extra, name));
		size_t j;
		json_t *p;
		json_array_foreach(pods, j, p)
		{
			const char *nn = api_str(p, "spec.nodeName");
			if (nn && !strcmp(nn, name) && pod_active(p))
				cnt++;
		}
		if (!best || cnt < best_n || (cnt == best_n && strcmp(name, best) < 0)) {
			best = name;
			best_n = cnt;
		}
	}
	return best;
}

static bool ours(const json_t *p)
{
	const char *s = api_str(p, "spec.schedulerName");
	const char *nn = api_str(p, "spec.nodeName");
	return (!nn || !*nn) && !api_str(p, "metadata.deletionTimestamp") &&
	       (!s || !strcmp(s, "default-scheduler")) && pod_active(p);
}

static void pass(struct sched *s)
{
	json_t *pods = informer_list(s->pods, NULL), *nodes = informer_list(s->nodes, NULL), *extra = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		if (!ours(p))
			continue;
		const char *node = sched_pick_node(nodes, pods, extra);
		const char *ns = api_str(p, "metadata.namespace"), *name = api_str(p, "metadata.name");
		if (!node || !ns || !name)
			continue;
		char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
		char *body = xasprintf("{\"spec\":{\"nodeName\":\"%s\"}}", node);
		char *resp = NULL, err[256] = "";
		long st = 0;
		int rc = client_request(s->cl, "PATCH", path, "application/merge-patch+json", body, NULL, &st, &resp, NULL,
					err, sizeof(err));
		if (rc < 0 || st >= 300)
			log_warn("scheduler: binding %s/%s to %s: %s", ns, name, node, rc < 0 ? err : resp ? resp : "");
		else {
			log_info("scheduler: bound %s/%s to %s", ns, name, node);
			json_object_set_new(extra, node, json_integer(json_integer_value(json_object_get(extra, node)) + 1));
		}
		free(resp);
		free(body);
		free(path);
	}
	json_decref(extra);
	json_decref(pods);
	json_decref(nodes);
}

static void *worker(void *arg)
{
	struct sched *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		if (!s->dirty) {
			/* Also a periodic pass: a pod left unbound because no node was Ready. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
		if (s->stop)
			break;
		s->dirty = false;
		pthread_mutex_unlock(&s->mu);
		pass(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void poke(void *ud)
{
	struct sched *s = ud;
	pthread_mutex_lock(&s->mu);
	s->dirty = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}
static void on_add(void *ud, const json_t *o) { (void)o; poke(ud); }
static void on_update(void *ud, const json_t *old, const json_t *o) { (void)old; (void)o; poke(ud); }

void sched_stop(struct sched *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	informer_free(s->pods);
	informer_free(s->nodes);
	client_free(s->cl);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

int sched_start(const struct client_config *cfg, struct sched **out, char *err, size_t errlen)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->cl = client_new(cfg, 10000);
	struct informer_handlers h = {.on_add = on_add, .on_update = on_update, .on_synced = poke};
	s->pods = informer_new(cfg, "/api/v1/pods", &h, s);
	s->nodes = informer_new(cfg, "/api/v1/nodes", &h, s);
	informer_start(s->pods);
	informer_start(s->nodes);
	if (!informer_wait_synced(s->pods, 10000) || !informer_wait_synced(s->nodes, 10000)) {
		snprintf(err, errlen, "scheduler: informers did not sync within 10 s");
		sched_stop(s);
		return -ETIMEDOUT;
	}
	int rc = pthread_create(&s->th, NULL, worker, s);
	if (rc != 0) {
		snprintf(err, errlen, "scheduler: %s", strerror(rc));
		sched_stop(s);
		return -rc;
	}
	s->started = true;
	*out = s;
	return 0;
}
