/* wlmanager.h - the workload controllers: ReplicaSet, ReplicationController, Deployment,
 * StatefulSet, DaemonSet, the garbage collector (ownerReferences) and the ServiceAccount
 * controller (a "default" ServiceAccount in every namespace).
 *
 * A controller manager of its own beside controller/manager.c (informers, one queue, one
 * worker thread), as kube-controller-manager runs these loops beside the endpoint ones:
 * each can change without the other. Its decisions are the pure functions of
 * controller/workloads.c; everything it does is an API write through the admin
 * kubeconfig.
 */
#ifndef CONTROLLER_WLMANAGER_H
#define CONTROLLER_WLMANAGER_H

#include <stddef.h>

#include "client/client.h"

struct ctrl_workloads;

/* Starts the informers and the worker; waits up to 10 s for the first lists. cfg is
 * copied. Returns 0 with *out, or a negative code with the reason in err. */
int ctrl_workloads_start(const struct client_config *cfg, struct ctrl_workloads **out, char *err,
			 size_t errlen);
/* Stops the worker and the informers (about a second) and frees everything; NULL is a
 * no-op. */
void ctrl_workloads_stop(struct ctrl_workloads *w);

#endif
