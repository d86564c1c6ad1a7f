/* status.h - what the node agent tells the API: the Node (registration, status with its
 * Ready condition, the heartbeat) and each pod's status as kubelet writes it. While the
 * loop runs every write goes through the writer thread (node/writer.h); only
 * registration (before the loop) and the last NotReady (after it) are synchronous.
 */
#ifndef NODE_STATUS_H
#define NODE_STATUS_H

#include "node/podctx.h"

/* Creates the Node (or adopts an existing one) and writes its Ready status. Blocks for
 * the API round trips (retried up to 10 s while the server starts). Returns 0 or -EIO
 * with a sentence in err. Before the loop starts only. */
int node__node_register(struct node_agent *a, char *err, size_t errlen);
/* Writes the Node's status: queued for the writer (sync false, from the loop) or at once
 * (sync true, after the loop stopped; returns 0 or -EIO). The Ready condition's
 * lastTransitionTime is kept from the stored Node while its status is unchanged. */
int node__node_report(struct node_agent *a, bool ready, const char *reason, const char *message, bool sync);
/* Queues the heartbeat when it is due; returns when the next one is (ms, monotonic). */
int64_t node__node_heartbeat(struct node_agent *a, int64_t now);
/* Fills a->kernel and a->os_image from uname and /etc/os-release. */
void node__host_info(struct node_agent *a);
/* Queues the pod's status when it changed since the last write (and an adopted pod has
 * its first readiness results). Never blocks on the API. */
void node__pod_report(struct node_agent *a, struct apod *p);

#endif
