/* workq.c - the workqueue metrics registry (see workq.h). A fixed table under one mutex:
 * no allocation after the first use of a name, nothing to free. */
#include "base/workq.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/prom.h"

#define NB 10 /* client-go: ExponentialBuckets(10e-9, 10, 10) */

struct hist {
	unsigned long long bucket[NB], count;
	double sum;
};

struct workq_metrics {
	char name[64];
	unsigned long long adds, retries;
	long long depth;
	struct hist queue, work;
	int64_t busy_since; /* 0: the worker is idle */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct workq_metrics tab[WORKQ_MAX];
static size_t ntab;

static double le(int k)
{
	double v = 1e-8;
	for (int i = 0; i < k; i++)
		v *= 10;
	return v;
}

static void observe(struct hist *h, double s)
{
	for (int k = 0; k < NB; k++)
		if (s <= le(k))
			h->bucket[k]++;
	h->count++;
	h->sum += s;
}

struct workq_metrics *workq_metrics_get(const char *name)
{
	struct workq_metrics *q = NULL;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < ntab && !q; i++)
		if (!strcmp(tab[i].name, name))
			q = &tab[i];
	if (!q && ntab < WORKQ_MAX) {
		q = &tab[ntab++];
		snprintf(q->name, sizeof(q->name), "%s", name);
	}
	if (!q)
		q = &tab[WORKQ_MAX - 1];
	pthread_mutex_unlock(&mu);
	return q;
}

void workq_metrics_added(struct workq_metrics *q)
{
	pthread_mutex_lock(&mu);
	q->adds++;
	q->depth++;
	pthread_mutex_unlock(&mu);
}

void workq_metrics_got(struct workq_metrics *q, int64_t added_ns)
{
	int64_t now = clock_mono_ns();
	pthread_mutex_lock(&mu);
	if (q->depth > 0)
		q->depth--;
	observe(&q->queue, added_ns > 0 && now > added_ns ? (double)(now - added_ns) / 1e9 : 0);
	q->busy_since = now;
	pthread_mutex_unlock(&mu);
}

void workq_metrics_done(struct workq_metrics *q)
{
	int64_t now = clock_mono_ns();
	pthread_mutex_lock(&mu);
	if (q->busy_since)
		observe(&q->work, (double)(now - q->busy_since) / 1e9);
	q->busy_since = 0;
	pthread_mutex_unlock(&mu);
}

void workq_metrics_retry(struct workq_metrics *q)
{
	pthread_mutex_lock(&mu);
	q->retries++;
	pthread_mutex_unlock(&mu);
}

static void write_hist(struct buf *b, const char *metric, const char *name, const struct hist *h)
{
	double les[NB];
	for (int k = 0; k < NB; k++)
		les[k] = le(k);
	char labels[160];
	snprintf(labels, sizeof(labels), "name=\"%s\"", name);
	prom_hist(b, metric, labels, les, h->bucket, NB, h->sum, h->count);
}

/* A gauge of how long each queue's worker has been on its current key (mu held). */
static void write_busy(struct buf *b, const char *metric, const char *help, int64_t now)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	for (size_t i = 0; i < ntab; i++)
		buf_printf(b, "%s{name=\"%s\"} %.9f\n", metric, tab[i].name,
			   tab[i].busy_since ? (double)(now - tab[i].busy_since) / 1e9 : 0.0);
}

void workq_metrics_write(struct buf *b)
{
	int64_t now = clock_mono_ns();
	pthread_mutex_lock(&mu);
	if (ntab == 0) {
		pthread_mutex_unlock(&mu);
		return;
	}
	buf_printf(b, "# HELP workqueue_adds_total Total number of adds handled by workqueue\n"
		      "# TYPE workqueue_adds_total counter\n");
	for (size_t i = 0; i < ntab; i++)
		buf_printf(b, "workqueue_adds_total{name=\"%s\"} %llu\n", tab[i].name, tab[i].adds);
	buf_printf(b, "# HELP workqueue_depth Current depth of workqueue\n# TYPE workqueue_depth gauge\n");
	for (size_t i = 0; i < ntab; i++)
		buf_printf(b, "workqueue_depth{name=\"%s\"} %lld\n", tab[i].name, tab[i].depth);
	buf_printf(b,
		   "# HELP workqueue_queue_duration_seconds How long in seconds an item stays in workqueue "
		   "before being requested.\n# TYPE workqueue_queue_duration_seconds histogram\n");
	for (size_t i = 0; i < ntab; i++)
		write_hist(b, "workqueue_queue_duration_seconds", tab[i].name, &tab[i].queue);
	buf_printf(b, "# HELP workqueue_work_duration_seconds How long in seconds processing an item from "
		      "workqueue takes.\n# TYPE workqueue_work_duration_seconds histogram\n");
	for (size_t i = 0; i < ntab; i++)
		write_hist(b, "workqueue_work_duration_seconds", tab[i].name, &tab[i].work);
	buf_printf(b, "# HELP workqueue_retries_total Total number of retries handled by workqueue\n"
		      "# TYPE workqueue_retries_total counter\n");
	for (size_t i = 0; i < ntab; i++)
		buf_printf(b, "workqueue_retries_total{name=\"%s\"} %llu\n", tab[i].name, tab[i].retries);
	/* One worker per queue: the work in progress is also the longest running one. */
	write_busy(b, "workqueue_unfinished_work_seconds",
		   "How many seconds of work has been done that is in progress and hasn't been observed by "
		   "work_duration.",
		   now);
	write_busy(b, "workqueue_longest_running_processor_seconds",
		   "How many seconds has the longest running processor for workqueue been running.", now);
	pthread_mutex_unlock(&mu);
}
