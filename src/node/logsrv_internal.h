/* logsrv_internal.h - the pure parts of node/logsrv.c (paths, queries, tails), for its
 * unit test and fuzz target only; logsrv.h is the agent's contract. */
#ifndef NODE_LOGSRV_INTERNAL_H
#define NODE_LOGSRV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node__logsrv_query {
	bool follow, previous, timestamps;
	long long tail_lines;	 /* -1: every line */
	long long limit_bytes;	 /* -1: no limit */
	long long since_seconds; /* -1: not given */
	bool has_since_time;
	int64_t since_time; /* epoch seconds, when has_since_time */
};
/* Splits "/containerLogs/{ns}/{pod}/{container}" into heap strings. Each name must be
 * 1..253 bytes of [a-z0-9.-] and not "." or ".." (they become file names). Returns 0, or
 * -ENOENT when path is not of that form (nothing is allocated then). */
int node__logsrv_path_parse(const char *path, char **ns, char **pod, char **container);
/* Parses the query string (raw, without '?'). Returns 0, or -EINVAL with a sentence in
 * err (`tailLines: Invalid value: -1: must be greater than or equal to 0`). */
int node__logsrv_query_parse(const char *query, struct node__logsrv_query *q, char *err, size_t errlen);
/* One step of "where do the last N lines start", scanning backwards: blk holds the file's
 * bytes [base, base+len) of total. *remaining is the number of line starts still to find
 * (N at first; the caller keeps it between blocks, from the end of the file towards its
 * start). Returns the offset where the last N lines start, or -1 when the block did not
 * contain it (go on with the block before; at offset 0 the answer is 0). */
long long node__logsrv_tail_scan(const char *blk, size_t len, long long base, long long total,
				 long long *remaining);
/* Offset in buf[0..len) where its last n lines start (n >= 0). */
size_t node__logsrv_tail_start(const char *buf, size_t len, long long n);

#endif
