/* test_workq.c - the workqueue metrics registry: client-go's names and semantics (an
 * add counts once until the key is taken, depth follows adds and gets, durations land in
 * 10 ns..10 s buckets), and the Prometheus text the API server's /metrics serves. */
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/workq.h"
#include "harness/t.h"

TEST(workq_metrics_count_and_print)
{
	struct workq_metrics *q = workq_metrics_get("t-unit");
	struct buf b;

	ASSERT(workq_metrics_get("t-unit") == q);
	workq_metrics_added(q);
	workq_metrics_added(q);
	int64_t t0 = clock_mono_ns();
	workq_metrics_got(q, t0);
	workq_metrics_done(q);
	workq_metrics_retry(q);
	buf_init(&b);
	workq_metrics_write(&b);
	ASSERT_STR_CONTAINS(b.data, "# TYPE workqueue_adds_total counter\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_adds_total{name=\"t-unit\"} 2\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_depth{name=\"t-unit\"} 1\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_retries_total{name=\"t-unit\"} 1\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_queue_duration_seconds_count{name=\"t-unit\"} 1\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_queue_duration_seconds_bucket{name=\"t-unit\",le=\"10\"} 1\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_queue_duration_seconds_bucket{name=\"t-unit\",le=\"1e-08\"}");
	ASSERT_STR_CONTAINS(b.data,
			    "workqueue_work_duration_seconds_bucket{name=\"t-unit\",le=\"+Inf\"} 1\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_unfinished_work_seconds{name=\"t-unit\"} 0.000000000\n");
	ASSERT_STR_CONTAINS(b.data, "workqueue_longest_running_processor_seconds{name=\"t-unit\"}");
	buf_fini(&b);
	/* Work in progress shows as unfinished. */
	workq_metrics_got(q, 0);
	buf_init(&b);
	workq_metrics_write(&b);
	ASSERT_STR_CONTAINS(b.data, "workqueue_depth{name=\"t-unit\"} 0\n");
	ASSERT(strstr(b.data, "workqueue_unfinished_work_seconds{name=\"t-unit\"} 0.000000000\n") == NULL);
	buf_fini(&b);
	workq_metrics_done(q);
}
