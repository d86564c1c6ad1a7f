/* watch_bench.c - watch event latency: time from sending a create to the client holding
 * the ADDED event on an open watch stream (svcplane's API, or etcd 3.4's v3 JSON watch).
 *
 * usage: watch_bench svcplane URL TOKEN CAFILE COUNT
 *        watch_bench etcd URL - - COUNT
 * prints: mode count p50_ms p99_ms
 * Built by bench/watch_latency.sh.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *mode, *url, *token, *cafile;
static int count;
static double *sent, *got;
static volatile int seen, stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t sink(void *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

/* Scans streamed bytes for "wbench-<id>" markers (etcd: base64 of the key prefix is not
 * searchable, so etcd values carry the plain marker inside the JSON value text, which the
 * gateway base64-encodes; we therefore watch etcd with a key whose base64 we precompute). */
static char tail[64];
static size_t on_stream(void *p, size_t s, size_t n, void *ud)
{
	(void)ud;
	size_t len = s * n;
	char *buf = malloc(sizeof(tail) + len + 1);
	size_t tl = strlen(tail);
	memcpy(buf, tail, tl);
	memcpy(buf + tl, p, len);
	buf[tl + len] = 0;
	double t = now_ms();
	const char *marker = !strcmp(mode, "etcd") ? "\"mod_revision\":\"" : "wbench-";
	for (char *q = buf; (q = strstr(q, marker)); q += strlen(marker)) {
		if (!strcmp(mode, "etcd")) {
			pthread_mutex_lock(&mu);
			if (seen < count)
				got[seen++] = t;
			pthread_mutex_unlock(&mu);
		} else {
			int id = atoi(q + strlen(marker));
			if (id >= 0 && id < count && got[id] == 0) {
				got[id] = t;
				pthread_mutex_lock(&mu);
				seen++;
				pthread_mutex_unlock(&mu);
			}
		}
	}
	size_t keep = tl + len < sizeof(tail) - 1 ? tl + len : sizeof(tail) - 1;
	memcpy(tail, buf + tl + len - keep, keep);
	tail[keep] = 0;
	free(buf);
	return stop ? 0 : len;
}

static void *watcher(void *arg)
{
	(void)arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char target[512], auth[512];
	if (!strcmp(mode, "svcplane")) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
		snprintf(target, sizeof(target),
			 "%s/api/v1/namespaces/default/services?watch=true&resourceVersion=1", url);
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	} else {
		snprintf(target, sizeof(target), "%s/v3/watch", url);
		/* key "/wbench/" range_end "/wbench0" */
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDS,
		    "{\"create_request\":{\"key\":\"L3diZW5jaC8=\",\"range_end\":\"L3diZW5jaDA=\"}}");
	}
	curl_easy_setopt(c, CURLOPT_URL, target);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_perform(c);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static const char b64t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64(const char *in, char *out)
{
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)in[i + 2] : 0);
		out[o++] = b64t[v >> 18 & 63];
		out[o++] = b64t[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64t[v & 63] : '=';
	}
	out[o] = 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	mode = argv[1], url = argv[2], token = argv[3], cafile = argv[4], count = atoi(argv[5]);
	if (count < 1 || count > 100000)
		return 2;
	curl_global_init(CURL_GLOBAL_ALL);
	sent = calloc((size_t)count, sizeof(double));
	got = calloc((size_t)count, sizeof(double));
	pthread_t th;
	pthread_create(&th, NULL, watcher, NULL);
	usleep(300000);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[512], target[512], body[2048], obj[1024], k64[256], v64[1500], key[64];
	if (!strcmp(mode, "svcplane")) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
		snprintf(target, sizeof(target), "%s/api/v1/namespaces/default/services", url);
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	} else {
		snprintf(target, sizeof(target), "%s/v3/kv/put", url);
	}
	curl_easy_setopt(c, CURLOPT_URL, target);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < count; i++) {
		snprintf(
		    obj, sizeof(obj),
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"wbench-%d\"},\"spec\":{\"ports\":[{\"port\":80}]}}",
		    i);
		if (!strcmp(mode, "svcplane")) {
			snprintf(body, sizeof(body), "%s", obj);
		} else {
			snprintf(key, sizeof(key), "/wbench/%d", i);
			b64(key, k64);
			b64(obj, v64);
			snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		sent[i] = now_ms();
		curl_easy_perform(c);
		double deadline = now_ms() + 2000;
		while (now_ms() < deadline) {
			pthread_mutex_lock(&mu);
			int s = seen;
			pthread_mutex_unlock(&mu);
			if (s > i)
				break;
			usleep(20);
		}
	}
	stop = 1;
	double *lat = calloc((size_t)count, sizeof(double));
	int n = 0;
	for (int i = 0; i < count; i++)
		if (got[i] > 0)
			lat[n++] = got[i] - sent[i];
	qsort(lat, (size_t)n, sizeof(double), cmp);
	printf("%s watch latency count=%d received=%d p50_ms=%.3f p99_ms=%.3f\n", mode, count, n,
	       n ? lat[n / 2] : -1, n ? lat[(int)(n * 0.99)] : -1);
	fflush(stdout);
	_exit(n == count ? 0 : 1);
}
