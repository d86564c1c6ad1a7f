/* workq.h - client-go's workqueue metrics for the process's work queues.
 *
 * The controller managers (controller/manager.c, wlmanager.c) keep their own queues; each
 * registers one named set of counters here and reports adds, gets, finished work and
 * retries. The API server's /metrics (apiserver/metrics.c) prints them with client-go's
 * names, so the same dashboards read kube-controller-manager and svcplane:
 *
 *   workqueue_adds_total{name}                       counter (an add of a key already
 *                                                    queued does not count, as in client-go)
 *   workqueue_depth{name}                            gauge
 *   workqueue_queue_duration_seconds{name}           histogram, add to get
 *   workqueue_work_duration_seconds{name}            histogram, get to done
 *   workqueue_retries_total{name}                    counter
 *   workqueue_unfinished_work_seconds{name}          gauge, how long the work in progress
 *                                                    has run
 *   workqueue_longest_running_processor_seconds{name} gauge (one worker: the same)
 *
 * Buckets are client-go's (10 ns to 10 s, by 10). The registry is process-wide, fixed
 * size (WORKQ_MAX names), and every call is thread-safe (one mutex; calls are a few per
 * reconcile).
 */
#ifndef BASE_WORKQ_H
#define BASE_WORKQ_H

#include <stdint.h>

#include "base/buf.h"

#define WORKQ_MAX 8

struct workq_metrics;

/* The metrics of queue name (registered on first use; the same name gives the same set).
 * name is copied. Never NULL: past WORKQ_MAX names the last slot is shared. */
struct workq_metrics *workq_metrics_get(const char *name);
/* A key was queued that was not queued already. */
void workq_metrics_added(struct workq_metrics *q);
/* A key queued at added_ns (clock_mono_ns) was taken by the worker. */
void workq_metrics_got(struct workq_metrics *q, int64_t added_ns);
/* The worker finished the key it took last. */
void workq_metrics_done(struct workq_metrics *q);
/* A key is queued again after a failure (count it with _added too when it was not queued). */
void workq_metrics_retry(struct workq_metrics *q);
/* Appends every registered queue's metrics in the Prometheus text format. */
void workq_metrics_write(struct buf *b);

#endif
