/* bgworker.h - the part the agent's API worker threads share (node/satokens.c,
 * node/objcache.c): a mutex, a CLOCK_MONOTONIC condition variable, a stop flag, a thread
 * and its own API connection. The owner embeds struct node_bg first in its record. */
#ifndef NODE_BGWORKER_H
#define NODE_BGWORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

struct node_bg {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	atomic_int stop;
	struct client *cl;
};

/* Initializes b, makes its client for cfg (copied) and runs fn(arg) on a new thread.
 * Returns 0, or -1 with "starting the <what>: <reason>" in err (b released). */
int node_bg_start(struct node_bg *b, const struct client_config *cfg, void *(*fn)(void *), void *arg,
		  const char *what, char *err, size_t errlen);
/* Waits on b's condition for at most ms (b->mu held). */
void node_bg_wait_ms(struct node_bg *b, int64_t ms);
/* Wakes the thread (takes b->mu). */
void node_bg_signal(struct node_bg *b);
/* Sets the stop flag, wakes and joins the thread, frees the client and the lock. */
void node_bg_stop(struct node_bg *b);

#endif
