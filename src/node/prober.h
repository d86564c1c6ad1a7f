/* prober.h - the node agent's probes (see prober.c). Agent thread only; nothing here
 * blocks: checks are advanced without waiting and API writes are queued. */
#ifndef NODE_PROBER_H
#define NODE_PROBER_H

#include <poll.h>

#include "node/podctx.h"

/* (Re)builds the pod's probe records from its spec (startup probes first); a probe that
 * does not parse is logged and skipped. */
void node__probes_init(struct apod *p);
/* Advances the pod's probes at the current time: notices new container runs (a re-adopted
 * container whose startup probe had passed is not probed again, as kubelet), starts due
 * checks, records finished ones, restarts containers whose liveness/startup probe
 * failed. Appends the fds to wait on to fds (up to cap) and returns the earliest
 * deadline the probes need (ms, monotonic), INT64_MAX when none. */
int64_t node__probes_step(struct node_agent *a, struct apod *p, struct pollfd *fds, size_t *nfds, size_t cap);

#endif
