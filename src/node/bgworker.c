/* bgworker.c - the agent's API worker threads' common part (see bgworker.h). */
#include "node/bgworker.h"

#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void release(struct node_bg *b)
{
	client_free(b->cl);
	b->cl = NULL;
	worker_fini(&b->w);
}

void *node_bg_new(size_t size, const struct client_config *cfg, void *(*fn)(void *), const char *what,
		  void (*wake)(void *ud), void *ud, char *err, size_t errlen)
{
	struct node_bg *b = xcalloc(1, size);
	b->wake = wake;
	b->ud = ud;
	worker_init(&b->w);
	b->cl = client_new(cfg, 10000);
	int rc = worker_start(&b->w, fn, b);
	if (rc < 0) {
		snprintf(err, errlen, "starting the %s: %s", what, strerror(-rc));
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
	pthread_mutex_unlock(&b->w.mu);
	b->wake(b->ud);
	pthread_mutex_lock(&b->w.mu);
}

void node_bg_wait_ms(struct node_bg *b, int64_t ms)
{
	worker_wait_locked(&b->w, ms);
}

void node_bg_stop(struct node_bg *b)
{
	worker_stop(&b->w);
	release(b);
}
