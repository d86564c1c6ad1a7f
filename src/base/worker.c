/* worker.c - a thread that runs a pass when kicked or when a period has passed (see
 * worker.h). */
#include "base/worker.h"

#include <errno.h>
#include <time.h>

#include "base/clock.h"

void worker_init(struct worker *w)
{
	pthread_mutex_init(&w->mu, NULL);
	clock_cond_init_mono(&w->cv);
	atomic_store(&w->stop, false);
	w->dirty = false;
	w->started = false;
}

int worker_start(struct worker *w, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(&w->th, NULL, fn, arg);
	if (rc != 0)
		return -rc;
	w->started = true;
	return 0;
}

void worker_kick(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->dirty = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void worker_wait_locked(struct worker *w, int64_t ms)
{
	struct timespec ts = clock_mono_deadline(ms);
	pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

bool worker_wait(struct worker *w, int64_t period_ms)
{
	struct timespec ts = clock_mono_deadline(period_ms);
	pthread_mutex_lock(&w->mu);
	/* Spurious wake-ups sleep again until the deadline. */
	while (!w->dirty && !atomic_load(&w->stop))
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
			break;
	w->dirty = false;
	bool go = !atomic_load(&w->stop);
	pthread_mutex_unlock(&w->mu);
	return go;
}

bool worker_stopping(struct worker *w)
{
	return atomic_load(&w->stop);
}

void worker_stop(struct worker *w)
{
	/* The flag is set under the lock, so a thread between its check and its wait cannot
	 * miss the signal. */
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, true);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started) {
		pthread_join(w->th, NULL);
		w->started = false;
	}
}

void worker_fini(struct worker *w)
{
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}
