/* test_worker.c - base/worker.h: a kick makes the next wait return at once (also a kick
 * that came before the wait), a period ends a wait with no kick, and stop wakes a thread
 * that sleeps through a long period and joins it. No timing is asserted beyond "returns". */
#include <stdatomic.h>
#include <time.h>

#include "base/worker.h"
#include "harness/t.h"

TEST(worker_wait_kick_period_stop)
{
	struct worker w;
	worker_init(&w);
	worker_kick(&w); /* before the wait: not lost */
	ASSERT(w.dirty);
	ASSERT(worker_wait(&w, 60000));
	ASSERT(!w.dirty);
	ASSERT(worker_wait(&w, 1)); /* the period passes */
	ASSERT(!worker_stopping(&w));
	worker_stop(&w); /* never started: only the flag */
	ASSERT(worker_stopping(&w));
	ASSERT(!worker_wait(&w, 60000));
	worker_kick(&w);
	ASSERT(!worker_wait(&w, 60000));
	worker_fini(&w);
}

struct counter {
	struct worker w;
	atomic_int passes;
	atomic_int done;
};

static void *count_main(void *arg)
{
	struct counter *c = arg;
	while (worker_wait(&c->w, 600000))
		atomic_fetch_add(&c->passes, 1);
	atomic_store(&c->done, 1);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

TEST(worker_thread_kicked_then_stopped)
{
	struct counter c = {.passes = 0, .done = 0};
	worker_init(&c.w);
	ASSERT_INT_EQ(worker_start(&c.w, count_main, &c), 0);
	worker_kick(&c.w);
	for (int i = 0; i < 500 && atomic_load(&c.passes) < 1; i++)
		sleep_ms(10);
	ASSERT_INT_EQ(atomic_load(&c.passes), 1);
	/* The thread sleeps through a 10-minute period: stop wakes and joins it. */
	worker_stop(&c.w);
	ASSERT_INT_EQ(atomic_load(&c.done), 1);
	ASSERT_INT_EQ(atomic_load(&c.passes), 1);
	ASSERT(!c.w.started);
	worker_stop(&c.w); /* again: a no-op */
	worker_fini(&c.w);
}
