/* api_bench.c - create throughput and latency through an HTTP(S) API: svcplane's
 * Kubernetes API (POST a small Service) or etcd 3.4's v3 JSON gateway (POST /v3/kv/put of
 * the same bytes), with N client threads on keep-alive connections.
 *
 * usage: api_bench svcplane URL TOKEN CAFILE CLIENTS COUNT
 *        api_bench etcd URL - - CLIENTS COUNT
 * prints: mode clients count seconds creates_per_s p50_ms p99_ms
 * Built by bench/api_vs_etcd.sh (cc ... -lcurl -lpthread).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *mode, *url, *token, *cafile;
static int clients, count;
static double *lat;
static int next_id;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int failures;

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

static void *worker(void *arg)
{
	(void)arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[512], target[512];
	h = curl_slist_append(h, "Content-Type: application/json");
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
	curl_easy_setopt(c, CURLOPT_SSL_ENABLE_ALPN, 0L);
	char body[2048], obj[1024], k64[256], v64[1500], key[128];
	for (;;) {
		pthread_mutex_lock(&mu);
		int id = next_id++;
		pthread_mutex_unlock(&mu);
		if (id >= count)
			break;
		snprintf(
		    obj, sizeof(obj),
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"bench-%d\",\"namespace\":\"default\","
		    "\"labels\":{\"app\":\"bench\"}},\"spec\":{\"ports\":[{\"port\":80,"
		    "\"targetPort\":9376,\"protocol\":\"TCP\"}]}}",
		    id);
		if (!strcmp(mode, "svcplane")) {
			snprintf(body, sizeof(body), "%s", obj);
		} else {
			snprintf(key, sizeof(key), "/registry/services/default/bench-%d", id);
			b64(key, k64);
			b64(obj, v64);
			snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		lat[id] = now_ms() - t0;
		if (rc != CURLE_OK || (code != 200 && code != 201)) {
			pthread_mutex_lock(&mu);
			failures++;
			pthread_mutex_unlock(&mu);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s svcplane|etcd URL TOKEN CAFILE CLIENTS COUNT\n", argv[0]);
		return 2;
	}
	mode = argv[1], url = argv[2], token = argv[3], cafile = argv[4];
	clients = atoi(argv[5]), count = atoi(argv[6]);
	if (clients < 1 || clients > 256 || count < 1 || count > 1000000)
		return 2;
	curl_global_init(CURL_GLOBAL_ALL);
	lat = calloc((size_t)count, sizeof(double));
	pthread_t th[256];
	double t0 = now_ms();
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	double secs = (now_ms() - t0) / 1e3;
	qsort(lat, (size_t)count, sizeof(double), cmp);
	printf("%s clients=%d count=%d seconds=%.2f creates_per_s=%.0f p50_ms=%.2f p99_ms=%.2f failures=%d\n",
	       mode, clients, count, secs, count / secs, lat[count / 2], lat[(int)(count * 0.99)], failures);
	free(lat);
	return failures ? 1 : 0;
}
