/* bgworker.c - the agent's API worker threads' common part (see bgworker.h). */
#include "node/bgworker.h"

#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void release(struct node_bg *b)
{
	client_free(b->cl);
	b->cl = NULL;
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
}

void *node_bg_new(size_t size, const struct client_config *cfg, void *(*fn)(void *), const char *what,
		  void (*wake)(void *ud), void *ud, char *err, size_t errlen)
{
	struct node_bg *b = xcalloc(1, size);
	b->wake = wake;
	b->ud = ud;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&b->stop, 0);
	b->cl = client_new(cfg, 10000);
	int rc = pthread_create(&b->th, NULL, fn, b);
	if (rc != 0) {
		snprintf(err, errlen, "starting the %s: %s", what, strerror(rc));
		release(b);
		free(b);
		return NULL;
	}
	return b;
}

void node_bg_wake(struct node_bg *b)
{
	if (!b->wake)
		return;
	pthread_mutex_unlock(&b->mu);
	b->wake(b->ud);
	pthread_mutex_lock(&b->mu);
}

void node_bg_wait_ms(struct node_bg *b, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&b->cv, &b->mu, &ts);
}

void node_bg_signal(struct node_bg *b)
{
	pthread_mutex_lock(&b->mu);
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void node_bg_stop(struct node_bg *b)
{
	atomic_store(&b->stop, 1);
	node_bg_signal(b);
	pthread_join(b->th, NULL);
	release(b);
}
