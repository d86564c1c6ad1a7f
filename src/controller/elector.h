/* elector.h - runs leader election on a Lease through the API and starts and stops the
 * caller's work with it (kube-controller-manager's --leader-elect).
 *
 * Two threads: the elector reads and writes the Lease every retry period (the decisions
 * are controller/leader.c's), and a runner calls on_start when this candidate becomes
 * leader and on_stop when it stops leading, so a slow start (informers syncing) never
 * delays a renewal. kube-controller-manager exits when it loses its Lease; a svcplane
 * server also serves the API and runs its node's agent, so it stops only the work it was
 * given and stands by again.
 */
#ifndef CONTROLLER_ELECTOR_H
#define CONTROLLER_ELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

struct ctrl_elector_opts {
	const struct client_config *cfg; /* how to reach the API (copied) */
	const char *lease_namespace;	 /* "kube-system" */
	const char *lease_name;		 /* "kube-controller-manager" */
	const char *identity;		 /* NULL: "<hostname>_<uuid>", as kube-controller-manager */
	int64_t lease_ms, renew_deadline_ms, retry_ms;
	/* Called on the runner thread, never at the same time; they may block (start waits
	 * for informers). on_stop is also called by ctrl_elector_stop while leading. */
	void (*on_start)(void *ud);
	void (*on_stop)(void *ud);
	void *ud;
};

struct ctrl_elector;

/* Checks the durations as client-go does: lease > renew deadline > retry period * 1.2,
 * lease at least 1 s, retry positive. Returns 0, or -EINVAL with the reason in err. Pure. */
int ctrl_elector_check(int64_t lease_ms, int64_t renew_deadline_ms, int64_t retry_ms, char *err,
		       size_t errlen);

/* Checks the durations (ctrl_elector_check) and starts both threads. Returns 0, or
 * -EINVAL with the reason in err. */
int ctrl_elector_start(const struct ctrl_elector_opts *o, struct ctrl_elector **out, char *err,
		       size_t errlen);
/* Stops electing, stops the work if it runs (on_stop), and, when leading, releases the
 * Lease so a standby takes over at its next try. Waits for both threads. NULL is a
 * no-op. */
void ctrl_elector_stop(struct ctrl_elector *e);
/* Whether this candidate leads now. */
bool ctrl_elector_leading(struct ctrl_elector *e);
/* The holderIdentity this candidate writes. Borrowed, lives as long as e. */
const char *ctrl_elector_identity(const struct ctrl_elector *e);

#endif
