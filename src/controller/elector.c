/* elector.c - leader election through the API: the Lease loop and the runner of the
 * elected work. See elector.h; the decisions are controller/leader.c's.
 *
 * The elector thread (a base/worker.h thread, never kicked: it sleeps its jittered retry
 * wait through, or until stopped) owns the client and the ctrl_leader record; it
 * publishes only "leading" under w.mu. The runner thread owns the work's state (running
 * or not) and follows "leading" with on_start/on_stop, waiting on w.cv.
 */
#include "controller/elector.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/worker.h"
#include "controller/leader.h"

struct ctrl_elector {
	struct ctrl_elector_opts o;
	struct client *cl;
	struct ctrl_leader l; /* elector thread only */
	char *coll_path, *item_path;
	unsigned seed;
	struct worker w; /* the elector thread; w.mu guards leading */
	bool leading;
	pthread_t run_th;
};

/* GETs the Lease: 0 with *lease (NULL on 404), or -EIO after logging. */
static int lease_get(struct ctrl_elector *e, json_t **lease)
{
	long status = 0;
	char *body = NULL, err[512] = "";
	*lease = NULL;
	int rc = client_request(e->cl, "GET", e->item_path, NULL, NULL, NULL, &status, &body, NULL, err,
				sizeof(err));
	if (rc < 0) {
		log_debug("leader election: reading Lease %s/%s: %s", e->o.lease_namespace, e->o.lease_name,
			  err);
		return -EIO;
	}
	if (status == 200)
		*lease = json_loads(body, 0, NULL);
	else if (status != 404)
		log_warn("leader election: reading Lease %s/%s: HTTP %ld", e->o.lease_namespace,
			 e->o.lease_name, status);
	free(body);
	return status == 200 ? (*lease ? 0 : -EIO) : status == 404 ? 0 : -EIO;
}

/* Creates (POST, when existed is false) or replaces (PUT with its resourceVersion) the
 * Lease; returns what the server stored (new reference) or NULL (409 and the like). */
static json_t *lease_put(struct ctrl_elector *e, const json_t *w, bool existed)
{
	char *data = json_dumps(w, JSON_COMPACT), *body = NULL, err[512] = "";
	long status = 0;
	int rc = client_request(e->cl, existed ? "PUT" : "POST", existed ? e->item_path : e->coll_path,
				"application/json", data, NULL, &status, &body, NULL, err, sizeof(err));
	free(data);
	json_t *out = NULL;
	if (rc < 0)
		log_debug("leader election: writing Lease: %s", err);
	else if (status == 200 || status == 201)
		out = json_loads(body, 0, NULL);
	else if (status != 409)
		log_warn("leader election: writing Lease %s/%s: HTTP %ld: %.200s", e->o.lease_namespace,
			 e->o.lease_name, status, body ? body : "");
	free(body);
	return out;
}

static void set_leading(struct ctrl_elector *e, bool leading)
{
	pthread_mutex_lock(&e->w.mu);
	if (e->leading != leading) {
		log_info("leader election: %s %s/%s as %s", leading ? "acquired" : "lost",
			 e->o.lease_namespace, e->o.lease_name, e->l.identity);
		e->leading = leading;
		pthread_cond_broadcast(&e->w.cv);
	}
	pthread_mutex_unlock(&e->w.mu);
}

static void *elect_main(void *arg)
{
	struct ctrl_elector *e = arg;
	for (;;) {
		json_t *lease = NULL;
		char now[48];
		int grc = lease_get(e, &lease);
		set_leading(e, ctrl_leader_check(&e->l, clock_mono_ms()));
		if (grc == 0) {
			api_now_micro(now, sizeof(now));
			json_t *w = ctrl_leader_try(&e->l, lease, e->o.lease_namespace, e->o.lease_name,
						    clock_mono_ms(), now);
			if (w) {
				json_t *got = lease_put(e, w, lease != NULL);
				ctrl_leader_written(&e->l, got, clock_mono_ms());
				json_decref(got);
				json_decref(w);
			}
			json_decref(lease);
		}
		set_leading(e, ctrl_leader_check(&e->l, clock_mono_ms()));
		int64_t wait =
		    ctrl_leader_next_ms(&e->l, (double)rand_r(&e->seed) / ((double)RAND_MAX + 1.0));
		/* The "leading" broadcasts wake it too: worker_wait sleeps again to the deadline. */
		if (!worker_wait(&e->w, wait))
			break;
	}
	return NULL;
}

/* Follows "leading" with the work: start when it becomes true, stop when it becomes
 * false or at shutdown. */
static void *run_main(void *arg)
{
	struct ctrl_elector *e = arg;
	bool running = false;
	pthread_mutex_lock(&e->w.mu);
	for (;;) {
		bool want = e->leading && !worker_stopping(&e->w);
		if (want != running) {
			pthread_mutex_unlock(&e->w.mu);
			if (want)
				e->o.on_start(e->o.ud);
			else
				e->o.on_stop(e->o.ud);
			running = want;
			pthread_mutex_lock(&e->w.mu);
			continue;
		}
		if (worker_stopping(&e->w))
			break;
		pthread_cond_wait(&e->w.cv, &e->w.mu);
	}
	pthread_mutex_unlock(&e->w.mu);
	return NULL;
}

int ctrl_elector_check(int64_t lease_ms, int64_t renew_deadline_ms, int64_t retry_ms, char *err,
		       size_t errlen)
{
	if (retry_ms < 1 || lease_ms < 1000) {
		snprintf(
		    err, errlen,
		    "leader election: the lease duration must be at least 1s and the retry period positive");
		return -EINVAL;
	}
	if (lease_ms <= renew_deadline_ms) {
		snprintf(err, errlen,
			 "leader election: the lease duration must be greater than the renew deadline");
		return -EINVAL;
	}
	if ((double)renew_deadline_ms <= 1.2 * (double)retry_ms) {
		snprintf(
		    err, errlen,
		    "leader election: the renew deadline must be greater than the retry period * 1.2 (JitterFactor)");
		return -EINVAL;
	}
	return 0;
}

/* Frees what ctrl_elector_start made, once no thread runs. */
static void elector_free(struct ctrl_elector *e)
{
	worker_fini(&e->w);
	ctrl_leader_fini(&e->l);
	client_free(e->cl);
	free(e->coll_path);
	free(e->item_path);
	free(e);
}

int ctrl_elector_start(const struct ctrl_elector_opts *o, struct ctrl_elector **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = ctrl_elector_check(o->lease_ms, o->renew_deadline_ms, o->retry_ms, err, errlen);
	if (rc < 0)
		return rc;
	struct ctrl_elector *e = xcalloc(1, sizeof(*e));
	e->o = *o;
	char id[300];
	if (o->identity) {
		snprintf(id, sizeof(id), "%s", o->identity);
	} else {
		char host[256] = "localhost", uuid[40];
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		api_uuid(uuid, sizeof(uuid));
		snprintf(id, sizeof(id), "%s_%s", host, uuid);
	}
	e->o.identity = NULL;
	ctrl_leader_init(&e->l, id, o->lease_ms, o->renew_deadline_ms, o->retry_ms);
	/* A request must end well before the renew deadline, or a leader cut off from the
	 * API would keep leading past it. */
	long to = (long)(o->renew_deadline_ms / 2);
	e->cl = client_new(o->cfg, to < 1000 ? 1000 : to);
	char *ns = client_escape(o->lease_namespace), *name = client_escape(o->lease_name);
	e->coll_path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
	e->item_path = xasprintf("%s/%s", e->coll_path, name);
	free(ns);
	free(name);
	e->seed = (unsigned)clock_mono_ms() ^ (unsigned)getpid();
	worker_init(&e->w);
	log_info(
	    "leader election: candidate %s for Lease %s/%s (lease %llds, renew deadline %llds, retry %llds)",
	    e->l.identity, o->lease_namespace, o->lease_name, (long long)(o->lease_ms / 1000),
	    (long long)(o->renew_deadline_ms / 1000), (long long)(o->retry_ms / 1000));
	if (pthread_create(&e->run_th, NULL, run_main, e) != 0) {
		snprintf(err, errlen, "leader election: cannot start a thread");
		elector_free(e);
		return -EAGAIN;
	}
	if (worker_start(&e->w, elect_main, e) < 0) {
		worker_stop(&e->w); /* only the flag: wakes the runner */
		pthread_join(e->run_th, NULL);
		snprintf(err, errlen, "leader election: cannot start a thread");
		elector_free(e);
		return -EAGAIN;
	}
	*out = e;
	return 0;
}

void ctrl_elector_stop(struct ctrl_elector *e)
{
	if (!e)
		return;
	worker_stop(&e->w);	       /* also wakes the runner: one condition */
	pthread_join(e->run_th, NULL); /* the work is stopped before the Lease is given up */
	/* Given up whenever it still names us, also when stopping the controllers took past
	 * the renew deadline (they are stopped now; ctrl_leader_release checks the holder and
	 * the PUT the resourceVersion, so a Lease someone else took is never touched). */
	{
		json_t *lease = NULL;
		char now[48];
		api_now_micro(now, sizeof(now));
		if (lease_get(e, &lease) == 0) {
			json_t *r = ctrl_leader_release(&e->l, lease, now);
			json_t *got = r ? lease_put(e, r, true) : NULL;
			if (got)
				log_info("leader election: released Lease %s/%s", e->o.lease_namespace,
					 e->o.lease_name);
			json_decref(got);
			json_decref(r);
		}
		json_decref(lease);
	}
	elector_free(e);
}

bool ctrl_elector_leading(struct ctrl_elector *e)
{
	pthread_mutex_lock(&e->w.mu);
	bool v = e->leading;
	pthread_mutex_unlock(&e->w.mu);
	return v;
}

const char *ctrl_elector_identity(const struct ctrl_elector *e)
{
	return e->l.identity;
}
