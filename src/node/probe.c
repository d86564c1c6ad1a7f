/* probe.c - kubelet's probe state machine and its exec/httpGet/tcpSocket checks
 * (see probe.h). The state machine reads no clock; the checks are non-blocking steps
 * driven by node_probe_run_advance().
 *
 * An httpGet check is one connection: CONNECT, then for scheme HTTPS a TLS HANDSHAKE,
 * then WRITE the request and READ the status line. Plain and TLS connections share the
 * request, the parsing and the states; only conn_send()/conn_recv() tell them apart, and
 * they record in io_events whether OpenSSL waits for the socket to be readable or
 * writable (a TLS write may need a read and the other way round). */
#include "node/probe.h"

#include "api/object.h"
#include "base/clock.h"
#include "base/sockaddr.h"
#include "base/buf.h"
#include "base/mem.h"
#include "node/runtime.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAX_OUTPUT (10 * 1024) /* kubelet keeps at most 10 KiB of output */

/* ---- spec ---- */

static int int_field(const json_t *o, const char *key, int def, int min)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return def;
	json_int_t i = json_integer_value(v);
	if (i < min)
		return min;
	return i > 1000000 ? 1000000 : (int)i;
}

/* A port is an int or a string: a number in text, or a container port name. */
static int resolve_port(const json_t *port, const json_t *container, int *out, char *err, size_t errlen)
{
	if (json_is_integer(port)) {
		json_int_t p = json_integer_value(port);
		if (p < 1 || p > 65535) {
			snprintf(err, errlen, "invalid port number: %lld", (long long)p);
			return -EINVAL;
		}
		*out = (int)p;
		return 0;
	}
	const char *name = json_string_value(port);
	if (!name || !*name) {
		snprintf(err, errlen, "probe port is missing");
		return -EINVAL;
	}
	char *end;
	long n = strtol(name, &end, 10);
	if (*end == 0 && n >= 1 && n <= 65535) {
		*out = (int)n;
		return 0;
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(container, "ports"), i, p)
	{
		const char *pn = json_string_value(json_object_get(p, "name"));
		if (pn && strcmp(pn, name) == 0) {
			json_int_t cp = json_integer_value(json_object_get(p, "containerPort"));
			if (cp >= 1 && cp <= 65535) {
				*out = (int)cp;
				return 0;
			}
		}
	}
	/* kubelet's findPortByName wording */
	snprintf(err, errlen, "couldn't find port: %s in %s", name,
		 json_string_value(json_object_get(container, "name"))
		     ? json_string_value(json_object_get(container, "name"))
		     : "container");
	return -EINVAL;
}

static char **strv_from_json(const json_t *arr)
{
	size_t n = json_array_size(arr), i;
	char **v = xcalloc(n + 1, sizeof(*v));
	json_t *s;
	size_t k = 0;
	json_array_foreach(arr, i, s) if (json_is_string(s)) v[k++] = xstrdup(json_string_value(s));
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int node_probe_spec_parse(const json_t *probe, const json_t *container, struct node_probe_spec *out,
			  char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->initial_delay_s = int_field(probe, "initialDelaySeconds", 0, 0);
	out->period_s = int_field(probe, "periodSeconds", 10, 1);
	out->timeout_s = int_field(probe, "timeoutSeconds", 1, 1);
	out->success_threshold = int_field(probe, "successThreshold", 1, 1);
	out->failure_threshold = int_field(probe, "failureThreshold", 3, 1);
	const json_t *ex = json_object_get(probe, "exec");
	const json_t *hg = json_object_get(probe, "httpGet");
	const json_t *ts = json_object_get(probe, "tcpSocket");
	int rc;
	if (json_is_object(ex)) {
		out->handler = NODE_PROBE_EXEC;
		out->argv = strv_from_json(json_object_get(ex, "command"));
		if (!out->argv[0]) {
			snprintf(err, errlen, "exec probe has no command");
			rc = -EINVAL;
			goto fail;
		}
		return 0;
	}
	if (json_is_object(hg)) {
		out->handler = NODE_PROBE_HTTP;
		const char *scheme = json_string_value(json_object_get(hg, "scheme"));
		if (scheme && strcasecmp(scheme, "HTTPS") == 0)
			out->https = true;
		else if (scheme && *scheme && strcasecmp(scheme, "HTTP") != 0) {
			snprintf(err, errlen, "unsupported HTTP probe scheme: %s", scheme);
			rc = -EINVAL;
			goto fail;
		}
		const char *host = json_string_value(json_object_get(hg, "host"));
		out->host = host && *host ? xstrdup(host) : NULL;
		const char *path = json_string_value(json_object_get(hg, "path"));
		if (!path || !*path)
			out->path = xstrdup("/");
		else if (path[0] != '/')
			out->path = xasprintf("/%s", path);
		else
			out->path = xstrdup(path);
		size_t n = json_array_size(json_object_get(hg, "httpHeaders")), i, k = 0;
		json_t *h;
		out->headers = xcalloc(n + 1, sizeof(char *));
		json_array_foreach(json_object_get(hg, "httpHeaders"), i, h)
		{
			const char *hn = json_string_value(json_object_get(h, "name"));
			const char *hv = json_string_value(json_object_get(h, "value"));
			if (hn && *hn && !strpbrk(hn, "\r\n:") && (!hv || !strpbrk(hv, "\r\n")))
				out->headers[k++] = xasprintf("%s: %s", hn, hv ? hv : "");
		}
		if ((rc = resolve_port(json_object_get(hg, "port"), container, &out->port, err, errlen)))
			goto fail;
		return 0;
	}
	if (json_is_object(ts)) {
		out->handler = NODE_PROBE_TCP;
		const char *host = json_string_value(json_object_get(ts, "host"));
		out->host = host && *host ? xstrdup(host) : NULL;
		if ((rc = resolve_port(json_object_get(ts, "port"), container, &out->port, err, errlen)))
			goto fail;
		return 0;
	}
	if (json_object_get(probe, "grpc")) {
		snprintf(err, errlen, "grpc probes are not supported by this node runtime");
		rc = -ENOTSUP;
		goto fail;
	}
	snprintf(err, errlen, "probe has no handler (exec, httpGet or tcpSocket)");
	rc = -EINVAL;
fail:
	node_probe_spec_fini(out);
	return rc;
}

void node_probe_spec_fini(struct node_probe_spec *spec)
{
	strv_free(spec->argv);
	strv_free(spec->headers);
	free(spec->host);
	free(spec->path);
	memset(spec, 0, sizeof(*spec));
}

/* ---- state machine ---- */

static enum node_probe_result initial_result(enum node_probe_kind k)
{
	switch (k) {
	case NODE_PROBE_READINESS:
		return NODE_PROBE_FAILURE;
	case NODE_PROBE_LIVENESS:
		return NODE_PROBE_SUCCESS;
	default:
		return NODE_PROBE_UNKNOWN;
	}
}

void node_probe_sm_init(struct node_probe_sm *sm, enum node_probe_kind kind,
			const struct node_probe_spec *spec)
{
	memset(sm, 0, sizeof(*sm));
	sm->kind = kind;
	sm->initial_delay_ms = spec->initial_delay_s * 1000;
	sm->period_ms = spec->period_s * 1000;
	/* kubelet's validation forces 1 for liveness and startup; do the same here. */
	sm->success_threshold = kind == NODE_PROBE_READINESS ? spec->success_threshold : 1;
	sm->failure_threshold = spec->failure_threshold;
	sm->result = initial_result(kind);
	sm->last = NODE_PROBE_UNKNOWN;
}

void node_probe_sm_container_started(struct node_probe_sm *sm, int64_t now_ms)
{
	sm->result = initial_result(sm->kind);
	sm->last = NODE_PROBE_UNKNOWN;
	sm->run = 0;
	sm->on_hold = false;
	sm->running = true;
	sm->next_ms = now_ms + sm->initial_delay_ms;
}

void node_probe_sm_container_stopped(struct node_probe_sm *sm)
{
	sm->running = false;
	sm->run = 0;
	sm->last = NODE_PROBE_UNKNOWN;
	if (sm->kind == NODE_PROBE_READINESS)
		sm->result = NODE_PROBE_FAILURE;
}

bool node_probe_sm_due(struct node_probe_sm *sm, bool started, int64_t now_ms)
{
	if (!sm->running || sm->on_hold || now_ms < sm->next_ms)
		return false;
	/* Each tick is consumed whether or not a probe runs, like kubelet's ticker. */
	sm->next_ms = now_ms + sm->period_ms;
	if (sm->kind == NODE_PROBE_STARTUP)
		return !started;
	return started;
}

bool node_probe_sm_record(struct node_probe_sm *sm, enum node_probe_result r, int64_t start_ms)
{
	(void)start_ms;
	if (!sm->running || sm->on_hold || r == NODE_PROBE_UNKNOWN)
		return false;
	if (sm->last == r) {
		sm->run++;
	} else {
		sm->last = r;
		sm->run = 1;
	}
	if ((r == NODE_PROBE_FAILURE && sm->run < sm->failure_threshold) ||
	    (r == NODE_PROBE_SUCCESS && sm->run < sm->success_threshold))
		return false;
	bool changed = sm->result != r;
	sm->result = r;
	if (r == NODE_PROBE_FAILURE && sm->kind != NODE_PROBE_READINESS) {
		/* The container is going to be restarted: stop probing until it is, and do not
		 * fall back to Unknown, which would turn the failure into a success. */
		sm->on_hold = true;
		sm->run = 0;
	}
	return changed;
}

int64_t node_probe_sm_next_ms(const struct node_probe_sm *sm)
{
	if (!sm->running || sm->on_hold)
		return INT64_MAX;
	return sm->next_ms;
}

/* ---- checks ---- */

enum run_state { RUN_CONNECT, RUN_HANDSHAKE, RUN_WRITE, RUN_READ, RUN_EXEC_OUT, RUN_EXEC_WAIT, RUN_DONE };

struct node_probe_run {
	enum node_probe_handler handler;
	enum run_state state;
	int fd;
	pid_t pid;
	int pidfd;
	int64_t deadline;
	int timeout_s; /* for "timeout after Ns" */
	struct buf req;
	size_t req_off;
	struct buf in;
	char *what; /* "http(s)://h:p/path", "tcp h:p" or the command line, for messages */
	char *addr; /* "h:p" */
	enum node_probe_result result;
	char *msg;
	short io_events;      /* HANDSHAKE, WRITE, READ: what the connection waits for */
	SSL *ssl;	      /* scheme HTTPS, until the check is done */
	bool tls_broken;      /* a fatal TLS error: no close_notify */
	unsigned char hdr[5]; /* the first TLS record header received, for messages */
	size_t hdr_len;
};

static void sigpipe_hold(sigset_t *old, bool *was_pending);
static void sigpipe_release(const sigset_t *old, bool was_pending);

/* Frees the TLS state. Like Go's tls.Conn.Close, a connection whose handshake completed
 * says close_notify first (one non-blocking attempt; the socket is closed right after). */
static void tls_close(struct node_probe_run *r)
{
	if (!r->ssl)
		return;
	if (!r->tls_broken && SSL_is_init_finished(r->ssl)) {
		sigset_t old;
		bool was;
		sigpipe_hold(&old, &was);
		(void)SSL_shutdown(r->ssl);
		sigpipe_release(&old, was);
	}
	SSL_free(r->ssl);
	r->ssl = NULL;
	ERR_clear_error(); /* the error queue is per thread: leave nothing for the next user */
}

static void run_finish(struct node_probe_run *r, enum node_probe_result res, char *msg_take)
{
	tls_close(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
	r->result = res;
	free(r->msg);
	/* A failure always says why: callers put this text in events and logs. */
	if (res == NODE_PROBE_FAILURE && (!msg_take || !*msg_take)) {
		free(msg_take);
		msg_take = xasprintf("probe of %s failed without a reason", r->what ? r->what : "?");
	}
	r->msg = msg_take ? msg_take : xstrdup("");
	r->state = RUN_DONE;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	if (ip_sockaddr(host, port, ss, len) == 0)
		return 0;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
		return -EHOSTUNREACH;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	if (ss->ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)port);
	else
		s6->sin6_port = htons((uint16_t)port);
	freeaddrinfo(ai);
	return 0;
}

/* Go's net error words for the common errnos, so messages read like kubelet's. */
static char *dial_msg(const struct node_probe_run *r, int e)
{
	const char *proto = r->handler == NODE_PROBE_HTTP ? "Get" : NULL;
	const char *why = e == ETIMEDOUT ? "i/o timeout" : NULL;
	char tail[160];
	if (why)
		snprintf(tail, sizeof(tail), "dial tcp %s: %s", r->addr, why);
	else
		snprintf(tail, sizeof(tail), "dial tcp %s: connect: %s", r->addr, strerror(e));
	for (char *c = tail; *c; c++) /* Go lower-cases errno text */
		if (c > tail && c[-1] == ':' && c[0] == ' ' && c[1] >= 'A' && c[1] <= 'Z')
			c[1] = (char)(c[1] - 'A' + 'a');
	if (proto)
		return xasprintf("%s \"%s\": %s", proto, r->what, tail);
	return xstrdup(tail);
}

/* Go's words for a failed read or write on an open connection ("read: connection reset by
 * peer"): errno text in lower case. */
static char *io_msg(const struct node_probe_run *r, const char *op, int e)
{
	char *m = xasprintf("Get \"%s\": %s: %s", r->what, op, strerror(e));
	char *c = m + strlen(m) - strlen(strerror(e));
	*c = (char)tolower((unsigned char)*c);
	return m;
}

/* ---- TLS ----
 *
 * Kubelet's prober (pkg/probe/http) sends HTTPS probes through a Go http.Transport with
 * tls.Config{InsecureSkipVerify: true} and keep-alives off: the server's certificate is
 * not checked at all (a pod's self-signed certificate passes), TLS 1.2 is the floor (Go's
 * client default), and SNI carries the URL's host unless it is an IP literal (crypto/tls
 * hostnameInSNI), so a probe of the pod IP sends none. The context is shared by every
 * probe and made once; OpenSSL contexts are safe to share between threads. ALPN offers
 * only http/1.1: kubelet's transport would also offer h2, which this client does not
 * speak. */

static SSL_CTX *probe_tls_ctx;

static void tls_ctx_init(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Servers often close without close_notify after the response; Go reads that as the
	 * end of the body, not as an error. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	static const unsigned char alpn[] = "\x08http/1.1";
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		SSL_CTX_free(ctx);
		return;
	}
	probe_tls_ctx = ctx;
}

static SSL_CTX *tls_ctx(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tls_ctx_init);
	return probe_tls_ctx;
}

/* OpenSSL writes with write(2), which raises SIGPIPE when the peer has gone: keep it
 * blocked in this thread around each TLS call and drop one the call raised (libcurl's
 * sigpipe_ignore), so a probe of a dying pod cannot kill a process that does not ignore
 * SIGPIPE. A SIGPIPE pending from before is left alone. */
static void sigpipe_hold(sigset_t *old, bool *was_pending)
{
	sigset_t pipe, pending;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	*was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe, old);
}

static void sigpipe_release(const sigset_t *old, bool was_pending)
{
	if (!was_pending) {
		sigset_t pipe;
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Keeps the first record header the server sends: when the handshake fails, it tells a
 * plain-HTTP server ("HTTP/") from a broken TLS one, as Go does. OpenSSL reports each
 * header before checking it. */
static void tls_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
		       void *arg)
{
	(void)version;
	(void)ssl;
	struct node_probe_run *r = arg;
	if (!write_p && content_type == SSL3_RT_HEADER && r->hdr_len == 0 && len >= 5) {
		memcpy(r->hdr, buf, 5);
		r->hdr_len = 5;
	}
}

/* crypto/tls's alert texts (alert.go), so "remote error: tls: ..." reads like kubelet's. */
static const char *go_alert_text(int a)
{
	static const struct {
		int code;
		const char *text;
	} t[] = {
	    {0, "close notify"},
	    {10, "unexpected message"},
	    {20, "bad record MAC"},
	    {21, "decryption failed"},
	    {22, "record overflow"},
	    {30, "decompression failure"},
	    {40, "handshake failure"},
	    {42, "bad certificate"},
	    {43, "unsupported certificate"},
	    {44, "revoked certificate"},
	    {45, "expired certificate"},
	    {46, "unknown certificate"},
	    {47, "illegal parameter"},
	    {48, "unknown certificate authority"},
	    {49, "access denied"},
	    {50, "error decoding message"},
	    {51, "error decrypting message"},
	    {60, "export restriction"},
	    {70, "protocol version not supported"},
	    {71, "insufficient security level"},
	    {80, "internal error"},
	    {86, "inappropriate fallback"},
	    {90, "user canceled"},
	    {100, "no renegotiation"},
	    {109, "missing extension"},
	    {110, "unsupported extension"},
	    {111, "certificate unobtainable"},
	    {112, "unrecognized name"},
	    {113, "bad certificate status response"},
	    {114, "bad certificate hash value"},
	    {115, "unknown PSK identity"},
	    {116, "certificate required"},
	    {120, "no application protocol"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].code == a)
			return t[i].text;
	return NULL;
}

/* The failure message for a TLS call that returned rc with errno e, in Go's words:
 * `Get "https://h:p/path": <why>`. */
static char *tls_msg(struct node_probe_run *r, int rc, int e, const char *op)
{
	int err = SSL_get_error(r->ssl, rc);
	unsigned long ec = ERR_peek_last_error();
	int reason = ERR_GET_LIB(ec) == ERR_LIB_SSL ? ERR_GET_REASON(ec) : 0;
	char why[160];
	if (r->state == RUN_HANDSHAKE && r->hdr_len == 5 && memcmp(r->hdr, "HTTP/", 5) == 0) {
		/* net/http's ErrSchemeMismatch */
		snprintf(why, sizeof(why), "http: server gave HTTP response to HTTPS client");
	} else if (r->state == RUN_HANDSHAKE && r->hdr_len == 5 &&
		   ((r->hdr[0] != SSL3_RT_ALERT && r->hdr[0] != SSL3_RT_HANDSHAKE) || r->hdr[1] >= 0x10)) {
		/* crypto/tls's test of the first record, word for word */
		snprintf(why, sizeof(why), "tls: first record does not look like a TLS handshake");
	} else if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
		/* OpenSSL files a received alert as reason SSL_AD_REASON_OFFSET + its code. */
		int a = reason - SSL_AD_REASON_OFFSET;
		const char *text = go_alert_text(a);
		if (text)
			snprintf(why, sizeof(why), "remote error: tls: %s", text);
		else
			snprintf(why, sizeof(why), "remote error: tls: alert(%d)", a);
	} else if (err == SSL_ERROR_SYSCALL && e != 0) {
		char *m = io_msg(r, op, e);
		r->tls_broken = true;
		return m;
	} else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL ||
		   reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		/* The peer closed the connection: Go's io.EOF. */
		snprintf(why, sizeof(why), "EOF");
	} else {
		const char *s = ec ? ERR_reason_error_string(ec) : NULL;
		snprintf(why, sizeof(why), "tls: %s", s ? s : "handshake failed");
	}
	r->tls_broken = true;
	return xasprintf("Get \"%s\": %s", r->what, why);
}

/* Whether a TLS call that returned rc only waits for the socket; sets io_events. */
static bool tls_again(struct node_probe_run *r, int rc)
{
	switch (SSL_get_error(r->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		r->io_events = POLLIN;
		return true;
	case SSL_ERROR_WANT_WRITE:
		r->io_events = POLLOUT;
		return true;
	default:
		return false;
	}
}

/* One non-blocking transfer on the connection, plain or TLS. Returns the bytes moved, 0 at
 * the peer's end of stream (receive), -EAGAIN when the socket is not ready (io_events says
 * for what), or -EIO after finishing r with a failure. */
static ssize_t conn_io(struct node_probe_run *r, bool write, char *p, size_t n)
{
	const char *what = write ? "write" : "read";
	if (r->ssl) {
		sigset_t old;
		bool was;
		ERR_clear_error();
		sigpipe_hold(&old, &was);
		errno = 0; /* SSL_ERROR_SYSCALL with errno 0 means the peer closed */
		int len = n > INT32_MAX ? INT32_MAX : (int)n;
		int rc = write ? SSL_write(r->ssl, p, len) : SSL_read(r->ssl, p, len);
		int e = errno;
		sigpipe_release(&old, was);
		if (rc > 0)
			return rc;
		if (tls_again(r, rc))
			return -EAGAIN;
		/* The end of the stream, with or without close_notify (IGNORE_UNEXPECTED_EOF). */
		if (!write && SSL_get_error(r->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			return 0;
		run_finish(r, NODE_PROBE_FAILURE, tls_msg(r, rc, e, what));
		return -EIO;
	}
	ssize_t got = write ? send(r->fd, p, n, MSG_NOSIGNAL) : read(r->fd, p, n);
	if (got >= 0)
		return got;
	if (errno == EAGAIN || errno == EINTR) {
		r->io_events = write ? POLLOUT : POLLIN;
		return -EAGAIN;
	}
	run_finish(r, NODE_PROBE_FAILURE, io_msg(r, what, errno));
	return -EIO;
}

static ssize_t conn_send(struct node_probe_run *r, const char *p, size_t n)
{
	return conn_io(r, true, (char *)p, n); /* only read from when writing */
}

static ssize_t conn_recv(struct node_probe_run *r, char *p, size_t n)
{
	return conn_io(r, false, p, n);
}

/* Sets up the TLS client on the connecting socket (the handshake starts once the TCP
 * connect completes). Returns 0 or -ENOMEM. */
static int tls_start(struct node_probe_run *r, const char *host)
{
	SSL_CTX *ctx = tls_ctx();
	if (!ctx || !(r->ssl = SSL_new(ctx))) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (SSL_set_fd(r->ssl, r->fd) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_connect_state(r->ssl);
	SSL_set_msg_callback(r->ssl, tls_msg_cb);
	SSL_set_msg_callback_arg(r->ssl, r);
	struct in_addr a4;
	if (!strchr(host, ':') && inet_pton(AF_INET, host, &a4) != 1) {
		/* A name (never an IP literal, RFC 6066), without trailing dots. */
		size_t l = strlen(host);
		while (l > 0 && host[l - 1] == '.')
			l--;
		char *sni = xstrndup(host, l);
		if (l > 0 && SSL_set_tlsext_host_name(r->ssl, sni) != 1)
			ERR_clear_error(); /* a name OpenSSL refuses (too long): go without SNI */
		free(sni);
	}
	return 0;
}

static int start_connect(struct node_probe_run *r, const struct node_probe_spec *spec,
			 const struct node_probe_target *t)
{
	const char *host = spec->host ? spec->host : t->pod_ip;
	if (!host || !*host) {
		run_finish(r, NODE_PROBE_FAILURE, xstrdup("probe has no host and the pod has no IP"));
		return 0;
	}
	bool v6 = strchr(host, ':') != NULL;
	r->addr = xasprintf(v6 ? "[%s]:%d" : "%s:%d", host, spec->port);
	if (spec->handler == NODE_PROBE_HTTP)
		r->what = xasprintf("%s://%s%s", spec->https ? "https" : "http", r->addr, spec->path);
	else
		r->what = xstrdup(r->addr);
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_addr(host, spec->port, &ss, &sl) < 0) {
		char *m = spec->handler == NODE_PROBE_HTTP
			      ? xasprintf("Get \"%s\": dial tcp: lookup %s: no such host", r->what, host)
			      : xasprintf("dial tcp: lookup %s: no such host", host);
		run_finish(r, NODE_PROBE_FAILURE, m);
		return 0;
	}
	if (spec->handler == NODE_PROBE_HTTP) {
		buf_printf(&r->req, "GET %s HTTP/1.1\r\n", spec->path);
		bool has_host = false, has_ua = false, has_accept = false;
		for (char **h = spec->headers; h && *h; h++) {
			has_host |= strncasecmp(*h, "Host:", 5) == 0;
			has_ua |= strncasecmp(*h, "User-Agent:", 11) == 0;
			has_accept |= strncasecmp(*h, "Accept:", 7) == 0;
		}
		if (!has_host)
			buf_printf(&r->req, "Host: %s\r\n", r->addr);
		if (!has_ua)
			buf_puts(&r->req, "User-Agent: kube-probe/1.34\r\n");
		if (!has_accept)
			buf_puts(&r->req, "Accept: */*\r\n");
		for (char **h = spec->headers; h && *h; h++)
			buf_printf(&r->req, "%s\r\n", *h);
		buf_puts(&r->req, "Connection: close\r\n\r\n");
	}
	r->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (spec->handler == NODE_PROBE_HTTP && spec->https) {
		int rc = tls_start(r, host);
		if (rc < 0)
			return rc;
	}
	r->state = RUN_CONNECT; /* also when connect() completes at once: advance() sees it */
	if (connect(r->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		run_finish(r, NODE_PROBE_FAILURE, dial_msg(r, errno));
	return 0;
}

/* Appends "<text>: errno NAME (N)\n" to fd: the exec child's only report of why it failed.
 * Async-signal-safe (strerrorname_np reads a static table). */
static void child_report(int fd, const char *text, int e)
{
	char line[160], num[16];
	size_t n = 0, k = 0;
	const char *name = strerrorname_np(e);
	for (const char *p = text; *p && n < 100; p++)
		line[n++] = *p;
	for (const char *p = ": errno "; *p; p++)
		line[n++] = *p;
	for (const char *p = name ? name : "?"; *p && n < 140; p++)
		line[n++] = *p;
	unsigned v = (unsigned)e;
	do
		num[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < sizeof(num));
	line[n++] = ' ';
	line[n++] = '(';
	while (k && n < sizeof(line) - 3)
		line[n++] = num[--k];
	line[n++] = ')';
	line[n++] = '\n';
	(void)!write(fd, line, n);
}

static void exec_reap(struct node_probe_run *r, bool timed_out);

static int start_exec(struct node_probe_run *r, const struct node_probe_spec *spec,
		      const struct node_probe_target *t)
{
	struct buf cl;
	buf_init(&cl);
	for (char **a = spec->argv; *a; a++)
		buf_printf(&cl, "%s%s", a == spec->argv ? "" : " ", *a);
	r->what = buf_take(&cl);
	if (t->pid <= 0) {
		run_finish(r, NODE_PROBE_FAILURE, xstrdup("container is not running"));
		return 0;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (pidfd < 0) {
		run_finish(r, NODE_PROBE_FAILURE,
			   xasprintf("container process %d is gone: %s", (int)t->pid, strerror(errno)));
		return 0;
	}
	/* The container's context as the runtime exec'd it (runtime.h: node_rt_proc). */
	static char *const no_env[] = {NULL};
	char *const *env = t->env ? t->env : no_env;
	const char *cwd = t->cwd && *t->cwd ? t->cwd : "/";
	const char *path_env = NULL;
	for (char *const *e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path_env = *e + 5;
	char *file = NULL, err[512];
	int rc = 0;
	if (node_rt_lookpath(spec->argv[0], path_env, cwd, &file, err, sizeof(err)) < 0) {
		close(pidfd);
		run_finish(r, NODE_PROBE_FAILURE, xasprintf("%s", err));
		return 0;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(p[0]);
		close(p[1]);
		if (devnull >= 0)
			close(devnull);
		goto out;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until execve. */
		node_rt_child_signals(NULL, 0);
		setpgid(0, 0);
		if (setns(pidfd, CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS) < 0) {
			child_report(p[1], "exec probe: setns into the container failed", errno);
			_exit(126);
		}
		if (chdir(cwd) < 0)
			(void)!chdir("/");
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve(file, spec->argv, env);
		child_report(2, "exec probe: execve failed", errno);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	if (devnull >= 0)
		close(devnull);
	r->pid = pid;
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* to wait for the exit in a loop */
	if (r->pidfd < 0) {
		rc = -errno;
		close(p[0]);
		exec_reap(r, true);
		goto out;
	}
	r->fd = p[0];
	fcntl(r->fd, F_SETFL, O_NONBLOCK);
	r->state = RUN_EXEC_OUT;
out:
	if (pidfd >= 0)
		close(pidfd);
	free(file);
	return rc;
}

int node_probe_run_start(const struct node_probe_spec *spec, const struct node_probe_target *t,
			 int64_t now_ms, struct node_probe_run **out)
{
	struct node_probe_run *r = xcalloc(1, sizeof(*r));
	r->handler = spec->handler;
	r->fd = r->pidfd = -1;
	r->deadline = now_ms + (int64_t)spec->timeout_s * 1000;
	r->timeout_s = spec->timeout_s;
	buf_init(&r->req);
	buf_init(&r->in);
	int rc = spec->handler == NODE_PROBE_EXEC ? start_exec(r, spec, t) : start_connect(r, spec, t);
	if (rc < 0) {
		node_probe_run_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int node_probe_run_fd(const struct node_probe_run *r, short *events)
{
	switch (r->state) {
	case RUN_CONNECT:
		*events = POLLOUT;
		return r->fd;
	case RUN_HANDSHAKE:
	case RUN_WRITE:
	case RUN_READ:
		*events = r->io_events;
		return r->fd;
	case RUN_EXEC_OUT:
		*events = POLLIN;
		return r->fd;
	case RUN_EXEC_WAIT:
		*events = POLLIN;
		return r->pidfd;
	default:
		*events = 0;
		return -1;
	}
}

int64_t node_probe_run_deadline(const struct node_probe_run *r)
{
	return r->deadline;
}

static void exec_reap(struct node_probe_run *r, bool timed_out)
{
	int status = 0;
	if (timed_out) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
	}
	while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
		;
	r->pid = 0;
	if (timed_out) {
		run_finish(r, NODE_PROBE_FAILURE,
			   xasprintf("command \"%s\" timed out: timeout after %ds", r->what, r->timeout_s));
		return;
	}
	const char *out = r->in.data ? r->in.data : "";
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		run_finish(r, NODE_PROBE_SUCCESS, xstrdup(out));
		return;
	}
	/* kubelet shows only the output; we add how it ended, so an empty output still says
	 * why. */
	char how[64];
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with code %d", WEXITSTATUS(status));
	run_finish(r, NODE_PROBE_FAILURE,
		   *out ? xasprintf("command \"%s\" %s: %s", r->what, how, out)
			: xasprintf("command \"%s\" %s and printed nothing", r->what, how));
}

/* Keeps received bytes up to PROBE_MAX_OUTPUT (kubelet's cap). */
static void in_append(struct node_probe_run *r, const char *p, size_t n)
{
	if (r->in.len + n > PROBE_MAX_OUTPUT)
		n = PROBE_MAX_OUTPUT - r->in.len;
	buf_append(&r->in, p, n);
}

static void parse_http_answer(struct node_probe_run *r, bool eof)
{
	char *eol = r->in.data ? strstr(r->in.data, "\r\n") : NULL;
	if (!eol && !eof && r->in.len < PROBE_MAX_OUTPUT)
		return;
	int major, minor, code;
	if (!r->in.data || sscanf(r->in.data, "HTTP/%d.%d %d", &major, &minor, &code) != 3) {
		run_finish(r, NODE_PROBE_FAILURE, xasprintf("Get \"%s\": malformed HTTP response", r->what));
		return;
	}
	if (code >= 200 && code < 400)
		run_finish(r, NODE_PROBE_SUCCESS,
			   xasprintf("HTTP probe succeeded with statuscode: %d", code));
	else
		run_finish(r, NODE_PROBE_FAILURE, xasprintf("HTTP probe failed with statuscode: %d", code));
}

bool node_probe_run_advance(struct node_probe_run *r, int64_t now_ms)
{
	for (int guard = 0; guard < 64 && r->state != RUN_DONE; guard++) {
		switch (r->state) {
		case RUN_CONNECT: {
			struct pollfd pfd = {.fd = r->fd, .events = POLLOUT};
			if (poll(&pfd, 1, 0) <= 0)
				goto check_deadline;
			int e = 0;
			socklen_t el = sizeof(e);
			getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e) {
				run_finish(r, NODE_PROBE_FAILURE, dial_msg(r, e));
				break;
			}
			if (r->handler == NODE_PROBE_TCP) {
				run_finish(r, NODE_PROBE_SUCCESS, xstrdup(""));
				break;
			}
			r->state = r->ssl ? RUN_HANDSHAKE : RUN_WRITE;
			r->io_events = POLLOUT;
			break;
		}
		case RUN_HANDSHAKE: {
			sigset_t old;
			bool was;
			ERR_clear_error();
			sigpipe_hold(&old, &was);
			errno = 0;
			int rc = SSL_connect(r->ssl);
			int e = errno;
			sigpipe_release(&old, was);
			if (rc == 1) {
				r->state = RUN_WRITE;
				r->io_events = POLLOUT;
				break;
			}
			if (tls_again(r, rc))
				goto check_deadline;
			run_finish(r, NODE_PROBE_FAILURE, tls_msg(r, rc, e, "read"));
			break;
		}
		case RUN_WRITE: {
			ssize_t n = conn_send(r, r->req.data + r->req_off, r->req.len - r->req_off);
			if (n == -EAGAIN)
				goto check_deadline;
			if (n < 0)
				break; /* finished with a failure */
			r->req_off += (size_t)n;
			if (r->req_off == r->req.len) {
				r->state = RUN_READ;
				r->io_events = POLLIN;
			}
			break;
		}
		case RUN_READ: {
			char tmp[4096];
			ssize_t n = conn_recv(r, tmp, sizeof(tmp));
			if (n == -EAGAIN)
				goto check_deadline;
			if (n < 0)
				break; /* finished with a failure */
			if (n > 0) {
				in_append(r, tmp, (size_t)n);
				parse_http_answer(r, false);
			} else {
				parse_http_answer(r, true);
			}
			break;
		}
		case RUN_EXEC_OUT: {
			char tmp[4096];
			ssize_t n = read(r->fd, tmp, sizeof(tmp));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				goto check_deadline;
			if (n > 0) {
				in_append(r, tmp, (size_t)n);
				break;
			}
			close(r->fd); /* EOF of the exec output: wait for the exit */
			r->fd = -1;
			r->state = RUN_EXEC_WAIT;
			break;
		}
		case RUN_EXEC_WAIT: {
			struct pollfd pfd = {.fd = r->pidfd, .events = POLLIN};
			if (poll(&pfd, 1, 0) <= 0)
				goto check_deadline;
			exec_reap(r, false);
			break;
		}
		default:
			break;
		}
	}
	return r->state == RUN_DONE;
check_deadline:
	if (now_ms >= r->deadline) {
		if (r->handler == NODE_PROBE_EXEC)
			exec_reap(r, true);
		else if (r->handler == NODE_PROBE_TCP || r->state == RUN_CONNECT) {
			char *m = dial_msg(r, ETIMEDOUT);
			run_finish(r, NODE_PROBE_FAILURE,
				   xasprintf("%s (timeout after %ds)", m, r->timeout_s));
			free(m);
		} else
			run_finish(r, NODE_PROBE_FAILURE,
				   xasprintf("Get \"%s\": context deadline exceeded (Client.Timeout "
					     "exceeded while awaiting headers; timeout after %ds)",
					     r->what, r->timeout_s));
	}
	return r->state == RUN_DONE;
}

enum node_probe_result node_probe_run_result(const struct node_probe_run *r, const char **msg)
{
	if (msg)
		*msg = r->msg ? r->msg : "";
	return r->state == RUN_DONE ? r->result : NODE_PROBE_UNKNOWN;
}

void node_probe_run_free(struct node_probe_run *r)
{
	if (!r)
		return;
	if (r->pid > 0)
		exec_reap(r, true);
	tls_close(r);
	if (r->fd >= 0)
		close(r->fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	buf_fini(&r->req);
	buf_fini(&r->in);
	free(r->what);
	free(r->addr);
	free(r->msg);
	free(r);
}

enum node_probe_result node_probe_run_sync(const struct node_probe_spec *spec,
					   const struct node_probe_target *t, char *msg, size_t msglen)
{
	struct node_probe_run *r;
	int64_t now = clock_mono_ms();
	int rc = node_probe_run_start(spec, t, now, &r);
	if (rc < 0) {
		if (msg && msglen)
			snprintf(msg, msglen, "probe could not start: %s", strerror(-rc));
		return NODE_PROBE_UNKNOWN;
	}
	/* Bounded: each round either makes progress or waits until the deadline. */
	for (int rounds = 0; rounds < 100000 && !node_probe_run_advance(r, now); rounds++) {
		short ev;
		int fd = node_probe_run_fd(r, &ev);
		int64_t wait = node_probe_run_deadline(r) - now;
		struct pollfd pfd = {.fd = fd, .events = ev};
		poll(&pfd, fd >= 0 ? 1 : 0, wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait);
		now = clock_mono_ms();
	}
	(void)node_probe_run_advance(r, INT64_MAX / 2); /* past any deadline: forces an end */
	const char *m;
	enum node_probe_result res = node_probe_run_result(r, &m);
	if (msg && msglen)
		snprintf(msg, msglen, "%s", m);
	node_probe_run_free(r);
	return res;
}
