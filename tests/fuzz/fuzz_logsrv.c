/* fuzz_logsrv.c - libFuzzer target for the log endpoint's parsers of request bytes
 * (node/logsrv.c): the /containerLogs/{ns}/{pod}/{container} path, the query string and
 * "where do the last N lines start".
 *
 * Input: "<path>\n<query>\n<log bytes>"; the first byte of the input also picks N. Checks
 * beyond "no crash": an accepted path yields three names that are safe as file names (no
 * '/', not "." or "..", not empty); a query is accepted or refused with a message; the
 * tail offset is within the buffer, starts a line, and block-by-block scanning from the
 * end gives the same offset as one pass.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/logsrv_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool safe_name(const char *s)
{
	return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') && !strchr(s, '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	long long n = data[0] % 16;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	/* Path and query stop at NULs as C strings do; the log bytes need not. */
	char *path = s, *nl = memchr(s, '\n', size);
	char *query = nl ? nl + 1 : s + size;
	if (nl)
		*nl = 0;
	size_t qlen = (size_t)(s + size - query);
	char *nl2 = memchr(query, '\n', qlen);
	const char *logb = nl2 ? nl2 + 1 : s + size;
	if (nl2)
		*nl2 = 0;
	size_t loglen = (size_t)(s + size - logb);

	char *ns = NULL, *pod = NULL, *ctr = NULL;
	int rc = node__logsrv_path_parse(path, &ns, &pod, &ctr);
	if (rc != 0 && rc != -ENOENT)
		abort();
	if (rc == 0 && (!safe_name(ns) || !safe_name(pod) || !safe_name(ctr)))
		abort();
	free(ns);
	free(pod);
	free(ctr);

	struct node__logsrv_query q;
	char err[256];
	err[0] = 0;
	rc = node__logsrv_query_parse(query, &q, err, sizeof(err));
	if (rc != 0 && (rc != -EINVAL || !err[0] || !memchr(err, 0, sizeof(err))))
		abort();
	if (rc == 0 &&
	    (q.tail_lines < -1 || q.limit_bytes == 0 || q.limit_bytes < -1 || q.since_seconds == 0))
		abort();

	size_t off = node__logsrv_tail_start(logb, loglen, n);
	if (off > loglen || (off > 0 && off < loglen && logb[off - 1] != '\n'))
		abort();
	long long rem = n, end = (long long)loglen, got = -1;
	for (int guard = 0; guard < 1 << 20 && got < 0; guard++) {
		long long base = end > 7 ? end - 7 : 0;
		got =
		    node__logsrv_tail_scan(logb + base, (size_t)(end - base), base, (long long)loglen, &rem);
		end = base;
	}
	if (got != (long long)off)
		abort();
	free(s);
	return 0;
}
