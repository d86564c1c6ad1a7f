/* prom.h - writing the Prometheus text exposition format (version 0.0.4) into a buf.
 *
 * Only the writing: each subsystem keeps its numbers as suits it (atomics, a mutex) and
 * hands them here when /metrics is read. A metric is its HELP and TYPE lines, then its
 * samples; a histogram's buckets are cumulative, as the format wants.
 */
#ifndef BASE_PROM_H
#define BASE_PROM_H

#include <stddef.h>

#include "base/buf.h"

/* The "# HELP name help" and "# TYPE name type" lines (type: counter, gauge, histogram). */
void prom_head(struct buf *b, const char *name, const char *type, const char *help);

/* A metric of one sample without labels: its HELP and TYPE lines and "name value". */
void prom_sample(struct buf *b, const char *name, const char *type, const char *help, double v);

/* The samples of one histogram (no HELP/TYPE: prom_head first, once per name): labels is
 * "" or 'k="v",...' without braces; le[0..n) are the bucket bounds and cum[0..n) the
 * cumulative counts at each, then the +Inf bucket is count. */
void prom_hist(struct buf *b, const char *name, const char *labels, const double *le,
	       const unsigned long long *cum, size_t n, double sum, unsigned long long count);

#endif
