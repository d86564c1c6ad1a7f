/* test_logsrv.c - the container log endpoint: path and query parsing, "last N lines"
 * over one buffer and block by block, and a live node_logsrv on 127.0.0.1 (port 0, a
 * temporary log dir) fetched over HTTPS with libcurl: the token check, current and
 * previous instances, tailLines, limitBytes, since, the errors, and follow (new bytes
 * arrive; the stream ends when the container restarts). */
#include "harness/t.h"
#include "node/logsrv.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"

#include "node/logsrv_internal.h"

TEST(logsrv_path_parse)
{
	char *ns, *pod, *c;
	ASSERT_INT_EQ(node__logsrv_path_parse("/containerLogs/default/web-1/app", &ns, &pod, &c), 0);
	ASSERT_STR_EQ(ns, "default");
	ASSERT_STR_EQ(pod, "web-1");
	ASSERT_STR_EQ(c, "app");
	free(ns);
	free(pod);
	free(c);
	static const char *const bad[] = {
	    "/containerLogs/default/web-1",
	    "/containerLogs/default/web-1/app/x",
	    "/containerLogs/default//app",
	    "/containerLogs/../web/app",
	    "/containerLogs/default/../app",
	    "/containerLogs/default/Web/app",
	    "/containerLogs/de_fault/web/app",
	    "/containerLogs/default/web/app/",
	    "/containerlogs/default/web/app",
	    "/containerLogs/default/web/.",
	    "/stats/summary",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (node__logsrv_path_parse(bad[i], &ns, &pod, &c) != -ENOENT)
			t_fail(__FILE__, __LINE__, "path %s accepted", bad[i]);
	}
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	char *p = xasprintf("/containerLogs/default/%s/app", long_name);
	ASSERT_INT_EQ(node__logsrv_path_parse(p, &ns, &pod, &c), -ENOENT);
	free(p);
}

TEST(logsrv_query_parse)
{
	struct node__logsrv_query q;
	char err[256] = "";
	ASSERT_INT_EQ(node__logsrv_query_parse("", &q, err, sizeof(err)), 0);
	ASSERT(!q.follow && !q.previous && !q.timestamps && !q.has_since_time);
	ASSERT_INT_EQ(q.tail_lines, -1);
	ASSERT_INT_EQ(q.limit_bytes, -1);
	ASSERT_INT_EQ(q.since_seconds, -1);
	ASSERT_INT_EQ(
	    node__logsrv_query_parse("follow=true&previous=1&timestamps=True&tailLines=0&limitBytes=10"
				     "&sinceTime=2024-01-02T03%3A04%3A05Z",
				     &q, err, sizeof(err)),
	    0);
	ASSERT(q.follow && q.previous && q.timestamps && q.has_since_time);
	ASSERT_INT_EQ(q.tail_lines, 0);
	ASSERT_INT_EQ(q.limit_bytes, 10);
	ASSERT_INT_EQ(q.since_time, 1704164645);
	ASSERT_INT_EQ(node__logsrv_query_parse("follow=false&sinceSeconds=5", &q, err, sizeof(err)), 0);
	ASSERT(!q.follow);
	ASSERT_INT_EQ(q.since_seconds, 5);

	static const struct {
		const char *q, *msg;
	} bad[] = {
	    {"tailLines=-1", "tailLines: Invalid value: -1: must be greater than or equal to 0"},
	    {"tailLines=abc", "tailLines: Invalid value: \"abc\": must be an integer"},
	    {"tailLines=", "tailLines: Invalid value: \"\": must be an integer"},
	    {"tailLines=1x", "tailLines: Invalid value: \"1x\": must be an integer"},
	    {"tailLines=99999999999999999999", "must be an integer"},
	    {"limitBytes=0", "limitBytes: Invalid value: 0: must be greater than 0"},
	    {"sinceSeconds=0", "sinceSeconds: Invalid value: 0: must be greater than 0"},
	    {"follow=yes", "follow: Invalid value: \"yes\": must be a boolean"},
	    {"sinceTime=yesterday", "sinceTime: Invalid value: \"yesterday\": must be an RFC 3339 time"},
	    {"sinceSeconds=5&sinceTime=2024-01-02T03:04:05Z", "at most one of `sinceTime` or `sinceSeconds`"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (node__logsrv_query_parse(bad[i].q, &q, err, sizeof(err)) != -EINVAL)
			t_fail(__FILE__, __LINE__, "query %s accepted", bad[i].q);
		ASSERT_STR_CONTAINS(err, bad[i].msg);
	}
}

TEST(logsrv_tail_start)
{
	const char *s = "a\nbb\nccc\n";
	size_t n = strlen(s);
	ASSERT_INT_EQ(node__logsrv_tail_start(s, n, 0), n);
	ASSERT_INT_EQ(node__logsrv_tail_start(s, n, 1), 5);
	ASSERT_INT_EQ(node__logsrv_tail_start(s, n, 2), 2);
	ASSERT_INT_EQ(node__logsrv_tail_start(s, n, 3), 0);
	ASSERT_INT_EQ(node__logsrv_tail_start(s, n, 100), 0);
	/* An unterminated last line is a line. */
	const char *u = "a\nbb\nccc";
	ASSERT_INT_EQ(node__logsrv_tail_start(u, strlen(u), 1), 5);
	ASSERT_INT_EQ(node__logsrv_tail_start(u, strlen(u), 2), 2);
	/* Empty lines count. */
	const char *e = "a\n\n\n";
	ASSERT_INT_EQ(node__logsrv_tail_start(e, strlen(e), 1), 3);
	ASSERT_INT_EQ(node__logsrv_tail_start(e, strlen(e), 2), 2);
	ASSERT_INT_EQ(node__logsrv_tail_start("", 0, 3), 0);
	ASSERT_INT_EQ(node__logsrv_tail_start("\n", 1, 1), 0);
	ASSERT_INT_EQ(node__logsrv_tail_start("x", 1, 1), 0);
}

/* Block by block from the end gives the same answer as one buffer, for every block size. */
TEST(logsrv_tail_scan_blocks)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "line %d%s\n", i, i % 7 ? "" : " with more words");
	for (long long n = 0; n <= 60; n += 3) {
		size_t want = node__logsrv_tail_start(b.data, b.len, n);
		for (size_t bs = 1; bs <= 40; bs += 13) {
			long long rem = n, end = (long long)b.len, got = -1;
			for (int guard = 0; guard < 100000 && got < 0; guard++) {
				long long base = end > (long long)bs ? end - (long long)bs : 0;
				got = node__logsrv_tail_scan(b.data + base, (size_t)(end - base), base,
							     (long long)b.len, &rem);
				end = base;
			}
			if (got != (long long)want)
				t_fail(__FILE__, __LINE__, "n=%lld block=%zu: %lld != %zu", n, bs, got, want);
		}
	}
	buf_fini(&b);
}

/* ---- live ---- */

static char *tmpdir;

static void write_file(const char *path, const char *data, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		t_fail(__FILE__, __LINE__, "cannot write %s", path);
	fputs(data, f);
	fclose(f);
}

static void rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	free(cmd);
}

struct fetch {
	struct buf body;
	long code;
	const char *stop_at; /* end the transfer once the body contains this */
	atomic_size_t got;   /* bytes received so far: other threads wait on it */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct fetch *f = ud;
	buf_append(&f->body, p, sz * n);
	atomic_fetch_add(&f->got, sz * n);
	if (f->stop_at && f->body.data && strstr(f->body.data, f->stop_at))
		return 0;
	return sz * n;
}

/* GET https://127.0.0.1:port<path> with token (NULL = none); bounded to 10 s. */
static CURLcode fetch(int port, const char *ca, const char *token, const char *path, struct fetch *f)
{
	buf_init(&f->body);
	buf_puts(&f->body, "");
	f->code = 0;
	CURL *c = curl_easy_init();
	char *url = xasprintf("https://127.0.0.1:%d%s", port, path);
	struct curl_slist *h = NULL;
	char *auth = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	if (auth)
		h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(auth);
	free(url);
	return cc;
}

struct srv {
	struct node_logsrv *s;
	int port;
	char *ca, *logs, *cdir;
};

static void srv_start(struct srv *v)
{
	char tmpl[] = "/tmp/svcplane-logsrv-XXXXXX";
	tmpdir = xstrdup(mkdtemp(tmpl));
	v->logs = xasprintf("%s/logs", tmpdir);
	char *pki = xasprintf("%s/pki", tmpdir);
	v->ca = xasprintf("%s/ca.crt", pki);
	char *pdir = xasprintf("%s/default_web_1111-2222", v->logs);
	v->cdir = xasprintf("%s/app", pdir);
	char *one = xasprintf("%s/one", pdir);
	mkdir(v->logs, 0700);
	mkdir(pdir, 0700);
	mkdir(v->cdir, 0700);
	mkdir(one, 0700);
	char *p0 = xasprintf("%s/0.log", v->cdir), *p1 = xasprintf("%s/1.log", v->cdir);
	char *o0 = xasprintf("%s/0.log", one);
	write_file(p0, "first run\ncrashed\n", "w");
	write_file(p1, "hello\nline1\nline2\nline3\n", "w");
	write_file(o0, "only once\n", "w");
	struct node_logsrv_opts o = {.bind_address = "127.0.0.1",
				     .port = 0,
				     .log_dir = v->logs,
				     .pki_dir = pki,
				     .token = "s3cret-token"};
	char err[256] = "";
	int rc = node_logsrv_start(&o, &v->s, err, sizeof(err));
	if (rc < 0)
		t_fail(__FILE__, __LINE__, "start: %s", err);
	v->port = node_logsrv_port(v->s);
	free(p0);
	free(p1);
	free(o0);
	free(one);
	free(pdir);
	free(pki);
}

static void srv_stop(struct srv *v)
{
	node_logsrv_stop(v->s);
	rm_rf(tmpdir);
	free(tmpdir);
	free(v->ca);
	free(v->logs);
	free(v->cdir);
}

/* The answer's code and body (the body in a static buffer). */
static const char *get(struct srv *v, const char *token, const char *path, long *code)
{
	static char out[4096];
	struct fetch f = {0};
	CURLcode cc = fetch(v->port, v->ca, token, path, &f);
	if (cc != CURLE_OK)
		t_fail(__FILE__, __LINE__, "GET %s: %s", path, curl_easy_strerror(cc));
	*code = f.code;
	snprintf(out, sizeof(out), "%s", f.body.data);
	buf_fini(&f.body);
	return out;
}

TEST(logsrv_live)
{
	struct srv v;
	srv_start(&v);
	long code;
	const char *b;
	b = get(&v, NULL, "/containerLogs/default/web/app", &code);
	ASSERT_INT_EQ(code, 401);
	b = get(&v, "wrong-token", "/containerLogs/default/web/app", &code);
	ASSERT_INT_EQ(code, 401);
	b = get(&v, "s3cret-token-", "/containerLogs/default/web/app", &code);
	ASSERT_INT_EQ(code, 401);

	b = get(&v, "s3cret-token", "/containerLogs/default/web/app", &code);
	ASSERT_INT_EQ(code, 200);
	ASSERT_STR_EQ(b, "hello\nline1\nline2\nline3\n");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?previous=true", &code);
	ASSERT_INT_EQ(code, 200);
	ASSERT_STR_EQ(b, "first run\ncrashed\n");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?tailLines=2", &code);
	ASSERT_STR_EQ(b, "line2\nline3\n");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?tailLines=0", &code);
	ASSERT_INT_EQ(code, 200);
	ASSERT_STR_EQ(b, "");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?limitBytes=8", &code);
	ASSERT_STR_EQ(b, "hello\nli");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?tailLines=1&limitBytes=3", &code);
	ASSERT_STR_EQ(b, "lin");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?sinceSeconds=3600&timestamps=true",
		&code);
	ASSERT_STR_EQ(b, "hello\nline1\nline2\nline3\n");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?sinceTime=2000-01-01T00:00:00Z", &code);
	ASSERT_STR_EQ(b, "hello\nline1\nline2\nline3\n");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?sinceTime=2999-01-01T00:00:00Z", &code);
	ASSERT_INT_EQ(code, 200);
	ASSERT_STR_EQ(b, "");

	b = get(&v, "s3cret-token", "/containerLogs/default/web/one?previous=true", &code);
	ASSERT_INT_EQ(code, 400);
	ASSERT_STR_EQ(b, "previous terminated container \"one\" in pod \"web\" not found");
	b = get(&v, "s3cret-token", "/containerLogs/default/nope/app", &code);
	ASSERT_INT_EQ(code, 404);
	ASSERT_STR_EQ(b, "pod \"default/nope\" does not exist");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/nope", &code);
	ASSERT_INT_EQ(code, 404);
	ASSERT_STR_EQ(b, "container \"nope\" not found in pod \"default/web\"");
	b = get(&v, "s3cret-token", "/containerLogs/other/web/app", &code);
	ASSERT_INT_EQ(code, 404);
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?tailLines=-1", &code);
	ASSERT_INT_EQ(code, 400);
	ASSERT_STR_EQ(b, "tailLines: Invalid value: -1: must be greater than or equal to 0");
	b = get(&v, "s3cret-token", "/containerLogs/default/web/app?limitBytes=0", &code);
	ASSERT_INT_EQ(code, 400);
	b = get(&v, "s3cret-token", "/containerLogs/default/../app", &code);
	ASSERT_INT_EQ(code, 404);
	b = get(&v, "s3cret-token", "/pods", &code);
	ASSERT_INT_EQ(code, 404);
	srv_stop(&v);
}

struct writer {
	const char *cdir;
	bool restart;	 /* create 2.log at the end */
	struct fetch *f; /* the follower: each write waits until it has what came before */
};

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (bounded: 20 s) until f has received more than n bytes. A condition, not a
 * delay: on a busy machine the follower may take long to connect, and a line written
 * before it read the tail would be counted in the tail. */
static void wait_got(struct fetch *f, size_t n)
{
	for (int i = 0; i < 4000 && atomic_load(&f->got) <= n; i++)
		sleep_ms(5);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char *p1 = xasprintf("%s/1.log", w->cdir), *p2 = xasprintf("%s/2.log", w->cdir);
	wait_got(w->f, 0);
	size_t before = atomic_load(&w->f->got);
	write_file(p1, "late line\n", "a");
	wait_got(w->f, before);
	write_file(p1, "last words\n", "a");
	if (w->restart)
		write_file(p2, "new instance\n", "w");
	free(p1);
	free(p2);
	return NULL;
}

/* follow: the existing bytes, then what is written later, until the client leaves. */
TEST(logsrv_follow_until_client_leaves)
{
	struct srv v;
	srv_start(&v);
	struct fetch f = {.stop_at = "last words\n"};
	struct writer w = {.cdir = v.cdir, .restart = false, .f = &f};
	pthread_t th;
	pthread_create(&th, NULL, writer_main, &w);
	CURLcode cc =
	    fetch(v.port, v.ca, "s3cret-token", "/containerLogs/default/web/app?follow=true&tailLines=1", &f);
	pthread_join(th, NULL);
	ASSERT_INT_EQ(cc, CURLE_WRITE_ERROR); /* we ended it */
	ASSERT_INT_EQ(f.code, 200);
	ASSERT_STR_EQ(f.body.data, "line3\nlate line\nlast words\n");
	buf_fini(&f.body);
	/* The server notices the client left and stops cleanly (joins the handler). */
	srv_stop(&v);
}

/* follow ends by itself when the container restarts (a newer instance appears). */
TEST(logsrv_follow_ends_on_restart)
{
	struct srv v;
	srv_start(&v);
	struct fetch f = {0};
	struct writer w = {.cdir = v.cdir, .restart = true, .f = &f};
	pthread_t th;
	pthread_create(&th, NULL, writer_main, &w);
	CURLcode cc =
	    fetch(v.port, v.ca, "s3cret-token", "/containerLogs/default/web/app?follow=1&tailLines=2", &f);
	pthread_join(th, NULL);
	ASSERT_INT_EQ(cc, CURLE_OK);
	ASSERT_INT_EQ(f.code, 200);
	ASSERT_STR_EQ(f.body.data, "line2\nline3\nlate line\nlast words\n");
	buf_fini(&f.body);
	/* follow with limitBytes ends at the limit. */
	cc = fetch(v.port, v.ca, "s3cret-token", "/containerLogs/default/web/app?follow=true&limitBytes=4",
		   &f);
	ASSERT_INT_EQ(cc, CURLE_OK);
	ASSERT_STR_EQ(f.body.data, "new ");
	buf_fini(&f.body);
	srv_stop(&v);
}

/* Stopping the server ends a follow stream that is still open. */
struct stopper {
	struct node_logsrv *s;
	struct fetch *f;
};

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;
	wait_got(st->f, 0); /* the stream is open and has sent the log */
	node_logsrv_stop(st->s);
	return NULL;
}

TEST(logsrv_stop_ends_follow)
{
	struct srv v;
	srv_start(&v);
	pthread_t th;
	struct fetch f = {0};
	struct stopper st = {v.s, &f};
	pthread_create(&th, NULL, stopper_main, &st);
	fetch(v.port, v.ca, "s3cret-token", "/containerLogs/default/web/app?follow=true", &f);
	pthread_join(th, NULL);
	ASSERT_STR_EQ(f.body.data, "hello\nline1\nline2\nline3\n");
	buf_fini(&f.body);
	v.s = NULL; /* stopped by the thread */
	srv_stop(&v);
}
