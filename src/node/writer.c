/* writer.c - the node agent's API writer thread (see writer.h).
 *
 * The queue is a list in arrival order under one mutex; the thread takes the first
 * write that is due, performs it without the lock, and puts it back with a delay when
 * it should be retried and nothing newer with its key arrived. The condition variable
 * runs on CLOCK_MONOTONIC, so retry delays ignore wall-clock jumps.
 */
#include "node/writer.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "node/bgworker.h"
#include "node/probe.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MS 1000

struct qwrite {
	char *key, *method, *ctype, *path, *create_path;
	json_t *body, *create_body;
	int64_t not_before; /* monotonic ms: retry delay */
	struct qwrite *next;
};

struct node_writer {
	struct node_bg bg; /* first: node/bgworker.h */
	struct qwrite *q;
};

/* Frees what a write carries (not its key): a newer write with the key replaces it. */
static void qwrite_clear(struct qwrite *w)
{
	free(w->method);
	free(w->ctype);
	free(w->path);
	free(w->create_path);
	json_decref(w->body);
	json_decref(w->create_body);
}

static void qwrite_free(struct qwrite *w)
{
	qwrite_clear(w);
	free(w->key);
	free(w);
}

void node_writer_put(struct node_writer *wr, struct node_write *in)
{
	pthread_mutex_lock(&wr->bg.w.mu);
	struct qwrite **pp = &wr->q, *w;
	while ((w = *pp) && strcmp(w->key, in->key))
		pp = &w->next;
	if (w) {
		qwrite_clear(w); /* replaced in place: keeps its turn, takes the newest content */
	} else {
		w = xcalloc(1, sizeof(*w));
		w->key = xstrdup(in->key);
		*pp = w; /* at the end: first come, first written */
	}
	w->method = xstrdup(in->method);
	w->ctype = xstrdup(in->ctype ? in->ctype : "application/json");
	w->path = in->path;
	w->body = in->body;
	w->create_path = in->create_path;
	w->create_body = in->create_body;
	w->not_before = 0;
	memset(in, 0, sizeof(*in));
	pthread_cond_signal(&wr->bg.w.cv);
	pthread_mutex_unlock(&wr->bg.w.mu);
}

size_t node_writer_pending(struct node_writer *wr)
{
	size_t n = 0;
	pthread_mutex_lock(&wr->bg.w.mu);
	for (struct qwrite *w = wr->q; w; w = w->next)
		n++;
	pthread_mutex_unlock(&wr->bg.w.mu);
	return n;
}

/* One request; returns the HTTP status or a negative errno (logged). */
static long perform(struct node_writer *wr, const char *method, const char *path, const char *ctype,
		    const json_t *body)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL, *r = NULL, err[256] = "";
	long status = 0;
	int rc = client_request(wr->bg.cl, method, path, b ? ctype : NULL, b, NULL, &status, &r, NULL, err,
				sizeof(err));
	free(b);
	if (rc < 0)
		log_warn("agent: %s %s: %s", method, path, err);
	else if (status >= 300 && status != 404 && status != 409)
		log_warn("agent: %s %s: HTTP %ld: %.300s", method, path, status, r ? r : "");
	free(r);
	return rc < 0 ? rc : status;
}

static void *writer_main(void *arg)
{
	struct node_writer *wr = arg;
	pthread_mutex_lock(&wr->bg.w.mu);
	for (;;) {
		bool stopping = worker_stopping(&wr->bg.w);
		int64_t now = clock_mono_ms(), wait_until = INT64_MAX;
		struct qwrite **pp = &wr->q, *w = NULL;
		for (; *pp; pp = &(*pp)->next) {
			if (stopping || (*pp)->not_before <= now) {
				w = *pp;
				*pp = w->next;
				break;
			}
			if ((*pp)->not_before < wait_until)
				wait_until = (*pp)->not_before;
		}
		if (!w) {
			if (stopping)
				break;
			node_bg_wait_ms(&wr->bg, wait_until == INT64_MAX ? 1000 : wait_until - now);
			continue;
		}
		pthread_mutex_unlock(&wr->bg.w.mu);
		long st = perform(wr, w->method, w->path, w->ctype, w->body);
		if (st == 404 && w->create_path)
			st = perform(wr, "POST", w->create_path, "application/json", w->create_body);
		bool retry = st < 0 || st >= 500;
		pthread_mutex_lock(&wr->bg.w.mu);
		struct qwrite *newer = wr->q;
		while (newer && strcmp(newer->key, w->key))
			newer = newer->next;
		if (retry && !newer && !worker_stopping(&wr->bg.w)) {
			w->not_before = clock_mono_ms() + RETRY_MS;
			w->next = wr->q;
			wr->q = w;
		} else {
			qwrite_free(w);
		}
	}
	pthread_mutex_unlock(&wr->bg.w.mu);
	return NULL;
}

struct node_writer *node_writer_start(const struct client_config *cfg, char *err, size_t errlen)
{
	return node_bg_new(sizeof(struct node_writer), cfg, writer_main, "API writer", NULL, NULL, err,
			   errlen);
}

void node_writer_stop(struct node_writer *wr)
{
	if (!wr)
		return;
	node_bg_stop(&wr->bg);
	while (wr->q) {
		struct qwrite *w = wr->q;
		wr->q = w->next;
		qwrite_free(w);
	}
	free(wr);
}
