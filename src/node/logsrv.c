/* logsrv.c - the agent's kubelet-style container log endpoint (see logsrv.h).
 *
 * One request is: check the bearer token, parse the path and the query (pure functions,
 * unit-tested), find the log file, then send a byte range of it, or stream it (follow).
 *
 * Choosing the file: the pod directories of <log_dir> are "<ns>_<pod>_<uid>"; Kubernetes
 * names never contain '_' (and we refuse names that do), so the prefix "<ns>_<pod>_"
 * names exactly the directories of that pod. Among several (a pod deleted and made
 * again under the same name), the one whose container directory changed last wins. In
 * the container directory the instances are <n>.log; current = highest n, previous = the
 * highest below it.
 *
 * What the options mean here, given that the files are raw bytes without per-line times:
 *   tailLines    the last N lines ('\n'-terminated; an unterminated last line counts)
 *   limitBytes   at most N bytes from where the output starts (after tailLines)
 *   sinceSeconds, sinceTime
 *                the whole instance when its file was written at or after the limit
 *                (mtime), nothing of what is already there otherwise (follow still
 *                streams what is written from now on). Not per line: we do not know when
 *                each line was written.
 *   timestamps   accepted and ignored: inventing times for lines would be dishonest.
 *   follow       after the existing bytes, poll the file every FOLLOW_POLL_MS for new
 *                ones; end when the client goes (or the server stops: http_conn_closed),
 *                when limitBytes is reached, when <n+1>.log appears (the container
 *                restarted; the rest of <n>.log is sent first) or when the container
 *                directory vanishes (the pod was removed), or when the file turns
 *                read-only (the runtime does that once the container's run has exited,
 *                node/runtime.h), as kubelet ends a follow when the container exits.
 *
 * Errors are plain text bodies, as kubelet's are (the API server turns them into a
 * Status): 401 without the token, 404 for an unknown path, pod or container, 400 for a
 * bad query value or a missing previous instance, 405 for a method other than GET.
 * Threading: the handler runs on httpd's connection threads; struct node_logsrv is
 * read-only after start, so no locks.
 */
#include "node/logsrv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"
#include "dns/metrics.h"
#include "node/lbannounce.h"
#include "http/http.h"
#include "http/pki.h"

#include "node/execsrv.h"
#include "node/pfsrv.h"
#include "node/logsrv_internal.h"
#include "proxy/proxy.h"

#define FOLLOW_POLL_MS 150
#define READ_BLOCK 65536
/* Non-follow answers up to this size go out with Content-Length; larger ones chunked. */
#define WHOLE_MAX (1 << 20)
#define NAME_MAX_LEN 253

struct node_logsrv {
	struct httpd *httpd;
	_Atomic(node_exec_lookup) exec_fn; /* NULL until the agent wires exec */
	void *_Atomic exec_ud;
	char *log_dir;
	char *token;
};

/* ---- pure parts ---- */

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int node__logsrv_path_parse(const char *path, char **ns, char **pod, char **container)
{
	static const char prefix[] = "/containerLogs/";
	if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return -ENOENT;
	const char *p = path + sizeof(prefix) - 1;
	const char *seg[3];
	size_t len[3];
	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(p, "/");
		if (!name_ok(p, n))
			return -ENOENT;
		seg[i] = p;
		len[i] = n;
		p += n;
		if (i < 2) {
			if (*p != '/')
				return -ENOENT;
			p++;
		}
	}
	if (*p)
		return -ENOENT;
	*ns = xasprintf("%.*s", (int)len[0], seg[0]);
	*pod = xasprintf("%.*s", (int)len[1], seg[1]);
	*container = xasprintf("%.*s", (int)len[2], seg[2]);
	return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False", ""};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i]))
			return *out = true, 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(s, f[i]))
			return *out = false, 0;
	return -EINVAL;
}

/* A decimal int64 (optional sign), nothing else. */
static int parse_int(const char *s, long long *out)
{
	if (!*s)
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
		return -EINVAL;
	*out = v;
	return 0;
}

int node__logsrv_query_parse(const char *query, struct node__logsrv_query *q, char *err, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	q->tail_lines = q->limit_bytes = q->since_seconds = -1;
	int rc = 0;
	static const char *const bools[] = {"follow", "previous", "timestamps"};
	bool *bdst[] = {&q->follow, &q->previous, &q->timestamps};
	for (size_t i = 0; i < 3 && !rc; i++) {
		char *v = http_query_get(query ? query : "", bools[i]);
		if (v && parse_bool(v, bdst[i]) < 0) {
			snprintf(err, errlen, "%s: Invalid value: \"%s\": must be a boolean", bools[i], v);
			rc = -EINVAL;
		}
		free(v);
	}
	static const char *const ints[] = {"tailLines", "limitBytes", "sinceSeconds"};
	long long *idst[] = {&q->tail_lines, &q->limit_bytes, &q->since_seconds};
	static const long long mins[] = {0, 1, 1};
	static const char *const why[] = {"must be greater than or equal to 0", "must be greater than 0",
					  "must be greater than 0"};
	for (size_t i = 0; i < 3 && !rc; i++) {
		char *v = http_query_get(query ? query : "", ints[i]);
		long long n = 0;
		if (v && parse_int(v, &n) < 0) {
			snprintf(err, errlen, "%s: Invalid value: \"%s\": must be an integer", ints[i], v);
			rc = -EINVAL;
		} else if (v && n < mins[i]) {
			snprintf(err, errlen, "%s: Invalid value: %lld: %s", ints[i], n, why[i]);
			rc = -EINVAL;
		} else if (v) {
			*idst[i] = n;
		}
		free(v);
	}
	if (!rc) {
		char *v = http_query_get(query ? query : "", "sinceTime");
		if (v) {
			int64_t t = api_time_parse(v);
			if (t == -1 && strcmp(v, "1969-12-31T23:59:59Z") != 0) {
				snprintf(err, errlen,
					 "sinceTime: Invalid value: \"%s\": must be an RFC 3339 time", v);
				rc = -EINVAL;
			} else {
				q->has_since_time = true;
				q->since_time = t;
			}
		}
		free(v);
	}
	if (!rc && q->has_since_time && q->since_seconds >= 0) {
		snprintf(err, errlen, "at most one of `sinceTime` or `sinceSeconds` may be specified");
		rc = -EINVAL;
	}
	return rc;
}

long long node__logsrv_tail_scan(const char *blk, size_t len, long long base, long long total,
				 long long *remaining)
{
	if (*remaining <= 0)
		return total;
	for (size_t i = len; i-- > 0;) {
		if (blk[i] != '\n')
			continue;
		/* The file's last byte ends the last line; it does not start one. */
		if (base + (long long)i == total - 1)
			continue;
		if (--*remaining == 0)
			return base + (long long)i + 1;
	}
	return base == 0 ? 0 : -1;
}

size_t node__logsrv_tail_start(const char *buf, size_t len, long long n)
{
	long long rem = n;
	long long off = node__logsrv_tail_scan(buf, len, 0, (long long)len, &rem);
	return off < 0 ? 0 : (size_t)off;
}

/* ---- files ---- */

static bool is_number(const char *s, long *out)
{
	if (!*s || strlen(s) > 9)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*out = strtol(s, NULL, 10);
	return true;
}

/* The newest "<ns>_<pod>_<uid>" directory that has the container, as a heap path to its
 * container directory; NULL when none. *pod_seen tells whether any directory of the pod
 * exists (for the message). */
static char *find_container_dir(const char *log_dir, const char *ns, const char *pod, const char *container,
				bool *pod_seen)
{
	*pod_seen = false;
	DIR *d = opendir(log_dir);
	if (!d)
		return NULL;
	char *prefix = xasprintf("%s_%s_", ns, pod);
	size_t plen = strlen(prefix);
	char *best = NULL;
	struct timespec best_t = {0};
	struct dirent *e;
	for (int n = 0; n < 100000 && (e = readdir(d)); n++) {
		if (strncmp(e->d_name, prefix, plen) != 0 || !e->d_name[plen] ||
		    strchr(e->d_name + plen, '_'))
			continue;
		*pod_seen = true;
		char *cd = xasprintf("%s/%s/%s", log_dir, e->d_name, container);
		struct stat st;
		if (stat(cd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(cd);
			continue;
		}
		if (!best || st.st_mtim.tv_sec > best_t.tv_sec ||
		    (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
			free(best);
			best = cd;
			best_t = st.st_mtim;
		} else {
			free(cd);
		}
	}
	closedir(d);
	free(prefix);
	return best;
}

/* The highest and second-highest instance numbers in dir (-1 when absent). */
static void instances(const char *dir, long *cur, long *prev)
{
	*cur = *prev = -1;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	for (int n = 0; n < 100000 && (e = readdir(d)); n++) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".log") != 0)
			continue;
		char num[16];
		if (l - 4 >= sizeof(num))
			continue;
		memcpy(num, e->d_name, l - 4);
		num[l - 4] = 0;
		long v;
		if (!is_number(num, &v))
			continue;
		if (v > *cur) {
			*prev = *cur;
			*cur = v;
		} else if (v > *prev && v != *cur) {
			*prev = v;
		}
	}
	closedir(d);
}

/* Where the last n lines of fd (size bytes) start, reading backwards block by block. */
static long long file_tail_start(int fd, long long size, long long n)
{
	if (n <= 0)
		return size;
	char *blk = xmalloc(READ_BLOCK);
	long long rem = n, end = size, found = 0;
	while (end > 0) {
		long long base = end > READ_BLOCK ? end - READ_BLOCK : 0;
		size_t want = (size_t)(end - base), got = 0;
		while (got < want) {
			ssize_t r = pread(fd, blk + got, want - got, base + (long long)got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got < want) {
			found = 0; /* the file shrank under us: send it all */
			break;
		}
		long long off = node__logsrv_tail_scan(blk, want, base, size, &rem);
		if (off >= 0) {
			found = off;
			break;
		}
		end = base;
	}
	free(blk);
	return found;
}

/* ---- serving ---- */

static void send_text(struct http_conn *c, int status, const char *msg)
{
	http_send(c, status, "text/plain; charset=utf-8", "", msg, strlen(msg));
}

static bool authorized(const struct node_logsrv *s, struct http_conn *c, struct http_req *r)
{
	/* The API server's client identity, verified against the cluster CA by httpd. */
	const char *org = NULL, *cn = http_conn_client_cn(c, &org);
	if (cn && !strcmp(cn, "kube-apiserver-kubelet-client") && org && !strcmp(org, "system:masters"))
		return true;
	return http_req_bearer_ok(r, s->token);
}

/* Copies [off, end) of fd to the stream. Returns the new offset, or -1 when the peer is
 * gone. */
static long long copy_range(struct http_conn *c, int fd, long long off, long long end, char *blk)
{
	while (off < end) {
		size_t want = end - off > READ_BLOCK ? READ_BLOCK : (size_t)(end - off);
		ssize_t r = pread(fd, blk, want, off);
		if (r <= 0)
			break;
		if (http_stream_write(c, blk, (size_t)r) < 0)
			return -1;
		off += r;
	}
	return off;
}

static long long file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) < 0 ? 0 : (long long)st.st_size;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Streams fd from off, then follows it (see the top of the file for when it ends). */
static void follow(struct http_conn *c, int fd, long long off, long long limit_end, const char *cdir,
		   long inst)
{
	char *blk = xmalloc(READ_BLOCK);
	char *next = xasprintf("%s/%ld.log", cdir, inst + 1);
	if (http_stream_begin(c, 200, "text/plain", NULL) < 0)
		goto out;
	for (;;) {
		long long end = file_size(fd);
		if (limit_end >= 0 && end > limit_end)
			end = limit_end;
		off = copy_range(c, fd, off, end, blk);
		if (off < 0)
			goto out; /* the peer is gone */
		if (limit_end >= 0 && off >= limit_end)
			break;
		if (http_conn_closed(c))
			goto out;
		struct stat st;
		bool restarted = stat(next, &st) == 0, gone = stat(cdir, &st) < 0;
		bool exited = fstat(fd, &st) == 0 && !(st.st_mode & S_IWUSR);
		if (restarted || gone || exited) {
			/* Whatever the old instance wrote last, then the end. */
			end = file_size(fd);
			if (limit_end >= 0 && end > limit_end)
				end = limit_end;
			if (copy_range(c, fd, off, end, blk) < 0)
				goto out;
			break;
		}
		sleep_ms(FOLLOW_POLL_MS);
	}
	http_stream_end(c);
out:
	free(next);
	free(blk);
}

static void serve_logs(struct node_logsrv *s, struct http_conn *c, struct http_req *r, const char *ns,
		       const char *pod, const char *container)
{
	char err[256];
	struct node__logsrv_query q;
	if (node__logsrv_query_parse(r->query, &q, err, sizeof(err)) < 0)
		return send_text(c, 400, err);
	bool pod_seen;
	char *cdir = find_container_dir(s->log_dir, ns, pod, container, &pod_seen);
	if (!cdir) {
		char *m = pod_seen
			      ? xasprintf("container \"%s\" not found in pod \"%s/%s\"", container, ns, pod)
			      : xasprintf("pod \"%s/%s\" does not exist", ns, pod);
		send_text(c, 404, m);
		free(m);
		return;
	}
	long cur, prev;
	instances(cdir, &cur, &prev);
	long inst = q.previous ? prev : cur;
	if (inst < 0) {
		char *m = q.previous
			      ? xasprintf("previous terminated container \"%s\" in pod \"%s\" not found",
					  container, pod)
			      : xasprintf("container \"%s\" in pod \"%s\" has no log yet", container, pod);
		send_text(c, q.previous ? 400 : 404, m);
		free(m);
		free(cdir);
		return;
	}
	char *path = xasprintf("%s/%ld.log", cdir, inst);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char *m = xasprintf("cannot open the log of container \"%s\" in pod \"%s\": %s", container,
				    pod, strerror(errno));
		send_text(c, errno == ENOENT ? 404 : 500, m);
		free(m);
		goto done;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		st.st_size = 0, st.st_mtim.tv_sec = 0;
	long long size = (long long)st.st_size, start = 0;
	/* since*: the whole instance or, when it was last written before the limit, nothing
	 * of what it holds now. */
	int64_t since = INT64_MIN;
	if (q.has_since_time)
		since = q.since_time;
	else if (q.since_seconds >= 0)
		since = (int64_t)time(NULL) - q.since_seconds;
	if (since != INT64_MIN && (int64_t)st.st_mtim.tv_sec < since)
		start = size;
	else if (q.tail_lines >= 0)
		start = file_tail_start(fd, size, q.tail_lines);
	long long limit_end = q.limit_bytes >= 0 ? start + q.limit_bytes : -1;
	if (q.follow && !q.previous) {
		follow(c, fd, start, limit_end, cdir, inst);
		goto done;
	}
	long long end = limit_end >= 0 && limit_end < size ? limit_end : size;
	if (end - start <= WHOLE_MAX) {
		size_t n = (size_t)(end - start), got = 0;
		char *body = xmalloc(n + 1);
		while (got < n) {
			ssize_t rr = pread(fd, body + got, n - got, start + (long long)got);
			if (rr <= 0)
				break;
			got += (size_t)rr;
		}
		http_send(c, 200, "text/plain", "", body, got);
		free(body);
	} else {
		char *blk = xmalloc(READ_BLOCK);
		if (http_stream_begin(c, 200, "text/plain", NULL) == 0 &&
		    copy_range(c, fd, start, end, blk) >= 0)
			http_stream_end(c);
		free(blk);
	}
done:
	if (fd >= 0)
		close(fd);
	free(path);
	free(cdir);
}

static void handle(void *ud, struct http_conn *c, struct http_req *r)
{
	struct node_logsrv *s = ud;
	if (!authorized(s, c, r))
		return send_text(c, 401, "Unauthorized");
	if (!strcmp(r->path, "/metrics")) { /* the Service proxy's, cluster DNS's, LB announcer's */
		struct buf b;
		buf_init(&b);
		proxy_metrics_write(&b);
		dns_metrics_write(&b);
		node_lb_metrics_write(&b);
		http_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data ? b.data : "",
			  b.len);
		return buf_fini(&b);
	}
	char *ns = NULL, *pod = NULL, *container = NULL;
	node_exec_lookup fn = atomic_load(&s->exec_fn);
	bool attach = r->path && !strncmp(r->path, "/attach/", 8);
	if (fn && r->path && (!strncmp(r->path, "/exec/", 6) || attach)) {
		/* Same {ns}/{pod}/{container} rules as the log path. */
		char *lp = xasprintf("/containerLogs/%s", r->path + (attach ? 8 : 6));
		int prc = node__logsrv_path_parse(lp, &ns, &pod, &container);
		free(lp);
		if (prc < 0)
			return send_text(c, 404, "404 page not found");
		bool seen = false;
		char *dir = attach ? find_container_dir(s->log_dir, ns, pod, container, &seen) : NULL;
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
			send_text(c, 405, "only GET and POST are allowed on /exec and /attach");
		else if (attach && !dir)
			send_text(c, 404, "container not found");
		else
			node_exec_serve(c, r, ns, pod, container, fn, atomic_load(&s->exec_ud), dir);
		free(dir);
		free(ns);
		free(pod);
		free(container);
		return;
	}
	if (fn && r->path && !strncmp(r->path, "/portForward/", 13)) {
		char *lp = xasprintf("/containerLogs/%s/pf", r->path + 13);
		int prc = node__logsrv_path_parse(lp, &ns, &pod, &container);
		free(lp);
		if (prc < 0)
			return send_text(c, 404, "404 page not found");
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
			send_text(c, 405, "only GET and POST are allowed on /portForward");
		else
			node_pf_serve(c, r, ns, pod, fn, atomic_load(&s->exec_ud));
		free(ns);
		free(pod);
		free(container);
		return;
	}
	if (node__logsrv_path_parse(r->path, &ns, &pod, &container) < 0)
		return send_text(c, 404, "404 page not found");
	if (strcmp(r->method, "GET") != 0)
		send_text(c, 405, "only GET is allowed on /containerLogs");
	else
		serve_logs(s, c, r, ns, pod, container);
	free(ns);
	free(pod);
	free(container);
}

static bool wildcard(const char *a)
{
	return !strcmp(a, "0.0.0.0") || !strcmp(a, "::");
}

int node_logsrv_start(const struct node_logsrv_opts *o, struct node_logsrv **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!o->log_dir || !o->pki_dir) {
		snprintf(err, errlen, "log endpoint: log_dir and pki_dir are required");
		return -EINVAL;
	}
	const char *bind = o->bind_address && *o->bind_address ? o->bind_address : "0.0.0.0";
	const char *sans[5] = {"localhost", "127.0.0.1", "::1", NULL, NULL};
	if (!wildcard(bind) && strcmp(bind, "127.0.0.1") != 0 && strcmp(bind, "::1") != 0)
		sans[3] = bind;
	char perr[256];
	int rc = o->cert_file ? 0 : pki_ensure(o->pki_dir, sans, perr, sizeof(perr));
	if (rc < 0) {
		snprintf(err, errlen, "log endpoint certificate in %s: %s", o->pki_dir, perr);
		return rc;
	}
	struct node_logsrv *s = xcalloc(1, sizeof(*s));
	s->log_dir = xstrdup(o->log_dir);
	s->token = xstrdup(o->token ? o->token : "");
	char *certf = o->cert_file ? xstrdup(o->cert_file) : xasprintf("%s/server.crt", o->pki_dir);
	char *keyf = o->key_file ? xstrdup(o->key_file) : xasprintf("%s/server.key", o->pki_dir);
	struct httpd_opts ho = {
	    .bind_address = bind,
	    .port = o->port,
	    .cert_file = certf,
	    .key_file = keyf,
	    .client_ca_file = o->cert_file ? o->client_ca_file : NULL,
	    .max_body = 4096,
	    .max_conns = 256,
	};
	char herr[256];
	rc = httpd_start(&ho, handle, s, &s->httpd, herr, sizeof(herr));
	free(certf);
	free(keyf);
	if (rc < 0) {
		snprintf(err, errlen, "log endpoint on %s:%d: %s", bind, o->port, herr);
		free(s->log_dir);
		free(s->token);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void node_logsrv_set_exec(struct node_logsrv *s, node_exec_lookup fn, void *ud)
{
	atomic_store(&s->exec_ud, ud);
	atomic_store(&s->exec_fn, fn);
}

int node_logsrv_port(const struct node_logsrv *s)
{
	return s ? httpd_port(s->httpd) : 0;
}

void node_logsrv_stop(struct node_logsrv *s)
{
	if (!s)
		return;
	httpd_stop(s->httpd);
	if (s->token)
		OPENSSL_cleanse(s->token, strlen(s->token));
	free(s->token);
	free(s->log_dir);
	free(s);
}
