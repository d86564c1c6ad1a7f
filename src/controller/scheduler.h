/* scheduler.h - the pod scheduler: binds pods without spec.nodeName to a Ready node.
 *
 * A tiny controller of its own (pods and nodes informers, one worker thread), kept apart
 * from the controller manager so each can change without the other. Policy: among the
 * Nodes whose Ready condition is True, that are not unschedulable and whose labels match
 * the pod's spec.nodeSelector, the one with the
 * fewest non-terminated pods bound to it, ties by name; the choice itself is the pure
 * sched_pick_node(). The bind is a JSON merge patch of spec.nodeName; Kubernetes' scheduler
 * POSTs the pods/binding subresource instead, which this API server does not serve yet.
 * Pods whose spec.schedulerName names another scheduler are left alone.
 */
#ifndef CONTROLLER_SCHEDULER_H
#define CONTROLLER_SCHEDULER_H

#include <jansson.h>
#include <stddef.h>

#include "client/client.h"

struct sched;

/* Starts the informers and the worker, waits up to 10 s for the first lists. cfg is
 * copied. Returns 0 with *out, or a negative code with the reason in err. */
int sched_start(const struct client_config *cfg, struct sched **out, char *err, size_t errlen);
/* Stops the worker and informers (about a second) and frees everything; NULL is a no-op. */
void sched_stop(struct sched *s);

/* The node for a new pod given all nodes and all pods (JSON arrays, borrowed), or NULL
 * when no node is Ready. extra (may be NULL) is an object node name -> integer of binds
 * made but not seen in pods yet. Returns a string owned by nodes. Pure. */
const char *sched_pick_node(const json_t *nodes, const json_t *pods, const json_t *extra);
/* Like sched_pick_node for pod (borrowed; NULL = any pod), whose spec.nodeSelector a node's
 * labels must match. When no node fits, returns NULL and writes kube-scheduler's FitError
 * message to why ("0/3 nodes are available: 1 node(s) didn't match Pod's node
 * affinity/selector, 2 node(s) were unschedulable. preemption: ..."). Pure. */
const char *sched_pick_node_for(const json_t *pod, const json_t *nodes, const json_t *pods,
				const json_t *extra, char *why, size_t whylen);

#endif
