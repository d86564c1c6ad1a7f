/* test_writer.c - the agent's API writer thread (node/writer.h) against a scripted
 * plain-HTTP server on 127.0.0.1: writes go out in order, a newer write with a queued
 * write's key replaces it, a 404 with a fallback POSTs the fallback, a 500 is retried,
 * and stop sends what is still queued. Every wait is bounded (20 s) and condition-based. */
#include "harness/t.h"
#include "node/writer.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"

#define MAX_SEEN 32

struct srv {
	int fd, port;
	pthread_t th;
	pthread_mutex_t mu;
	char seen[MAX_SEEN][256]; /* "METHOD PATH BODY" per request, in arrival order */
	atomic_int nseen;
	atomic_int gate_open;  /* requests to /gate wait for this */
	atomic_int flaky_left; /* /flaky answers 500 this many times */
	atomic_int stop;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Reads one request (headers and Content-Length body) from c into buf. */
static bool read_request(int c, char *buf, size_t cap)
{
	size_t got = 0;
	char *end = NULL;
	for (int i = 0; i < 400 && got < cap - 1; i++) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(c, buf + got, cap - 1 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = 0;
		if (!end)
			end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t body = cl && cl < end ? (size_t)atoi(cl + 17) : 0;
			if (got >= (size_t)(end + 4 - buf) + body)
				return true;
		}
	}
	return end != NULL;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		char req[4096], method[16] = "", path[128] = "";
		if (read_request(c, req, sizeof(req)) && sscanf(req, "%15s %127s", method, path) == 2) {
			const char *body = strstr(req, "\r\n\r\n") + 4;
			if (!strcmp(path, "/gate"))
				for (int i = 0; i < 4000 && !atomic_load(&s->gate_open); i++)
					sleep_ms(5);
			int status = 200;
			if (!strcmp(path, "/gone"))
				status = 404;
			else if (!strcmp(path, "/flaky") && atomic_load(&s->flaky_left) > 0) {
				atomic_fetch_sub(&s->flaky_left, 1);
				status = 500;
			}
			pthread_mutex_lock(&s->mu);
			int n = atomic_load(&s->nseen);
			if (n < MAX_SEEN) {
				snprintf(s->seen[n], sizeof(s->seen[n]), "%s %s %s", method, path, body);
				atomic_store(&s->nseen, n + 1);
			}
			pthread_mutex_unlock(&s->mu);
			char resp[160];
			int rn = snprintf(
			    resp, sizeof(resp),
			    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
			    "Connection: close\r\n\r\n{}",
			    status);
			(void)!write(c, resp, (size_t)rn);
		}
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	ASSERT(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s->fd, 16) == 0);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->mu);
}

static bool wait_seen(struct srv *s, int n)
{
	for (int i = 0; i < 4000 && atomic_load(&s->nseen) < n; i++)
		sleep_ms(5);
	return atomic_load(&s->nseen) >= n;
}

static struct node_writer *writer_for(struct srv *s)
{
	struct client_config cfg;
	client_config_init(&cfg);
	cfg.server = xasprintf("http://127.0.0.1:%d", s->port);
	char err[256] = "";
	struct node_writer *w = node_writer_start(&cfg, err, sizeof(err));
	client_config_fini(&cfg);
	if (!w)
		t_fail(__FILE__, __LINE__, "node_writer_start: %s", err);
	return w;
}

static void put(struct node_writer *w, const char *key, const char *method, const char *path,
		const char *body)
{
	struct node_write wr = {.key = key,
				.method = method,
				.path = xstrdup(path),
				.body = body ? json_loads(body, 0, NULL) : NULL};
	node_writer_put(w, &wr);
}

TEST(writer_order_and_newest_per_key)
{
	struct srv s;
	srv_start(&s);
	struct node_writer *w = writer_for(&s);
	/* The writer is busy on /gate while the rest is queued: "a" is replaced in place. */
	put(w, "gate", "POST", "/gate", NULL);
	for (int i = 0; i < 4000 && atomic_load(&s.nseen) == 0 && node_writer_pending(w) > 0; i++)
		sleep_ms(5); /* taken off the queue: in flight */
	put(w, "a", "PATCH", "/a", "{\"v\":1}");
	put(w, "b", "PATCH", "/b", "{\"v\":1}");
	put(w, "a", "PATCH", "/a", "{\"v\":2}");
	ASSERT_INT_EQ((int)node_writer_pending(w), 2);
	atomic_store(&s.gate_open, 1);
	ASSERT(wait_seen(&s, 3));
	ASSERT_STR_EQ(s.seen[0], "POST /gate ");
	ASSERT_STR_EQ(s.seen[1], "PATCH /a {\"v\":2}");
	ASSERT_STR_EQ(s.seen[2], "PATCH /b {\"v\":1}");
	node_writer_stop(w);
	ASSERT_INT_EQ(atomic_load(&s.nseen), 3); /* nothing more, nothing twice */
	srv_stop(&s);
}

TEST(writer_404_fallback_and_retry)
{
	struct srv s;
	srv_start(&s);
	atomic_store(&s.flaky_left, 1);
	struct node_writer *w = writer_for(&s);
	struct node_write wr = {.key = "ev",
				.method = "PATCH",
				.path = xstrdup("/gone"),
				.body = json_pack("{s:i}", "count", 3),
				.create_path = xstrdup("/create"),
				.create_body = json_pack("{s:i}", "count", 3)};
	node_writer_put(w, &wr);
	ASSERT(wr.path == NULL && wr.body == NULL); /* taken */
	ASSERT(wait_seen(&s, 2));
	ASSERT_STR_EQ(s.seen[0], "PATCH /gone {\"count\":3}");
	ASSERT_STR_EQ(s.seen[1], "POST /create {\"count\":3}");
	/* A 500 is tried again (a second later); then it is done. */
	put(w, "flaky", "DELETE", "/flaky", NULL);
	ASSERT(wait_seen(&s, 4));
	ASSERT_STR_EQ(s.seen[2], "DELETE /flaky ");
	ASSERT_STR_EQ(s.seen[3], "DELETE /flaky ");
	/* Stop sends what is queued, once. */
	put(w, "gate", "POST", "/gate", NULL);
	put(w, "last", "PATCH", "/last", "{}");
	atomic_store(&s.gate_open, 1);
	node_writer_stop(w);
	ASSERT(wait_seen(&s, 6));
	ASSERT_STR_EQ(s.seen[5], "PATCH /last {}");
	srv_stop(&s);
}
