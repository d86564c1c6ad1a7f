/* test_probe.c - probe parsing, kubelet's probe state machine on a fake clock, and live
 * tcpSocket/httpGet/exec checks against listeners and processes this test creates on
 * 127.0.0.1. */
#include "harness/t.h"
#include "node/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

static int parse(const char *probe, const char *container, struct node_probe_spec *s, char *err,
		 size_t el)
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
	ASSERT_INT_EQ(parse("{\"tcpSocket\":{\"port\":\"nope\"}}", "{\"name\":\"web\"}", &s, err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err, "couldn't find port: nope in web");
	ASSERT_INT_EQ(parse("{\"tcpSocket\":{\"port\":\"8080\"},\"periodSeconds\":3}", "{}", &s, err,
			    sizeof(err)),
		      0);
	ASSERT_INT_EQ(s.port, 8080);
	ASSERT_INT_EQ(s.period_s, 3);
	node_probe_spec_fini(&s);
	ASSERT_INT_EQ(parse("{\"grpc\":{\"port\":9000}}", "{}", &s, err, sizeof(err)), -ENOTSUP);
	ASSERT_INT_EQ(parse("{\"periodSeconds\":3}", "{}", &s, err, sizeof(err)), -EINVAL);
	ASSERT_INT_EQ(parse("{\"exec\":{\"command\":[\"cat\",\"/tmp/healthy\"]}}", "{}", &s, err,
			    sizeof(err)),
		      0);
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
	ASSERT(!node_probe_sm_due(&sm, true, t + 9999));	       /* periodSeconds */
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

/* Serves one request on a listener, bounded by a 3 s wait. */
static void *http_one(void *arg)
{
	struct http_srv *h = arg;
	struct pollfd p = {.fd = h->fd, .events = POLLIN};
	if (poll(&p, 1, 3000) <= 0)
		return NULL;
	int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	size_t got = 0;
	for (int i = 0; i < 50 && got < sizeof(h->req) - 1 && !strstr(h->req, "\r\n\r\n"); i++) {
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
		poll(&q, 1, 2000); /* hold the connection until the client gives up */
	}
	close(c);
	return NULL;
}

TEST(probe_live_tcp)
{
	int port, fd = listener(&port);
	struct node_probe_spec s = timings(0, 10, 1, 3);
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
	ASSERT_INT_EQ(http_probe(0, &h, msg, sizeof(msg)), NODE_PROBE_FAILURE); /* timeoutSeconds 1 */
	ASSERT_STR_CONTAINS(msg, "context deadline exceeded");
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
	/* Our own process stands in for a container: the probe joins our namespaces. */
	struct node_probe_target t = {.pod_ip = "127.0.0.1", .pid = getpid()};
	struct node_probe_spec s = timings(0, 10, 1, 3);
	s.handler = NODE_PROBE_EXEC;
	char *ok[] = {(char *)"sh", (char *)"-c", (char *)"echo fine", NULL};
	char *bad[] = {(char *)"sh", (char *)"-c", (char *)"echo broken; exit 3", NULL};
	char *slow[] = {(char *)"sleep", (char *)"5", NULL};
	char *missing[] = {(char *)"no-such-probe-command", NULL};
	char msg[256];
	s.argv = ok;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_SUCCESS);
	ASSERT_STR_EQ(msg, "fine\n");
	s.argv = bad;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "broken\n");
	s.argv = missing;
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_CONTAINS(msg, "executable file not found in $PATH");
	s.argv = slow;
	int64_t t0 = node_probe_now_ms();
	ASSERT_INT_EQ(node_probe_run_sync(&s, &t, msg, sizeof(msg)), NODE_PROBE_FAILURE);
	ASSERT_STR_EQ(msg, "command \"sleep 5\" timed out");
	ASSERT(node_probe_now_ms() - t0 < 3000);
	s.argv = NULL;
}
