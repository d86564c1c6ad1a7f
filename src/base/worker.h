/* worker.h - a thread that runs a pass when kicked or when a period has passed.
 *
 * The control plane's background loops (controller/namespace.c, scheduler.c,
 * ingress/status.c, apiserver/kubesvc.c, node/bgworker.c) share one shape: the thread
 * sleeps on a condition variable until it is kicked (the dirty flag) or its period
 * passes, checks the stop flag, and runs a pass with the lock released; stopping sets
 * the flag, wakes the thread and joins it. This is that shape once:
 *
 *   worker_init(&w);  worker_start(&w, fn, arg);
 *   fn:   while (worker_wait(&w, period_ms)) pass();     first pass after a kick or a period
 *   any thread: worker_kick(&w);                         the next wait returns at once
 *   worker_stop(&w);  worker_fini(&w);
 *
 * The condition variable runs on CLOCK_MONOTONIC, so a wall-clock step neither
 * stretches nor shortens a period. A kick is never lost: it sets dirty under the lock,
 * and worker_wait does not sleep while dirty is set. The stop flag is atomic, so a
 * pass may poll worker_stopping() without the lock. The owner may guard its own state
 * with w.mu too (node/bgworker.c does); it then waits with worker_wait_locked.
 */
#ifndef BASE_WORKER_H
#define BASE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct worker {
	pthread_mutex_t mu; /* guards dirty (and whatever the owner adds) */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	pthread_t th;
	atomic_bool stop;
	bool dirty;   /* kicked since the last worker_wait returned */
	bool started; /* th is running (worker_start succeeded) */
};

/* Initialises w's lock and condition, not stopping, not dirty, no thread. */
void worker_init(struct worker *w);
/* Runs fn(arg) on a new thread. Returns 0, or pthread_create's error as a negative errno
 * (the thread is then not running, and worker_stop only sets the flag). */
int worker_start(struct worker *w, void *(*fn)(void *), void *arg);
/* Marks w dirty and wakes its thread (takes w->mu; never blocks otherwise). */
void worker_kick(struct worker *w);
/* For w's thread, without w->mu: sleeps until kicked, period_ms passed, or stopping; a
 * kick that came before the call returns at once. Clears dirty. Returns false once
 * stopping (the thread should then return), true to run a pass. */
bool worker_wait(struct worker *w, int64_t period_ms);
/* With w->mu held: one wait on the condition for at most ms (returns early when kicked,
 * stopped or spuriously woken; the caller re-checks its own state). */
void worker_wait_locked(struct worker *w, int64_t ms);
/* Whether worker_stop has been called (no lock needed). */
bool worker_stopping(struct worker *w);
/* Sets the stop flag, wakes the thread and joins it (when started). Must not be called
 * from w's thread, nor with w->mu held. */
void worker_stop(struct worker *w);
/* Destroys w's lock and condition (after worker_stop, or when never started). */
void worker_fini(struct worker *w);

#endif
