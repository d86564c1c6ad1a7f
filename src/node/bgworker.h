/* bgworker.h - the part the agent's API worker threads share (node/satokens.c,
 * node/objcache.c, node/writer.c): a base/worker.h thread (mutex, CLOCK_MONOTONIC condition
 * variable, stop flag) and its own API connection. The owner embeds struct node_bg first in
 * its record, guards its own state with bg.w.mu and waits with node_bg_wait_ms. */
#ifndef NODE_BGWORKER_H
#define NODE_BGWORKER_H

#include <stddef.h>
#include <stdint.h>

#include "base/worker.h"
#include "client/client.h"

struct node_bg {
	struct worker w;
	struct client *cl;
	void (*wake)(void *ud); /* tells the owner's user that results changed; may be NULL */
	void *ud;
};

/* Allocates the owner's zeroed record of size bytes (struct node_bg first), makes its
 * client for cfg (copied) and runs fn(record) on a new thread; wake(ud) is node_bg_wake's.
 * Returns the record (the caller's), or NULL with "starting the <what>: <reason>" in err. */
void *node_bg_new(size_t size, const struct client_config *cfg, void *(*fn)(void *), const char *what,
		  void (*wake)(void *ud), void *ud, char *err, size_t errlen);
/* Calls wake(ud), when set, with b->w.mu released for the call (b->w.mu held). */
void node_bg_wake(struct node_bg *b);
/* Waits on b's condition for at most ms (b->w.mu held; worker_wait_locked). */
void node_bg_wait_ms(struct node_bg *b, int64_t ms);
/* Sets the stop flag, wakes and joins the thread, frees the client and the lock. */
void node_bg_stop(struct node_bg *b);

#endif
