/* fanout_bench.c - watch fan-out latency: W concurrent watch streams on one server, one
 * writer; for every write, the time from sending it to each watcher holding the event.
 *
 * usage: fanout_bench svcplane URL TOKEN CAFILE WATCHERS WRITES
 *        fanout_bench etcd URL - - WATCHERS WRITES
 * prints: mode watchers writes receipts p50_ms p99_ms last_p50_ms last_p99_ms
 *   p50/p99 over all receipts (WATCHERS x WRITES); last_*: over writes, of the time until
 *   the last watcher had it.
 *
 * svcplane: watches /api/v1/namespaces/fanout/configmaps (HTTPS, the admin token) and
 * creates ConfigMaps there. etcd 3.4: /v3/watch of the prefix /fanout/ through the v3 JSON
 * gateway, and /v3/kv/put under it. The writer sends one write, waits until every watcher
 * has it (at most 10 s), then the next, so each figure is one write's fan-out, not a
 * backlog. Events are counted in order per stream (one writer, so the k-th event a
 * watcher sees is the k-th write). Four client threads, each with a libcurl multi of
 * WATCHERS/4 streams, so the client's own reading is spread over the cores it shares with
 * the server. Built by bench/watch_fanout.sh.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4

static const char *mode, *url, *token, *cafile;
static int nwatch, nwrite;
static double *sent;	 /* per write */
static double *got;	 /* [watcher * nwrite + write] */
static atomic_int *have; /* per write: watchers that have it */
static atomic_int ready; /* watchers whose stream is established */
static atomic_int stopping;
static bool is_etcd;

struct watcher {
	int id;
	int n; /* events seen */
	bool ready;
	char tail[32];
	CURL *h;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t on_stream(void *p, size_t s, size_t n, void *ud)
{
	struct watcher *w = ud;
	size_t len = s * n, tl = strlen(w->tail);
	double t = now_ms();
	char *buf = malloc(tl + len + 1);
	memcpy(buf, w->tail, tl);
	memcpy(buf + tl, p, len);
	buf[tl + len] = 0;
	/* etcd: the k-th event is the k-th write (its key is base64); svcplane: the name. */
	const char *marker = is_etcd ? "\"mod_revision\":\"" : "\"name\":\"fb-";
	if (is_etcd && !w->ready && strstr(buf, "\"created\":true")) {
		w->ready = true;
		atomic_fetch_add(&ready, 1);
	}
	for (char *q = buf; (q = strstr(q, marker)); q += strlen(marker)) {
		int k = is_etcd ? w->n++ : atoi(q + strlen(marker));
		if (!is_etcd && !strchr(q + strlen(marker), '"'))
			break; /* the number is cut: it is in the tail, counted with the next read */
		if (k >= 0 && k < nwrite && got[(size_t)w->id * nwrite + k] == 0) {
			got[(size_t)w->id * nwrite + k] = t;
			atomic_fetch_add(&have[k], 1);
		}
	}
	/* Keep the last bytes: a marker may straddle two reads. Counting (etcd) keeps fewer
	 * than a marker, so none is counted twice; by name, a repeat is ignored. */
	size_t cap = is_etcd ? strlen(marker) - 1 : sizeof(w->tail) - 1;
	size_t keep = tl + len < cap ? tl + len : cap;
	memcpy(w->tail, buf + tl + len - keep, keep);
	w->tail[keep] = 0;
	free(buf);
	return len;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
	struct watcher *w = ud;
	if (!is_etcd && !w->ready && s * n > 12 && !strncmp(p, "HTTP/", 5) && strstr(p, " 200")) {
		w->ready = true;
		atomic_fetch_add(&ready, 1);
	}
	return s * n;
}

static size_t sink(void *p, size_t s, size_t n, void *ud)
{
	(void)p, (void)ud;
	return s * n;
}

static void common(CURL *h, struct curl_slist *hd)
{
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (!is_etcd)
		curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
}

static struct curl_slist *headers(void)
{
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	hd = curl_slist_append(hd, "Expect:");
	if (!is_etcd) {
		char auth[512];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hd = curl_slist_append(hd, auth);
	}
	return hd;
}

struct group {
	struct watcher *ws;
	int n;
};

static void *group_main(void *arg)
{
	struct group *g = arg;
	struct curl_slist *hd = headers();
	CURLM *m = curl_multi_init();
	char wurl[1024];
	/* etcd: base64("/fanout/") and base64("/fanout0") */
	const char *body = "{\"create_request\":{\"key\":\"L2Zhbm91dC8=\",\"range_end\":\"L2Zhbm91dDA=\"}}";
	for (int i = 0; i < g->n; i++) {
		struct watcher *w = &g->ws[i];
		w->h = curl_easy_init();
		common(w->h, hd);
		if (is_etcd) {
			snprintf(wurl, sizeof(wurl), "%s/v3/watch", url);
			curl_easy_setopt(w->h, CURLOPT_COPYPOSTFIELDS, body);
		} else {
			snprintf(wurl, sizeof(wurl), "%s/api/v1/namespaces/fanout/configmaps?watch=1", url);
		}
		curl_easy_setopt(w->h, CURLOPT_URL, wurl);
		curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
		curl_easy_setopt(w->h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(w->h, CURLOPT_HEADERDATA, w);
		curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
	}
	/* Streams are opened a few at a time, and one that failed before it was established
	 * is opened again: svcplane closes, at accept, a client address's connections past 64
	 * not yet authenticated (http.h max_anon_per_addr). */
	int added = 0, running = 0;
	while (!atomic_load(&stopping)) {
		int pending = 0;
		for (int i = 0; i < added; i++)
			pending += !g->ws[i].ready;
		while (added < g->n && pending < 8) {
			curl_multi_add_handle(m, g->ws[added++].h);
			pending++;
		}
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct watcher *w;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
			curl_multi_remove_handle(m, w->h);
			if (!w->ready) {
				w->n = 0;
				w->tail[0] = 0;
				curl_multi_add_handle(m, w->h);
			} else {
				fprintf(stderr, "watcher %d: stream ended\n", w->id);
			}
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < g->n; i++) {
		if (i < added)
			curl_multi_remove_handle(m, g->ws[i].h);
		curl_easy_cleanup(g->ws[i].h);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hd);
	return NULL;
}

static int post(CURL *h, const char *path, const char *body)
{
	char u[1024];
	long code = 0;
	snprintf(u, sizeof(u), "%s%s", url, path);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	if (curl_easy_perform(h) != CURLE_OK)
		return -1;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: fanout_bench svcplane|etcd URL TOKEN CAFILE WATCHERS WRITES\n");
		return 2;
	}
	mode = argv[1], url = argv[2], token = argv[3], cafile = argv[4];
	nwatch = atoi(argv[5]), nwrite = atoi(argv[6]);
	is_etcd = !strcmp(mode, "etcd");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sent = calloc(nwrite, sizeof(*sent));
	got = calloc((size_t)nwatch * nwrite, sizeof(*got));
	have = calloc(nwrite, sizeof(*have));
	struct curl_slist *hd = headers();
	CURL *wr = curl_easy_init();
	common(wr, hd);
	if (!is_etcd) {
		int c =
		    post(wr, "/api/v1/namespaces",
			 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fanout\"}}");
		if (c != 201 && c != 409) {
			fprintf(stderr, "namespace: HTTP %d\n", c);
			return 1;
		}
	}
	struct watcher *ws = calloc(nwatch, sizeof(*ws));
	for (int i = 0; i < nwatch; i++)
		ws[i].id = i;
	struct group g[THREADS];
	pthread_t th[THREADS];
	int per = (nwatch + THREADS - 1) / THREADS;
	for (int t = 0; t < THREADS; t++) {
		int from = t * per, to = from + per > nwatch ? nwatch : from + per;
		g[t] = (struct group){.ws = ws + from, .n = to > from ? to - from : 0};
		pthread_create(&th[t], NULL, group_main, &g[t]);
	}
	double t0 = now_ms();
	while (atomic_load(&ready) < nwatch && now_ms() - t0 < 120000)
		usleep(10000);
	if (atomic_load(&ready) < nwatch) {
		fprintf(stderr, "only %d of %d watchers established\n", atomic_load(&ready), nwatch);
		return 1;
	}
	usleep(500000);
	int failed = 0;
	for (int i = 0; i < nwrite; i++) {
		char body[512];
		int c;
		sent[i] = now_ms();
		if (is_etcd) {
			/* key /fanout/<i>: base64 of "/fanout/" + 6 digits, made here */
			char key[32], b64[64];
			snprintf(key, sizeof(key), "/fanout/%06d", i);
			static const char tb[] =
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			size_t kl = strlen(key), o = 0;
			for (size_t j = 0; j < kl; j += 3) {
				unsigned v = (unsigned char)key[j] << 16;
				if (j + 1 < kl)
					v |= (unsigned char)key[j + 1] << 8;
				if (j + 2 < kl)
					v |= (unsigned char)key[j + 2];
				b64[o++] = tb[(v >> 18) & 63];
				b64[o++] = tb[(v >> 12) & 63];
				b64[o++] = j + 1 < kl ? tb[(v >> 6) & 63] : '=';
				b64[o++] = j + 2 < kl ? tb[v & 63] : '=';
			}
			b64[o] = 0;
			snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"eHl6\"}", b64);
			c = post(wr, "/v3/kv/put", body);
		} else {
			snprintf(
			    body, sizeof(body),
			    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fb-%06d\"},"
			    "\"data\":{\"i\":\"%d\"}}",
			    i, i);
			c = post(wr, "/api/v1/namespaces/fanout/configmaps", body);
		}
		if (c != 200 && c != 201) {
			fprintf(stderr, "write %d: HTTP %d\n", i, c);
			failed++;
			break;
		}
		double w0 = now_ms();
		while (atomic_load(&have[i]) < nwatch && now_ms() - w0 < 10000)
			usleep(200);
		usleep(20000);
	}
	atomic_store(&stopping, 1);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	size_t nr = 0, missing = 0;
	double *lat = malloc(sizeof(double) * (size_t)nwatch * nwrite),
	       *last = calloc(nwrite, sizeof(double));
	for (int i = 0; i < nwrite; i++)
		for (int w = 0; w < nwatch; w++) {
			double t = got[(size_t)w * nwrite + i];
			if (t == 0) {
				missing++;
				continue;
			}
			lat[nr++] = t - sent[i];
			if (t - sent[i] > last[i])
				last[i] = t - sent[i];
		}
	qsort(lat, nr, sizeof(double), cmp_d);
	qsort(last, nwrite, sizeof(double), cmp_d);
	printf("%s watchers=%d writes=%d receipts=%zu missing=%zu p50_ms=%.2f p99_ms=%.2f last_p50_ms=%.2f "
	       "last_p99_ms=%.2f\n",
	       mode, nwatch, nwrite, nr, missing, pct(lat, nr, 0.5), pct(lat, nr, 0.99),
	       pct(last, nwrite, 0.5), pct(last, nwrite, 0.99));
	curl_easy_cleanup(wr);
	curl_slist_free_all(hd);
	return failed || missing ? 1 : 0;
}
