/* pods.h - the node agent's pod lifecycle (see pods.c). Agent thread only. */
#ifndef NODE_PODS_H
#define NODE_PODS_H

#include "node/podctx.h"

/* One pass over the pods informer: new pods bound to this node start (their status is
 * queued at once), deleted or terminating ones stop and, once their processes are gone,
 * are torn down. The first pass also removes netns, veths and pod IPs of no known pod.
 * Blocks only for local work (a container start waits for its exec, bounded). */
void node__pods_reconcile(struct node_agent *a);

#endif
