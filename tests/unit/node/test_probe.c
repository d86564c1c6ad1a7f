/* test_probe.c - probe parsing, kubelet's probe state machine on a fake clock, and live
 * tcpSocket/httpGet/exec checks against listeners and processes this test creates on
 * 127.0.0.1, httpGet with scheme HTTPS against the project's own TLS server. */
#include "base/clock.h"
#include "harness/t.h"
#include "http/http.h"
#include "http/pki.h"
#include "node/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static json_t *j(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s", e.text);
	return v;
}

static int parse(const char *probe, const char *container, struct node_probe_spec *s, char *err, size_t el)
{
	json_t *p = j(probe), *c = j(container);
	int rc = node_probe_spec_parse(p, c, s, err, el);
	json_decref(p);
	json_decref(c);
	return rc;
}

TEST(probe_spec_defaults_and_ports)
{
	struct node_probe_spec s;
	char err[256];
	ASSERT_INT_EQ(parse("{\"httpGet\":{\"port\":\"http\",\"path\":\"healthz\","
			    "\"httpHeaders\":[{\"name\":\"X-Probe\",\"value\":\"1\"}]}}",
			    "{\"name\":\"web\",\"ports\":[{\"name\":\"http\",\"containerPort\":9376}]}", &s,
			    err, sizeof(err)),
		      0);
	ASSERT_INT_EQ(s.handler, NODE_PROBE_HTTP);
	ASSERT_INT_EQ(s.port, 9376);
	ASSERT_STR_EQ(s.path, "/healthz");
	ASSERT_STR_EQ(s.headers[0], "X-Probe: 1");
	ASSERT_INT_EQ(s.period_s, 10);
	ASSERT_INT_EQ(s.timeout_s, 1);
	ASSERT_INT_EQ(s.success_threshold, 1);
	ASSERT_INT_EQ(s.failure_threshold, 3);
	ASSERT_INT_EQ(s.initial_delay_s, 0);
	node_probe_spec_fini(&s);
	ASSERT_INT_EQ(
	    parse("{\"tcpSocket\":{\"port\":\"nope\"}}", "{\"name\":\"web\"}", &s, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "couldn't find port: nope in web");
	ASSERT_INT_EQ(
	    parse("{\"tcpSocket\":{\"port\":\"8080\"},\"periodSeconds\":3}", "{}", &s, err, sizeof(err)), 0);
	ASSERT_INT_EQ(s.port, 8080);
	ASSERT_INT_EQ(s.period_s, 3);
	node_probe_spec_fini(&s);
	ASSERT_INT_EQ(parse("{\"httpGet\":{\"port\":8443,\"scheme\":\"HTTPS\"}}", "{}", &s, err, sizeof(err)),
		      0);
	ASSERT(s.https);
	ASSERT_STR_EQ(s.path, "/");
	node_probe_spec_fini(&s);
	ASSERT_INT_EQ(parse("{\"httpGet\":{\"port\":80}}", "{}", &s, err, sizeof(err)), 0);
	ASSERT(!s.https); /* HTTP is the default */
	node_probe_spec_fini(&s);
	ASSERT_INT_EQ(parse("{\"httpGet\":{\"port\":80,\"scheme\":\"FTP\"}}", "{}", &s, err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err, "unsupported HTTP probe scheme: FTP");
	ASSERT_INT_EQ(parse("{\"grpc\":{\"port\":9000}}", "{}", &s, err, sizeof(err)), -ENOTSUP);
	ASSERT_INT_EQ(parse("{\"periodSeconds\":3}", "{}", &s, err, sizeof(err)), -EINVAL);
	ASSERT_INT_EQ(
	    parse("{\"exec\":{\"command\":[\"cat\",\"/tmp/healthy\"]}}", "{}", &s, err, sizeof(err)), 0);
	ASSERT_STR_EQ(s.argv[1], "/tmp/healthy");
	ASSERT(s.argv[2] == NULL);
	node_probe_spec_fini(&s);
}

static struct node_probe_spec timings(int delay, int period, int succ, int fail)
{
	struct node_probe_spec s = {0};
	s.initial_delay_s = delay;
	s.period_s = period;
	s.timeout_s = 1;
	s.success_threshold = succ;
	s.failure_threshold = fail;
	return s;
}

TEST(probe_sm_readiness_thresholds)
{
	struct node_probe_spec s = timings(5, 10, 2, 3);
	struct node_probe_sm sm;
	node_probe_sm_init(&sm, NODE_PROBE_READINESS, &s);
	ASSERT_INT_EQ(sm.result, NODE_PROBE_FAILURE); /* not ready before anything runs */
	ASSERT(!node_probe_sm_due(&sm, true, 0));     /* container not running yet */
	int64_t t = 1000;
	node_probe_sm_container_started(&sm, t);
	ASSERT(!node_probe_sm_due(&sm, true, t + 4999)); /* initialDelaySeconds */
	ASSERT_INT_EQ(node_probe_sm_next_ms(&sm), t + 5000);
	t += 5000;
	ASSERT(node_probe_sm_due(&sm, true, t));
	ASSERT(!node_probe_sm_record(&sm, NODE_PROBE_SUCCESS, t)); /* 1 of 2 successes */
	ASSERT(!node_probe_sm_due(&sm, true, t + 9999));	   /* periodSeconds */
	t += 10000;
	ASSERT(node_probe_sm_due(&sm, true, t));
	ASSERT(node_probe_sm_record(&sm, NODE_PROBE_SUCCESS, t)); /* ready */
	ASSERT_INT_EQ(sm.result, NODE_PROBE_SUCCESS);
	/* A prober error is thrown away and breaks no run. */
	t += 10000;
	ASSERT(node_probe_sm_due(&sm, true, t));
	ASSERT(!node_probe_sm_record(&sm, NODE_PROBE_UNKNOWN, t));
	for (int i = 0; i < 2; i++) {
		t += 10000;
		ASSERT(node_probe_sm_due(&sm, true, t));
		ASSERT(!node_probe_sm_record(&sm, NODE_PROBE_FAILURE, t));
	}
	ASSERT_INT_EQ(sm.result, NODE_PROBE_SUCCESS);
	t += 10000;
	ASSERT(node_probe_sm_due(&sm, true, t));
	ASSERT(node_probe_sm_record(&sm, NODE_PROBE_FAILURE, t)); /* 3rd failure: not ready */
	ASSERT_INT_EQ(sm.result, NODE_PROBE_FAILURE);
	/* Readiness keeps probing after a failure. */
	t += 10000;
	ASSERT(node_probe_sm_due(&sm, true, t));
	node_probe_sm_container_stopped(&sm);
	ASSERT_INT_EQ(sm.result, NODE_PROBE_FAILURE);
	ASSERT_INT_EQ(node_probe_sm_next_ms(&sm), INT64_MAX);
}

TEST(probe_sm_liveness_holds_after_failure)
{
	struct node_probe_spec s = timings(0, 1, 5, 2);
	struct node_probe_sm sm;
	node_probe_sm_init(&sm, NODE_PROBE_LIVENESS, &s);
	ASSERT_INT_EQ(sm.success_threshold, 1); /* forced to 1 for liveness */
	node_probe_sm_container_started(&sm, 0);
	ASSERT_INT_EQ(sm.result, NODE_PROBE_SUCCESS);
	ASSERT(node_probe_sm_due(&sm, true, 0));
	ASSERT(!node_probe_sm_record(&sm, NODE_PROBE_FAILURE, 0));
	ASSERT(node_probe_sm_due(&sm, true, 1000));
	ASSERT(node_probe_sm_record(&sm, NODE_PROBE_FAILURE, 1000)); /* restart it */
	ASSERT(sm.on_hold);
	ASSERT(!node_probe_sm_due(&sm, true, 5000));
	/* The restarted container starts over from Success. */
	node_probe_sm_container_started(&sm, 6000);
	ASSERT_INT_EQ(sm.result, NODE_PROBE_SUCCESS);
	ASSERT(node_probe_sm_due(&sm, true, 6000));
	/* Not started yet (startup probe pending): liveness waits. */
	node_probe_sm_container_started(&sm, 7000);
	ASSERT(!node_probe_sm_due(&sm, false, 7000));
}

TEST(probe_sm_startup_gates_others)
{
	struct node_probe_spec s = timings(0, 2, 1, 3);
	struct node_probe_sm st, rd;
	node_probe_sm_init(&st, NODE_PROBE_STARTUP, &s);
	node_probe_sm_init(&rd, NODE_PROBE_READINESS, &s);
	node_probe_sm_container_started(&st, 0);
	node_probe_sm_container_started(&rd, 0);
	ASSERT_INT_EQ(st.result, NODE_PROBE_UNKNOWN);
	bool started = false;
	ASSERT(!node_probe_sm_due(&rd, started, 0));
	ASSERT(node_probe_sm_due(&st, started, 0));
	ASSERT(node_probe_sm_record(&st, NODE_PROBE_SUCCESS, 0));
	started = st.result == NODE_PROBE_SUCCESS;
	ASSERT(!node_probe_sm_due(&st, started, 2000)); /* startup stops once started */
	ASSERT(node_probe_sm_due(&rd, started, 2000));
}

/* ---- live checks ---- */

static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		t_fail(__FILE__, __LINE__, "listener: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return fd;
}

struct http_srv {
	int fd;
	int status; /* 0 = never answer */
	char req[2048];
};

/* timeoutSeconds of the live checks: generous, so a busy machine cannot turn an
 * expected success into a timeout; the tests of timeouts lower it to 1 for one call. */
static int live_timeout_s = 10;

/* Serves one request on a listener, bounded by a 20 s wait (generous: a busy machine). */
static void *http_one(void *arg)
{
	struct http_srv *h = arg;
	struct pollfd p = {.fd = h->fd, .events = POLLIN};
	if (poll(&p, 1, 20000) <= 0)
		return NULL;
	int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	size_t got = 0;
	for (int i = 0; i < 200 && got < sizeof(h->req) - 1 && !strstr(h->req, "\r\n\r\n"); i++) {
		struct pollfd q = {.fd = c, .events = POLLIN};
		if (poll(&q, 1, 100) <= 0)
			continue;
		ssize_t n = read(c, h->req + got, sizeof(h->req) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		h->req[got] = 0;
	}
	if (h->status) {
		char resp[128];
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", h->status);
		(void)!write(c, resp, (size_t)n);
	} else {
		struct pollfd q = {.fd = c, .events = POLLIN};
		poll(&q, 1, 20000); /* hold the connection until the client gives up (EOF) */
	}
	close(c);
	return NULL;
}

TEST(probe_live_tcp)
{
	int port, fd = listener(&port);
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.timeout_s = live_timeout_s;
	s.handler = NODE_PROBE_TCP;
	s.port = port;
	struct node_probe_target t = {.pod_ip = "127.0.0.1"};
	char msg[256];
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	close(fd);
	/* The port is closed now: refused. */
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	char want[128];
	snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: connect: connection refused", port);
	ASSERT_STR_EQ(msg, want);
}

static enum node_probe_result http_probe(int status, struct http_srv *h, char *msg, size_t ml)
{
	int port;
	h->fd = listener(&port);
	h->status = status;
	pthread_t th;
	pthread_create(&th, NULL, http_one, h);
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.timeout_s = live_timeout_s;
	s.handler = NODE_PROBE_HTTP;
	s.port = port;
	s.path = (char *)"/healthz?x=1";
	char *headers[] = {(char *)"X-Custom: yes", (char *)"Host: probe.example", NULL};
	s.headers = headers;
	struct node_probe_target t = {.pod_ip = "127.0.0.1"};
	enum node_probe_result r = node_probe_run_sync(&s, &t, msg, ml);
	pthread_join(th, NULL);
	close(h->fd);
	return r;
}

TEST(probe_live_http)
{
	struct http_srv h = {0};
	char msg[512];
	ASSERT_INT_EQ(http_probe(200, &h, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_CONTAINS(h.req, "GET /healthz?x=1 HTTP/1.1\r\n");
	ASSERT_STR_CONTAINS(h.req, "\r\nHost: probe.example\r\n");
	ASSERT_STR_CONTAINS(h.req, "\r\nX-Custom: yes\r\n");
	ASSERT_STR_CONTAINS(h.req, "\r\nUser-Agent: kube-probe/");
	memset(&h, 0, sizeof(h));
	ASSERT_INT_EQ(http_probe(302, &h, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	memset(&h, 0, sizeof(h));
	ASSERT_INT_EQ(http_probe(500, &h, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "HTTP probe failed with statuscode: 500");
	memset(&h, 0, sizeof(h));
	live_timeout_s = 1;
	enum node_probe_result r0 = http_probe(0, &h, msg, sizeof(msg));
	live_timeout_s = 10;
	ASSERT_INT_EQ(r0, NODE_PROBE_FAILURE);
	ASSERT_STR_CONTAINS(msg, "context deadline exceeded");
	ASSERT_STR_CONTAINS(msg, "timeout after 1s");
}

TEST(probe_live_http_default_host_header)
{
	int port;
	struct http_srv h = {.status = 204};
	h.fd = listener(&port);
	pthread_t th;
	pthread_create(&th, NULL, http_one, &h);
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.handler = NODE_PROBE_HTTP;
	s.port = port;
	s.path = (char *)"/";
	struct node_probe_target t = {.pod_ip = "127.0.0.1"};
	enum node_probe_result r = node_probe_run_sync(&s, &t, NULL, 0);
	pthread_join(th, NULL);
	close(h.fd);
	ASSERT_INT_EQ(r, NODE_PROBE_SUCCESS);
	char want[64];
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", port);
	ASSERT_STR_CONTAINS(h.req, want);
}

TEST(probe_live_exec)
{
	if (geteuid() != 0)
		t_skip("exec probes join namespaces: needs root");
	/* Our own process stands in for a container: the probe joins our namespaces; its
	 * environment and working dir are the ones the target gives, not ours. */
	char *const env[] = {(char *)"PATH=/usr/bin:/bin", (char *)"PROBE_VAR=from-runtime", NULL};
	struct node_probe_target t = {.pod_ip = "127.0.0.1", .pid = getpid(), .env = env, .cwd = "/tmp"};
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.timeout_s = live_timeout_s;
	s.handler = NODE_PROBE_EXEC;
	char *ok[] = {(char *)"sh", (char *)"-c", (char *)"echo fine", NULL};
	char *ctx[] = {(char *)"sh", (char *)"-c", (char *)"echo $PROBE_VAR $(pwd)", NULL};
	char *quiet[] = {(char *)"sh", (char *)"-c", (char *)"exit 4", NULL};
	char *bad[] = {(char *)"sh", (char *)"-c", (char *)"echo broken; exit 3", NULL};
	char *slow[] = {(char *)"sleep", (char *)"5", NULL};
	char *missing[] = {(char *)"no-such-probe-command", NULL};
	char msg[256];
	s.argv = ok;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_EQ(msg, "fine\n");
	s.argv = ctx;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_EQ(msg, "from-runtime /tmp\n");
	s.argv = bad;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "command \"sh -c echo broken; exit 3\" exited with code 3: broken\n");
	s.argv = quiet;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "command \"sh -c exit 4\" exited with code 4 and printed nothing");
	s.argv = missing;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_CONTAINS(msg, "executable file not found in $PATH");
	s.argv = slow;
	s.timeout_s = 1;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "command \"sleep 5\" timed out: timeout after 1s");
	/* A container that is gone is a failure that says so. */
	t.pid = 0;
	s.argv = ok;
	s.timeout_s = live_timeout_s;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "container is not running");
	s.argv = NULL;
}

/* ---- HTTPS ---- */

/* The project's own server stands in for a pod: TLS with a certificate from pki_ensure()
 * that the probe must not verify (its CA is nowhere in a trust store). */
struct tls_srv {
	char dir[64];
	struct httpd *d;
	int port;
	pthread_mutex_t mu;
	char path[64], host[128], ua[128], accept[64];
};

static void copy_header(char *dst, size_t n, const struct http_req *r, const char *name)
{
	const char *v = http_req_header(r, name);
	snprintf(dst, n, "%s", v ? v : "");
}

static void tls_handler(void *ud, struct http_conn *c, struct http_req *r)
{
	struct tls_srv *s = ud;
	pthread_mutex_lock(&s->mu);
	snprintf(s->path, sizeof(s->path), "%s", r->path);
	copy_header(s->host, sizeof(s->host), r, "Host");
	copy_header(s->ua, sizeof(s->ua), r, "User-Agent");
	copy_header(s->accept, sizeof(s->accept), r, "Accept");
	pthread_mutex_unlock(&s->mu);
	if (strcmp(r->path, "/ok") == 0)
		http_send(c, 200, "text/plain", "", "ok\n", 3);
	else if (strcmp(r->path, "/redir") == 0)
		http_send(c, 301, "text/plain", "Location: /ok\r\n", "", 0);
	else
		http_send(c, 500, "text/plain", "", "bad\n", 4);
}

/* Starts the server, with TLS when tls is set. */
static void tls_srv_start(struct tls_srv *s, bool tls)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->dir, sizeof(s->dir), "/tmp/svcplane-probe-XXXXXX");
	if (!mkdtemp(s->dir))
		t_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
	char err[256], cert[128], key[128];
	snprintf(cert, sizeof(cert), "%s/server.crt", s->dir);
	snprintf(key, sizeof(key), "%s/server.key", s->dir);
	if (tls && pki_ensure(s->dir, NULL, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "pki_ensure: %s", err);
	struct httpd_opts o = {.bind_address = "127.0.0.1",
			       .cert_file = tls ? cert : NULL,
			       .key_file = tls ? key : NULL,
			       .idle_timeout_ms = 2000};
	if (httpd_start(&o, tls_handler, s, &s->d, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", err);
	s->port = httpd_port(s->d);
}

static void tls_srv_stop(struct tls_srv *s)
{
	httpd_stop(s->d);
	static const char *const files[] = {"ca.crt", "ca.key", "server.crt", "server.key"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char f[128];
		snprintf(f, sizeof(f), "%s/%s", s->dir, files[i]);
		unlink(f);
	}
	rmdir(s->dir);
	pthread_mutex_destroy(&s->mu);
}

static enum node_probe_result https_probe(int port, const char *path, char **headers, char *msg, size_t ml)
{
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.timeout_s = live_timeout_s;
	s.handler = NODE_PROBE_HTTP;
	s.https = true;
	s.port = port;
	s.path = (char *)path;
	s.headers = headers;
	struct node_probe_target t = {.pod_ip = "127.0.0.1"};
	return node_probe_run_sync(&s, &t, msg, ml);
}

TEST(probe_live_https)
{
	struct tls_srv srv;
	tls_srv_start(&srv, true);
	char msg[512];
	ASSERT_INT_EQ(https_probe(srv.port, "/ok", NULL, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_EQ(msg, "HTTP probe succeeded with statuscode: 200");
	/* The same request as a plain-HTTP probe: Host, kubelet's User-Agent, Accept. */
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", srv.port);
	pthread_mutex_lock(&srv.mu);
	ASSERT_STR_EQ(srv.path, "/ok");
	ASSERT_STR_EQ(srv.host, want);
	ASSERT_STR_CONTAINS(srv.ua, "kube-probe/");
	ASSERT_STR_EQ(srv.accept, "*/*");
	pthread_mutex_unlock(&srv.mu);
	ASSERT_INT_EQ(https_probe(srv.port, "/bad", NULL, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "HTTP probe failed with statuscode: 500");
	/* A redirect is not followed and passes, as over plain HTTP. */
	ASSERT_INT_EQ(https_probe(srv.port, "/redir", NULL, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_EQ(msg, "HTTP probe succeeded with statuscode: 301");
	pthread_mutex_lock(&srv.mu);
	ASSERT_STR_EQ(srv.path, "/redir");
	pthread_mutex_unlock(&srv.mu);
	/* httpHeaders override the defaults. */
	char *headers[] = {(char *)"Host: probe.example", (char *)"User-Agent: custom", NULL};
	ASSERT_INT_EQ(https_probe(srv.port, "/ok", headers, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	pthread_mutex_lock(&srv.mu);
	ASSERT_STR_EQ(srv.host, "probe.example");
	ASSERT_STR_EQ(srv.ua, "custom");
	pthread_mutex_unlock(&srv.mu);
	tls_srv_stop(&srv);
}

TEST(probe_live_https_to_plain_http_server)
{
	struct tls_srv srv;
	tls_srv_start(&srv, false);
	char msg[512], want[256];
	ASSERT_INT_EQ(https_probe(srv.port, "/ok", NULL, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	snprintf(want, sizeof(want),
		 "Get \"https://127.0.0.1:%d/ok\": http: server gave HTTP response to HTTPS client",
		 srv.port);
	ASSERT_STR_EQ(msg, want);
	tls_srv_stop(&srv);
}

TEST(probe_live_https_timeout)
{
	/* Listening but never accepting: TCP connects (the backlog), the handshake never
	 * gets an answer. timeoutSeconds covers it. */
	int port, fd = listener(&port);
	char msg[512], want[256];
	live_timeout_s = 1;
	enum node_probe_result r = https_probe(port, "/healthz", NULL, msg, sizeof(msg));
	live_timeout_s = 10;
	ASSERT_INT_EQ(r, NODE_PROBE_FAILURE);
	snprintf(want, sizeof(want),
		 "Get \"https://127.0.0.1:%d/healthz\": context deadline exceeded (Client.Timeout "
		 "exceeded while awaiting headers; timeout after 1s)",
		 port);
	ASSERT_STR_EQ(msg, want);
	close(fd);
}

/* A server that reads the ClientHello, answers reply (may be empty) and closes. */
struct raw_srv {
	int fd;
	const char *reply;
	size_t reply_len;
	unsigned char hello[4096];
	size_t hello_len;
};

static void *raw_one(void *arg)
{
	struct raw_srv *h = arg;
	struct pollfd p = {.fd = h->fd, .events = POLLIN};
	if (poll(&p, 1, 3000) <= 0)
		return NULL;
	int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	/* Read the whole first record, so closing sends a FIN and not a reset. */
	for (int i = 0; i < 30 && h->hello_len < sizeof(h->hello); i++) {
		if (h->hello_len >= 5 && h->hello_len >= 5 + (size_t)(h->hello[3] << 8 | h->hello[4]))
			break;
		struct pollfd q = {.fd = c, .events = POLLIN};
		if (poll(&q, 1, 100) <= 0)
			continue;
		ssize_t n = read(c, h->hello + h->hello_len, sizeof(h->hello) - h->hello_len);
		if (n <= 0)
			break;
		h->hello_len += (size_t)n;
	}
	if (h->reply_len)
		(void)!write(c, h->reply, h->reply_len);
	close(c);
	return NULL;
}

static enum node_probe_result raw_probe(struct raw_srv *h, int *port, char *msg, size_t ml)
{
	h->fd = listener(port);
	pthread_t th;
	pthread_create(&th, NULL, raw_one, h);
	enum node_probe_result r = https_probe(*port, "/healthz", NULL, msg, ml);
	pthread_join(th, NULL);
	close(h->fd);
	return r;
}

TEST(probe_live_https_handshake_failures)
{
	char msg[512], want[256];
	int port;
	/* A fatal handshake_failure alert (TLS 1.2 record: type 21, level 2, code 40). */
	static const char alert[] = "\x15\x03\x03\x00\x02\x02\x28";
	struct raw_srv h = {.reply = alert, .reply_len = sizeof(alert) - 1};
	ASSERT_INT_EQ(raw_probe(&h, &port, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	snprintf(want, sizeof(want),
		 "Get \"https://127.0.0.1:%d/healthz\": remote error: tls: handshake failure", port);
	ASSERT_STR_EQ(msg, want);
	/* It was a ClientHello, and without SNI: the host is an IP address. */
	ASSERT(h.hello_len > 5 && h.hello[0] == 0x16);
	ASSERT(memmem(h.hello, h.hello_len, "127.0.0.1", 9) == NULL);

	/* Closed without a word. */
	memset(&h, 0, sizeof(h));
	ASSERT_INT_EQ(raw_probe(&h, &port, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	snprintf(want, sizeof(want), "Get \"https://127.0.0.1:%d/healthz\": EOF", port);
	ASSERT_STR_EQ(msg, want);

	/* Something that is neither TLS nor HTTP. */
	memset(&h, 0, sizeof(h));
	h.reply = "SSH-2.0-OpenSSH_9.6\r\n";
	h.reply_len = strlen(h.reply);
	ASSERT_INT_EQ(raw_probe(&h, &port, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	snprintf(want, sizeof(want),
		 "Get \"https://127.0.0.1:%d/healthz\": tls: first record does not look like a TLS "
		 "handshake",
		 port);
	ASSERT_STR_EQ(msg, want);
}

/* The check never blocks: driven by hand, the handshake asks for the socket's readiness
 * through node_probe_run_fd like any other step. */
TEST(probe_live_https_nonblocking_steps)
{
	struct tls_srv srv;
	tls_srv_start(&srv, true);
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.handler = NODE_PROBE_HTTP;
	s.https = true;
	s.port = srv.port;
	s.path = (char *)"/ok";
	struct node_probe_target t = {.pod_ip = "127.0.0.1"};
	struct node_probe_run *r;
	/* Each run must succeed through the poll-driven steps. At least one run must have
	 * waited for input (POLLIN): a single run may not, when a busy machine preempts the
	 * prober between its write and its read long enough for the server's reply to be
	 * there already, so the property is checked over up to 20 runs. */
	bool saw_in = false;
	for (int run = 0; run < 20 && !saw_in; run++) {
		int64_t now = clock_mono_ms();
		ASSERT_INT_EQ(node_probe_run_start(&s, &t, now, &r), 0);
		int steps = 0;
		while (!node_probe_run_advance(r, now) && steps < 1000) {
			short ev = 0;
			int fd = node_probe_run_fd(r, &ev);
			ASSERT(fd >= 0);
			ASSERT(ev == POLLIN || ev == POLLOUT);
			saw_in |= ev == POLLIN;
			struct pollfd p = {.fd = fd, .events = ev};
			poll(&p, 1, 200);
			now = clock_mono_ms();
			steps++;
		}
		const char *m;
		ASSERT_INT_EQ(node_probe_run_result(r, &m), NODE_PROBE_SUCCESS);
		short ev;
		ASSERT_INT_EQ(node_probe_run_fd(r, &ev), -1);
		node_probe_run_free(r);
	}
	ASSERT(saw_in);

	/* Freed in the middle of the handshake: nothing leaks (ASan). */
	ASSERT_INT_EQ(node_probe_run_start(&s, &t, clock_mono_ms(), &r), 0);
	(void)node_probe_run_advance(r, clock_mono_ms());
	node_probe_run_free(r);
	tls_srv_stop(&srv);
}
