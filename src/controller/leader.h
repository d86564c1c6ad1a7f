/* leader.h - leader election on a coordination.k8s.io/v1 Lease: the decisions (pure, no I/O).
 *
 * client-go's leaderelection, step for step: a candidate reads the Lease, and
 *
 *   absent                                   -> create it, holding it (transitions 0)
 *   held by another, renewed "recently"      -> stand by (write nothing)
 *   held by another but stale, or released   -> take it: acquireTime now, transitions + 1
 *   held by me                               -> renew: renewTime now, the rest kept
 *
 * and writes it back with the resourceVersion it read (a 409 means someone else wrote
 * first: the try failed). "Recently" is judged on the local monotonic clock from when
 * this candidate last saw the Lease's spec change (client-go's observedTime), never
 * from the renewTime's wall clock, so servers' clocks need not agree; the duration is
 * the record's leaseDurationSeconds (else our own).
 *
 * A leader stays leader while its last successful write is younger than the renew
 * deadline; a leader that reads the Lease held by someone else stops at once. State:
 *
 *   STANDBY --write ok--> LEADING --no write ok for renew_deadline--> STANDBY
 *                            '------ Lease seen held by another -------^
 */
#ifndef CONTROLLER_LEADER_H
#define CONTROLLER_LEADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ctrl_leader {
	char *identity;				       /* heap */
	int64_t lease_ms, renew_deadline_ms, retry_ms; /* the candidate's own settings */
	json_t *observed_spec;			       /* the Lease spec last read (owned), or NULL */
	int64_t observed_mono_ms;		       /* when observed_spec last changed */
	bool leading;
	int64_t renewed_mono_ms; /* the last successful write while leading */
};

/* identity is copied. Durations in ms. */
void ctrl_leader_init(struct ctrl_leader *l, const char *identity, int64_t lease_ms,
		      int64_t renew_deadline_ms, int64_t retry_ms);
void ctrl_leader_fini(struct ctrl_leader *l);

/* One try to acquire or renew. lease is the Lease as read (borrowed; NULL when it does
 * not exist), ns/name where it lives, now_micro the wall clock as a metav1.MicroTime
 * ("2026-12-07T02:00:00.000000Z"). Returns a new Lease object to write (create when lease
 * was NULL, else an update carrying lease's resourceVersion), or NULL when another
 * candidate holds a fresh Lease (then a leader stops leading). Pure. */
json_t *ctrl_leader_try(struct ctrl_leader *l, const json_t *lease, const char *ns, const char *name,
			int64_t now_mono_ms, const char *now_micro);

/* The outcome of writing what ctrl_leader_try returned: written is the Lease the
 * server returned on success (borrowed), NULL when the write failed (conflict,
 * transport). Success makes (or keeps) the candidate leader. */
void ctrl_leader_written(struct ctrl_leader *l, const json_t *written, int64_t now_mono_ms);

/* Whether the candidate leads at now_mono_ms; a leader whose last successful write is
 * renew_deadline_ms old or more stops leading here. */
bool ctrl_leader_check(struct ctrl_leader *l, int64_t now_mono_ms);

/* The Lease to write to give up leadership at a clean shutdown (client-go's
 * ReleaseOnCancel): holderIdentity "" and a 1 s duration, transitions kept, so a standby
 * takes over at its next try. NULL when lease is not held by this candidate. Pure. */
json_t *ctrl_leader_release(const struct ctrl_leader *l, const json_t *lease, const char *now_micro);

/* How long to wait before the next try: retry_ms while leading; retry_ms times 1.0 to
 * 1.2 (rand01 in [0,1)) while standing by, as client-go's JitterFactor. */
int64_t ctrl_leader_next_ms(const struct ctrl_leader *l, double rand01);

#endif
