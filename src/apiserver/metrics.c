/* metrics.c - GET /metrics in the Prometheus text format (0.0.4), with kube-apiserver's
 * metric names where one exists:
 *
 *   apiserver_request_total{verb,resource,subresource,code}      counter
 *   apiserver_request_duration_seconds{verb,resource,subresource} histogram (kube's buckets
 *       up to 60 s; WATCH and CONNECT included here, which kube leaves out)
 *   apiserver_current_inflight_requests{request_kind}            gauge (readOnly/mutating;
 *       without long-running requests, as kube counts)
 *   apiserver_longrunning_requests{verb}                         gauge (WATCH, CONNECT)
 *   process_resident_memory_bytes, process_start_time_seconds   gauges
 *   svcplane_store_commit_duration_seconds (histogram), svcplane_store_fsyncs_total,
 *   svcplane_store_transactions_total, svcplane_store_checkpoints_total,
 *   svcplane_store_checkpoint_seconds_total: the SQLite store's group commits and WAL
 *       checkpoints (kube's etcd_request_duration_seconds has no match here: there is no
 *       etcd)
 *   workqueue_* {name}: the controller managers' queues, with client-go's names
 *       (base/workq.h; kube-controller-manager serves these on its own port, svcplane's
 *       controllers run in this process)
 *
 * verb as kube names it: GET on a collection is LIST, ?watch=true is WATCH, an upgrade
 * (exec, attach, portforward) is CONNECT. Authenticated clients only (server.c sends 401
 * before this). State: one mutex over a small table keyed by the label values; the
 * label values come from the request path only through the kind table (a resource this
 * server serves) or "" so a client cannot grow the table with made-up names.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/prom.h"
#include "base/vec.h"
#include "base/workq.h"
#include "store/store.h"

static const double buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
				 3,	4,     5,    6,	  8,   10,  15,	 20,  30,  45,	 60};
#define NB (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	char verb[16], res[64], sub[16];
	unsigned long long codes[600];
	unsigned long long bucket[NB], count;
	double sum;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static VEC(struct series) tab;
static atomic_long inflight_ro, inflight_mut, long_watch, long_connect;
static time_t started;

void apiserver__metrics_begin(struct apiserver_metric *m, const char *verb, const char *resource,
			      const char *subresource)
{
	if (!started)
		started = time(NULL);
	snprintf(m->verb, sizeof(m->verb), "%s", verb);
	snprintf(m->res, sizeof(m->res), "%s", resource ? resource : "");
	snprintf(m->sub, sizeof(m->sub), "%s", subresource ? subresource : "");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	m->start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	m->mutating = strcmp(verb, "GET") && strcmp(verb, "LIST") && strcmp(verb, "WATCH");
	m->lr = !strcmp(verb, "WATCH") ? &long_watch : !strcmp(verb, "CONNECT") ? &long_connect : NULL;
	if (m->lr) /* long-running requests are not in the inflight gauge (kube leaves them out) */
		atomic_fetch_add(m->lr, 1);
	else
		atomic_fetch_add(m->mutating ? &inflight_mut : &inflight_ro, 1);
}

void apiserver__metrics_end(struct apiserver_metric *m, int code)
{
	if (m->lr)
		atomic_fetch_sub(m->lr, 1);
	else
		atomic_fetch_sub(m->mutating ? &inflight_mut : &inflight_ro, 1);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double d = (double)ts.tv_sec + ts.tv_nsec / 1e9 - m->start;
	pthread_mutex_lock(&mu);
	struct series *s = NULL;
	for (size_t i = 0; i < tab.len && !s; i++)
		if (!strcmp(tab.v[i].verb, m->verb) && !strcmp(tab.v[i].res, m->res) &&
		    !strcmp(tab.v[i].sub, m->sub))
			s = &tab.v[i];
	if (!s && tab.len < 4096) {
		s = vec_push(&tab);
		memcpy(s->verb, m->verb, sizeof(s->verb));
		memcpy(s->res, m->res, sizeof(s->res));
		memcpy(s->sub, m->sub, sizeof(s->sub));
	}
	if (s) {
		if (code >= 0 && code < 600)
			s->codes[code]++;
		for (size_t b = 0; b < NB; b++)
			if (d <= buckets[b])
				s->bucket[b]++;
		s->count++;
		s->sum += d;
	}
	pthread_mutex_unlock(&mu);
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

void apiserver__metrics_serve(struct http_conn *c)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
		   "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, "
		   "resource and HTTP response code.\n# TYPE apiserver_request_total counter\n");
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < tab.len; i++) {
		const char *verb = tab.v[i].verb, *res = tab.v[i].res, *sub = tab.v[i].sub;
		for (int code = 0; code < 600; code++)
			if (tab.v[i].codes[code])
				buf_printf(
				    &b,
				    "apiserver_request_total{code=\"%d\",resource=\"%s\",subresource=\"%s\",verb=\"%s\"} %llu\n",
				    code, res, sub, verb, tab.v[i].codes[code]);
	}
	prom_head(&b, "apiserver_request_duration_seconds", "histogram",
		  "Response latency distribution in seconds for each verb, resource and subresource.");
	for (size_t i = 0; i < tab.len; i++) {
		char *labels = xasprintf("resource=\"%s\",subresource=\"%s\",verb=\"%s\"", tab.v[i].res,
					 tab.v[i].sub, tab.v[i].verb);
		prom_hist(&b, "apiserver_request_duration_seconds", labels, buckets, tab.v[i].bucket, NB,
			  tab.v[i].sum, tab.v[i].count);
		free(labels);
	}
	pthread_mutex_unlock(&mu);
	buf_printf(
	    &b,
	    "# HELP apiserver_current_inflight_requests Maximal number of currently used inflight request limit of "
	    "this apiserver per request kind in last second.\n# TYPE apiserver_current_inflight_requests gauge\n"
	    "apiserver_current_inflight_requests{request_kind=\"mutating\"} %ld\n"
	    "apiserver_current_inflight_requests{request_kind=\"readOnly\"} %ld\n",
	    atomic_load(&inflight_mut), atomic_load(&inflight_ro));
	buf_printf(
	    &b,
	    "# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests.\n"
	    "# TYPE apiserver_longrunning_requests gauge\n"
	    "apiserver_longrunning_requests{verb=\"WATCH\"} %ld\napiserver_longrunning_requests{verb=\"CONNECT\"} %ld\n",
	    atomic_load(&long_watch), atomic_load(&long_connect));
	buf_printf(
	    &b,
	    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n"
	    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
	    "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld\n",
	    rss_bytes(), (long long)started);
	struct store_metrics sm;
	store_metrics_read(&sm);
	prom_head(&b, "svcplane_store_commit_duration_seconds", "histogram",
		  "Time of each SQLite COMMIT (one fsync; a group of transactions).");
	prom_hist(&b, "svcplane_store_commit_duration_seconds", "", sm.bucket_le, sm.commit_bucket,
		  STORE_METRIC_BUCKETS, sm.commit_seconds_sum, sm.commits);
	buf_printf(
	    &b,
	    "# HELP svcplane_store_fsyncs_total Commits of the store, each one fsync.\n"
	    "# TYPE svcplane_store_fsyncs_total counter\nsvcplane_store_fsyncs_total %llu\n"
	    "# HELP svcplane_store_transactions_total Transactions committed (many share one fsync).\n"
	    "# TYPE svcplane_store_transactions_total counter\nsvcplane_store_transactions_total %llu\n"
	    "# HELP svcplane_store_checkpoints_total WAL checkpoints, on a thread of their own (not in a "
	    "commit).\n# TYPE svcplane_store_checkpoints_total counter\nsvcplane_store_checkpoints_total %llu\n"
	    "# HELP svcplane_store_checkpoint_seconds_total Time spent in WAL checkpoints.\n"
	    "# TYPE svcplane_store_checkpoint_seconds_total counter\nsvcplane_store_checkpoint_seconds_total "
	    "%.6f\n",
	    sm.commits, sm.txns, sm.checkpoints, sm.checkpoint_seconds_sum);
	workq_metrics_write(&b);
	http_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", "", b.data, b.len);
	buf_fini(&b);
}
