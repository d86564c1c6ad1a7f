/* clock.h - the monotonic clock, the one every timeout, deadline and duration reads (a
 * step of the wall clock must not stretch or cut them): now in ms, ns or seconds, a
 * deadline for pthread_cond_timedwait, and a condition variable that waits on it. */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in milliseconds / nanoseconds / seconds. */
int64_t clock_mono_ms(void);
int64_t clock_mono_ns(void);
double clock_mono_s(void);

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on a condition made by
 * clock_cond_init_mono. */
struct timespec clock_mono_deadline(int64_t ms);

/* Initializes cv to wait on CLOCK_MONOTONIC deadlines. */
void clock_cond_init_mono(pthread_cond_t *cv);

#endif
