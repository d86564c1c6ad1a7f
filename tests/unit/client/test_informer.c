/* test_informer.c - the informer (client/informer.c) against a small fake API server on
 * loopback: the list, the watch, resuming a watch from the last event's resourceVersion
 * when there are no bookmarks, bookmarks, paged lists, 410 Gone (as a watch event and as
 * an HTTP status) leading to a relist, a watch resumed (no relist) after a 5xx, a relist
 * telling the handlers only what changed, two informers of one collection sharing their
 * cached objects, and the periodic resync (every cached object once per period, none when
 * off, the watch undisturbed, a prompt stop in the middle of one).
 *
 * The fake server answers one connection at a time from two scripts: list answers (the
 * last one repeats) and watch answers (a watch with none queued waits until the test
 * queues one or stops it). Every answer closes its connection, so a watch answer is one
 * stream that then ends. Waits poll with generous bounds (a busy machine is slow).
 */
#include "client/informer.h"
#include "harness/t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"

#define MAX_SCRIPT 8
#define MAX_SEEN 64

struct answer {
	int status;
	const char *body;
};

struct fake {
	int lfd, port;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	const char *lists[MAX_SCRIPT];
	int nlists, list_i;
	struct answer watches[MAX_SCRIPT];
	int nwatches, watch_i;
	char *seen[MAX_SEEN]; /* request targets, in order */
	int nseen;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void answer(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, strlen(body));
	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

/* Serves one connection: reads the head, records the target, answers from the script. */
static void serve(struct fake *f, int fd)
{
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char req[8192];
	size_t len = 0;
	while (len < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	char *sp = strchr(req, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	if (!sp2)
		return;
	char *target = xstrndup(sp + 1, (size_t)(sp2 - sp - 1));
	bool watch = strstr(target, "watch=true") != NULL;
	pthread_mutex_lock(&f->mu);
	if (f->nseen < MAX_SEEN)
		f->seen[f->nseen++] = xstrdup(target);
	free(target);
	if (!watch) {
		const char *body = f->lists[f->list_i < f->nlists ? f->list_i : f->nlists - 1];
		f->list_i++;
		pthread_mutex_unlock(&f->mu);
		answer(fd, 200, body);
		return;
	}
	/* A watch with nothing queued stays open (no answer yet) until one is queued. */
	while (f->watch_i >= f->nwatches && !f->stop) {
		pthread_mutex_unlock(&f->mu);
		usleep(10000);
		pthread_mutex_lock(&f->mu);
	}
	struct answer a = f->watch_i < f->nwatches ? f->watches[f->watch_i++] : (struct answer){0, NULL};
	pthread_mutex_unlock(&f->mu);
	if (a.body)
		answer(fd, a.status, a.body);
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	while (!f->stop) {
		struct pollfd p = {f->lfd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lfd, 8) < 0 ||
	    getsockname(f->lfd, (struct sockaddr *)&sa, &sl) < 0)
		t_fail(__FILE__, __LINE__, "fake server: %s", strerror(errno));
	f->port = ntohs(sa.sin_port);
	pthread_mutex_init(&f->mu, NULL);
	pthread_create(&f->th, NULL, fake_run, f);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
	for (int i = 0; i < f->nseen; i++)
		free(f->seen[i]);
	pthread_mutex_destroy(&f->mu);
}

static void fake_queue_watch(struct fake *f, int status, const char *body)
{
	pthread_mutex_lock(&f->mu);
	f->watches[f->nwatches++] = (struct answer){status, body};
	pthread_mutex_unlock(&f->mu);
}

/* The n-th (0-based) request whose target contains what, or NULL; borrowed. */
static const char *fake_seen(struct fake *f, const char *what, int n)
{
	const char *out = NULL;
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->nseen && !out; i++)
		if (strstr(f->seen[i], what) && n-- == 0)
			out = f->seen[i];
	pthread_mutex_unlock(&f->mu);
	return out;
}

/* What the handlers saw, one line per call: "add ns/a 5", "update ns/a 12", ..., and
 * "resync ns/a 5" for an update whose old and new object are one (a resync). */
struct events {
	pthread_mutex_t mu;
	struct buf log;
	int resync_sleep_ms; /* how long each resync delivery takes (a slow consumer) */
};

static void ev_add(void *ud, const char *what, const json_t *obj)
{
	struct events *e = ud;
	char *k = obj ? informer_key(obj) : NULL;
	pthread_mutex_lock(&e->mu);
	if (obj)
		buf_printf(&e->log, "%s %s %s\n", what, k, api_str(obj, "metadata.resourceVersion") ?: "");
	else
		buf_printf(&e->log, "%s\n", what);
	pthread_mutex_unlock(&e->mu);
	free(k);
}
static void on_add(void *ud, const json_t *obj)
{
	ev_add(ud, "add", obj);
}
static void on_update(void *ud, const json_t *old, const json_t *obj)
{
	struct events *e = ud;
	ev_add(ud, old == obj ? "resync" : "update", obj);
	if (old == obj && e->resync_sleep_ms)
		usleep((useconds_t)e->resync_sleep_ms * 1000);
}
static void on_delete(void *ud, const json_t *obj)
{
	ev_add(ud, "delete", obj);
}
static void on_synced(void *ud)
{
	ev_add(ud, "synced", NULL);
}

/* A copy of the log; heap string. */
static char *ev_text(struct events *e)
{
	pthread_mutex_lock(&e->mu);
	char *s = xstrdup(e->log.data ? e->log.data : "");
	pthread_mutex_unlock(&e->mu);
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Waits (up to 30 s) until the log contains want n times; returns the log (heap). */
static char *ev_wait_n(struct events *e, const char *want, int n)
{
	for (int i = 0; i < 3000; i++) {
		char *s = ev_text(e);
		if (count(s, want) >= n)
			return s;
		free(s);
		usleep(10000);
	}
	return ev_text(e);
}

/* Waits (up to 30 s) for the n-th request containing what. */
static const char *seen_wait(struct fake *f, const char *what, int n)
{
	for (int i = 0; i < 3000; i++) {
		const char *s = fake_seen(f, what, n);
		if (s)
			return s;
		usleep(10000);
	}
	return NULL;
}

#define POD(name, rv)                                                                                        \
	"{\"metadata\":{\"namespace\":\"default\",\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}"
#define LIST(rv, items)                                                                                      \
	"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"" rv "\"},\"items\":[" items "]}"
#define EVENT(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"

struct rig {
	struct fake f;
	struct events e;
	struct informer *inf;
	long long resync_ms; /* informer_set_resync before the start; 0 = none */
};

static void rig_start(struct rig *r)
{
	fake_start(&r->f);
	pthread_mutex_init(&r->e.mu, NULL);
	buf_init(&r->e.log);
	struct client_config cfg;
	client_config_init(&cfg);
	cfg.server = xasprintf("http://127.0.0.1:%d", r->f.port);
	cfg.namespace_ = xstrdup("default");
	struct informer_handlers h = {on_add, on_update, on_delete, on_synced};
	r->inf = informer_new(&cfg, "/api/v1/pods", &h, &r->e);
	client_config_fini(&cfg);
	informer_set_resync(r->inf, r->resync_ms, 0);
	ASSERT_INT_EQ(informer_start(r->inf), 0);
}

static void rig_stop(struct rig *r)
{
	informer_free(r->inf);
	fake_stop(&r->f);
	buf_fini(&r->e.log);
	pthread_mutex_destroy(&r->e.mu);
}

TEST(informer_lists_watches_and_resumes_without_bookmarks)
{
	struct rig r = {0};
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5") "," POD("b", "6"));
	/* One watch stream that ends after three events, none of them a bookmark. */
	fake_queue_watch(&r.f, 200,
			 EVENT("ADDED", POD("c", "11")) EVENT("MODIFIED", POD("a", "12"))
			     EVENT("DELETED", POD("b", "13")));
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	ASSERT_STR_CONTAINS(fake_seen(&r.f, "/api/v1/pods?", 0), "limit=500");
	/* The first watch starts at the list's resourceVersion, asking for bookmarks. */
	const char *w0 = seen_wait(&r.f, "watch=true", 0);
	ASSERT_STR_CONTAINS(w0, "resourceVersion=10&");
	ASSERT_STR_CONTAINS(w0, "allowWatchBookmarks=true");
	/* After the stream ends the next watch resumes from the last event's version: no
	 * relist in between. */
	const char *w1 = seen_wait(&r.f, "watch=true", 1);
	ASSERT_STR_CONTAINS(w1, "resourceVersion=13&");
	char *log = ev_wait_n(&r.e, "delete default/b", 1);
	ASSERT_STR_EQ(log, "add default/a 5\nadd default/b 6\nsynced\nadd default/c 11\nupdate default/a 12\n"
			   "delete default/b 6\n");
	free(log);
	ASSERT(fake_seen(&r.f, "limit=500", 1) == NULL);
	json_t *a = informer_get(r.inf, "default", "a");
	ASSERT_STR_EQ(api_str(a, "metadata.resourceVersion"), "12");
	json_decref(a);
	ASSERT(informer_get(r.inf, "default", "b") == NULL);
	json_t *all = informer_list(r.inf, "default");
	ASSERT_INT_EQ(json_array_size(all), 2);
	json_decref(all);
	ASSERT_INT_EQ(informer_rv(r.inf), 13);
	rig_stop(&r);
}

TEST(informer_relists_after_410_gone)
{
	struct rig r = {0};
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5") "," POD("b", "6") "," POD("c", "7"));
	r.f.lists[r.f.nlists++] = LIST("30", POD("a", "5") "," POD("b", "20") "," POD("d", "21"));
	r.f.lists[r.f.nlists++] = LIST("31", POD("a", "5") "," POD("b", "20") "," POD("d", "21"));
	/* 410 as a watch event (the usual form), then as the HTTP status of the watch. */
	fake_queue_watch(&r.f, 200,
			 EVENT("ERROR", "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}"));
	fake_queue_watch(&r.f, 410, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Gone\"}");
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	ASSERT(seen_wait(&r.f, "watch=true", 2) != NULL);
	/* Three lists: the first, one after each 410; the third watch starts at its version. */
	ASSERT(fake_seen(&r.f, "limit=500", 2) != NULL);
	ASSERT_STR_CONTAINS(fake_seen(&r.f, "watch=true", 2), "resourceVersion=31&");
	char *log = ev_wait_n(&r.e, "synced", 3);
	/* The relists tell only the difference: b changed, c went, d came; a is unchanged,
	 * and the third list changes nothing. */
	ASSERT_STR_EQ(log, "add default/a 5\nadd default/b 6\nadd default/c 7\nsynced\n"
			   "update default/b 20\nadd default/d 21\ndelete default/c 7\nsynced\nsynced\n");
	free(log);
	ASSERT(informer_get(r.inf, "default", "c") == NULL);
	rig_stop(&r);
}

TEST(informer_relists_after_failed_list_and_resumes_after_5xx_watch)
{
	struct rig r = {0};
	/* The first list fails (not a list), then succeeds after the back-off. */
	r.f.lists[r.f.nlists++] = "not json";
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5"));
	r.f.lists[r.f.nlists++] = LIST("40", POD("a", "39") "," POD("e", "40"));
	/* A watch that fails with a server error: the informer watches again from where it
	 * was (another server of the cluster may answer), no relist; then a 410 relists. */
	fake_queue_watch(&r.f, 500, "{\"kind\":\"Status\",\"code\":500}");
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	ASSERT_STR_CONTAINS(seen_wait(&r.f, "watch=true", 1), "resourceVersion=10&");
	ASSERT(!fake_seen(&r.f, "limit=500", 2)); /* two lists so far: the failed one and the first */
	fake_queue_watch(&r.f, 410, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Gone\"}");
	char *log = ev_wait_n(&r.e, "synced", 2);
	ASSERT_STR_EQ(log, "add default/a 5\nsynced\nupdate default/a 39\nadd default/e 40\nsynced\n");
	ASSERT_INT_EQ(count(log, "synced"), 2);
	free(log);
	ASSERT_STR_CONTAINS(seen_wait(&r.f, "watch=true", 2), "resourceVersion=40&");
	ASSERT_INT_EQ(informer_rv(r.inf), 40);
	rig_stop(&r);
}

TEST(informer_same_collection_shares_objects)
{
	/* Two informers of one collection (each with its own server, same answers) hold one
	 * copy of each object version, from the list and from the watch. */
	struct rig r1 = {0}, r2 = {0};
	struct rig *rs[] = {&r1, &r2};
	for (int i = 0; i < 2; i++) {
		rs[i]->f.lists[rs[i]->f.nlists++] = LIST("10", POD("a", "5") "," POD("b", "6"));
		fake_queue_watch(&rs[i]->f, 200, EVENT("MODIFIED", POD("a", "12")));
		rig_start(rs[i]);
	}
	for (int i = 0; i < 2; i++) {
		ASSERT(informer_wait_synced(rs[i]->inf, 30000));
		free(ev_wait_n(&rs[i]->e, "update default/a 12", 1));
	}
	json_t *a1 = informer_get(r1.inf, "default", "a"), *a2 = informer_get(r2.inf, "default", "a");
	json_t *b1 = informer_get(r1.inf, "default", "b"), *b2 = informer_get(r2.inf, "default", "b");
	ASSERT(a1 && a1 == a2);
	ASSERT_STR_EQ(api_str(a1, "metadata.resourceVersion"), "12");
	ASSERT(b1 && b1 == b2);
	json_decref(a1);
	json_decref(a2);
	json_decref(b1);
	json_decref(b2);
	rig_stop(&r1);
	/* The other keeps its objects when one informer goes. */
	json_t *b = informer_get(r2.inf, "default", "b");
	ASSERT_STR_EQ(api_str(b, "metadata.resourceVersion"), "6");
	json_decref(b);
	rig_stop(&r2);
}

TEST(informer_pages_the_list_and_follows_bookmarks)
{
	struct rig r = {0};
	/* Two pages: the informer asks for the second with the first's continue token. */
	r.f.lists[r.f.nlists++] =
	    "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"t/1\"},"
	    "\"items\":[" POD("a", "5") "]}";
	r.f.lists[r.f.nlists++] = LIST("10", POD("b", "6"));
	/* A bookmark moves the resourceVersion on and tells the handlers nothing. */
	fake_queue_watch(&r.f, 200, EVENT("BOOKMARK", "{\"metadata\":{\"resourceVersion\":\"17\"}}"));
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	ASSERT_STR_CONTAINS(fake_seen(&r.f, "limit=500", 1), "continue=t%2F1");
	ASSERT_STR_CONTAINS(seen_wait(&r.f, "watch=true", 1), "resourceVersion=17&");
	ASSERT_INT_EQ(informer_rv(r.inf), 17);
	char *log = ev_text(&r.e);
	ASSERT_STR_EQ(log, "add default/a 5\nadd default/b 6\nsynced\n");
	free(log);
	rig_stop(&r);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first strlen(want) bytes of log equal want. */
static void assert_log_starts(const char *log, const char *want)
{
	char *head = xstrndup(log, strlen(want));
	ASSERT_STR_EQ(head, want);
	free(head);
}

TEST(informer_resyncs_every_cached_object_once_per_period)
{
	struct rig r = {.resync_ms = 150};
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5") "," POD("b", "6"));
	/* No watch answer queued: the one watch stays open throughout. */
	long long t0 = mono_ms();
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	char *log = ev_wait_n(&r.e, "resync default/b 6", 3);
	long long took = mono_ms() - t0;
	/* Each round delivers every cached object once, as an update whose old is the new
	 * object itself; a round comes a period after the list, then a period after the
	 * previous one, never sooner. */
	assert_log_starts(log,
			  "add default/a 5\nadd default/b 6\nsynced\n"
			  "resync default/a 5\nresync default/b 6\nresync default/a 5\nresync default/b 6\n"
			  "resync default/a 5\nresync default/b 6\n");
	free(log);
	ASSERT(took >= 3 * 150);
	/* Resyncs neither relist nor end the watch. */
	ASSERT(fake_seen(&r.f, "limit=500", 1) == NULL);
	ASSERT(fake_seen(&r.f, "watch=true", 1) == NULL);
	rig_stop(&r);
}

TEST(informer_without_resync_period_never_resyncs)
{
	struct rig r = {0};
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5"));
	fake_queue_watch(&r.f, 200, EVENT("MODIFIED", POD("a", "12")));
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	free(ev_wait_n(&r.e, "update default/a 12", 1));
	/* Several of the other tests' periods, with the second watch open. */
	ASSERT(seen_wait(&r.f, "watch=true", 1) != NULL);
	usleep(600000);
	char *log = ev_text(&r.e);
	ASSERT_STR_EQ(log, "add default/a 5\nsynced\nupdate default/a 12\n");
	free(log);
	rig_stop(&r);
}

TEST(informer_resync_leaves_the_watch_running)
{
	struct rig r = {.resync_ms = 100};
	r.e.resync_sleep_ms = 100; /* a resync round takes about 200 ms */
	r.f.lists[r.f.nlists++] = LIST("10", POD("a", "5") "," POD("b", "6"));
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	/* Events sent while a round is under way wait for it, then are applied in order. */
	free(ev_wait_n(&r.e, "resync default/a 5", 1));
	fake_queue_watch(&r.f, 200, EVENT("MODIFIED", POD("a", "12")) EVENT("ADDED", POD("c", "13")));
	char *log = ev_wait_n(&r.e, "add default/c 13", 1);
	ASSERT_STR_CONTAINS(
	    log, "resync default/a 5\nresync default/b 6\nupdate default/a 12\nadd default/c 13\n");
	free(log);
	/* The watch went on from the events' version, without a relist; later rounds deliver
	 * the new versions. */
	ASSERT_STR_CONTAINS(seen_wait(&r.f, "watch=true", 1), "resourceVersion=13&");
	ASSERT_INT_EQ(informer_rv(r.inf), 13);
	log = ev_wait_n(&r.e, "resync default/c 13", 1);
	ASSERT_STR_CONTAINS(log, "resync default/a 12\nresync default/b 6\nresync default/c 13\n");
	free(log);
	ASSERT(fake_seen(&r.f, "limit=500", 1) == NULL);
	rig_stop(&r);
}

TEST(informer_stops_in_the_middle_of_a_resync)
{
	enum { N = 100 };
	struct rig r = {.resync_ms = 100};
	r.e.resync_sleep_ms = 20; /* a whole round would take 2 s */
	struct buf list;
	buf_init(&list);
	buf_puts(&list, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"200\"},\"items\":[");
	for (int i = 0; i < N; i++)
		buf_printf(&list,
			   "%s{\"metadata\":{\"namespace\":\"default\",\"name\":\"p%d\","
			   "\"resourceVersion\":\"%d\"}}",
			   i ? "," : "", i, 100 + i);
	buf_puts(&list, "]}");
	r.f.lists[r.f.nlists++] = list.data;
	rig_start(&r);
	ASSERT(informer_wait_synced(r.inf, 30000));
	free(ev_wait_n(&r.e, "resync ", 1));
	/* The stop cuts the round short: the delivery under way ends, no other begins. */
	informer_free(r.inf);
	r.inf = NULL;
	char *log = ev_text(&r.e);
	int n = count(log, "resync ");
	ASSERT(n >= 1 && n < N);
	free(log);
	rig_stop(&r);
	buf_fini(&list);
}
