/* proxy_bench.c - the proxy's data-plane figures: time to program N Services x 10
 * endpoints, one-endpoint changes at that size (p50/p99), and the new-connection rate
 * and first-packet latency through the Services, for the nftables backend and the
 * iptables backend (kube-proxy's layout through iptables-restore).
 *
 * Run by bench/proxy.sh inside a network namespace of its own (never the host's):
 *   proxy_bench nftables|iptables N CHANGES CONNS
 * Endpoints are 198.18.x.y addresses on the namespace's lo with one listener on
 * 0.0.0.0:8080, so connections through any Service VIP end in this process.
 * BENCH_EP_NODE=NAME puts the endpoints on node NAME (default n1, the bench's own node:
 * every endpoint is local, so the hairpin set holds one element per endpoint too; a
 * real node has only its own pods' there).
 * BENCH_DUMP=FILE writes the nft script of the full program (nftables) to FILE (the
 * backend keeps scripts over 64 KiB only when dry: then FILE is empty).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "proxy/ipt.h"
#include "proxy/model.h"
#include "proxy/nft.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the process (user + system, the kernel's netlink work included), ms:
 * on a busy machine the wall time also counts waiting for a core. */
static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(double), cmpd);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

/* Service i: cluster IP 198.19.(i/250).(i%250+1), endpoints 198.18.(100 + i/2500).x */
static void vip(int i, char *out, size_t len)
{
	snprintf(out, len, "198.19.%d.%d", i / 250, i % 250 + 1);
}

static json_t *make_svc(int i)
{
	char ip[32], name[32];
	vip(i, ip, sizeof(ip));
	snprintf(name, sizeof(name), "s%d", i);
	return json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:[{s:s,s:i,s:s}]}}", "metadata", "namespace", "bench",
			 "name", name, "spec", "type", "ClusterIP", "clusterIP", ip, "ports", "name", "http",
			 "port", 80, "protocol", "TCP");
}

static const char *ep_node = "n1";

static json_t *make_slice(int i, int gen)
{
	char name[32], svc[32];
	snprintf(name, sizeof(name), "s%d-abc", i);
	snprintf(svc, sizeof(svc), "s%d", i);
	json_t *eps = json_array();
	for (int k = 0; k < 10; k++) {
		char ip[32];
		/* gen shifts one endpoint: a one-endpoint change */
		int last = k == 9 ? (gen % 200) + 10 : k;
		snprintf(ip, sizeof(ip), "198.18.%d.%d", 100 + (i * 10 + last) / 250 % 100,
			 (i * 10 + last) % 250 + 1);
		json_array_append_new(eps, json_pack("{s:[s],s:{s:b},s:s}", "addresses", ip, "conditions",
						     "ready", 1, "nodeName", ep_node));
	}
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:o,s:[{s:s,s:i,s:s}]}", "metadata", "namespace", "bench",
			 "name", name, "labels", "kubernetes.io/service-name", svc, "addressType", "IPv4",
			 "endpoints", eps, "ports", "name", "http", "port", 8080, "protocol", "TCP");
}

struct backend {
	bool nft;
	struct proxy_nft *n;
	struct proxy_ipt *t;
	struct proxy_netcfg c;
};

static int program(struct backend *b, json_t *svcs, json_t *slices, double *model_ms)
{
	double t0 = now_ms();
	struct proxy_model m;
	proxy_model_build(svcs, slices, "n1", &m);
	char err[1024];
	int rc;
	if (b->nft) {
		json_t *want = proxy_nft_desired(b->n, &m, &b->c);
		if (model_ms)
			*model_ms = now_ms() - t0;
		struct proxy_nft_result r;
		rc = proxy_nft_sync(b->n, want, &r, err, sizeof(err));
		json_decref(want);
	} else {
		if (model_ms)
			*model_ms = now_ms() - t0;
		size_t rules, chains;
		rc = proxy_ipt_sync(b->t, &m, &b->c, &rules, &chains, err, sizeof(err));
	}
	if (rc)
		fprintf(stderr, "sync: %s\n", err);
	proxy_model_fini(&m);
	return rc;
}

/* One Service's change, as the proxy syncs it: the model of that Service alone. */
static int program_one(struct backend *b, json_t *svcs, json_t *slices, int i, double *model_ms)
{
	if (!b->nft)
		return program(b, svcs, slices, model_ms);
	double t0 = now_ms();
	json_t *s1 = json_array(), *l1 = json_array(), *keys = json_array();
	json_array_append(s1, json_array_get(svcs, (size_t)i));
	json_array_append(l1, json_array_get(slices, (size_t)i));
	char k[32];
	snprintf(k, sizeof(k), "bench/s%d", i);
	json_array_append_new(keys, json_string(k));
	struct proxy_model m;
	proxy_model_build(s1, l1, "n1", &m);
	json_t *want = proxy_nft_desired_services(b->n, &m, &b->c, keys);
	*model_ms = now_ms() - t0;
	struct proxy_nft_result r;
	char err[1024];
	int rc = proxy_nft_sync_services(b->n, want, &r, err, sizeof(err));
	if (rc)
		fprintf(stderr, "sync: %s\n", err);
	json_decref(want);
	proxy_model_fini(&m);
	json_decref(s1);
	json_decref(l1);
	json_decref(keys);
	return rc;
}

static void *server(void *arg)
{
	int fd = *(int *)arg;
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		close(c);
	}
	return NULL;
}

/* conns connections to the VIP of Service i: rate and connect() latency percentiles. */
static void conn_bench(int n, int conns, const char *label)
{
	double *lat = xcalloc((size_t)conns, sizeof(double));
	double t0 = now_ms();
	int fails = 0;
	for (int k = 0; k < conns; k++) {
		char ip[32];
		vip(k % n, ip, sizeof(ip));
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
		inet_pton(AF_INET, ip, &a.sin_addr);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		double c0 = now_ms();
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			fails++;
		lat[k] = now_ms() - c0;
		/* RST on close: no TIME_WAIT pile-up skewing later connections */
		struct linger l = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd);
	}
	double el = now_ms() - t0;
	printf(
	    "%s connections through %d Service(s): %.0f conn/s, connect p50 %.3f ms p99 %.3f ms, %d failed\n",
	    label, n, conns / (el / 1e3), pct(lat, conns, 0.5), pct(lat, conns, 0.99), fails);
	free(lat);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: proxy_bench nftables|iptables N CHANGES CONNS\n");
		return 2;
	}
	struct backend b = {.nft = !strcmp(argv[1], "nftables")};
	int n = atoi(argv[2]), changes = atoi(argv[3]), conns = atoi(argv[4]);
	if (getenv("BENCH_EP_NODE"))
		ep_node = getenv("BENCH_EP_NODE");
	if (b.nft)
		b.n = proxy_nft_new("svcplane_bench", false);
	else
		b.t = proxy_ipt_new("KUBE", false);
	/* Endpoint addresses live on lo: 198.18.100.0/22 .. covers every endpoint. */
	if (system("ip addr add 198.18.0.0/15 dev lo 2>/dev/null; ip link set lo up") != 0)
		fprintf(stderr, "could not add the endpoint range to lo\n");
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(8080)};
	if (bind(lfd, (struct sockaddr *)&la, sizeof(la)) != 0 || listen(lfd, 4096) != 0) {
		perror("listen 8080");
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, server, &lfd);

	/* One Service first: the per-connection baseline. */
	json_t *svcs = json_array(), *slices = json_array();
	json_array_append_new(svcs, make_svc(0));
	json_array_append_new(slices, make_slice(0, 0));
	if (program(&b, svcs, slices, NULL) != 0)
		return 1;
	if (conns)
		conn_bench(1, conns, argv[1]);
	for (int i = 1; i < n; i++) {
		json_array_append_new(svcs, make_svc(i));
		json_array_append_new(slices, make_slice(i, 0));
	}
	double mm = 0, t0 = now_ms(), c0 = cpu_ms();
	if (program(&b, svcs, slices, &mm) != 0)
		return 1;
	double full = now_ms() - t0, fullcpu = cpu_ms() - c0;
	if (b.nft && getenv("BENCH_DUMP")) {
		FILE *f = fopen(getenv("BENCH_DUMP"), "w");
		if (f) {
			fputs(proxy_nft_last_script(b.n), f);
			fclose(f);
		}
	}
	printf("%s full program %d Services x 10 endpoints: %.1f ms (model and diff %.1f ms; CPU %.1f ms)\n",
	       argv[1], n, full, mm, fullcpu);
	if (conns)
		conn_bench(n, conns, argv[1]);
	double *lat = xcalloc((size_t)changes + 1, sizeof(double)),
	       *mlat = xcalloc((size_t)changes + 1, sizeof(double));
	for (int k = 0; k < changes; k++) {
		int i = (k * 7919) % n;
		json_array_set_new(slices, (size_t)i, make_slice(i, k + 1));
		double c0 = now_ms();
		if (program_one(&b, svcs, slices, i, &mlat[k]) != 0)
			return 1;
		lat[k] = now_ms() - c0;
	}
	if (changes) {
		double km[2000];
		int kn = changes < 2000 ? changes : 2000;
		for (int k = 0; k < kn; k++)
			km[k] = lat[k] - mlat[k];
		printf(
		    "%s one-endpoint change at %d Services: total p50 %.2f ms p99 %.2f ms; kernel part p50 %.2f ms "
		    "p99 %.2f ms\n",
		    argv[1], n, pct(lat, changes, 0.5), pct(lat, changes, 0.99), pct(km, kn, 0.5),
		    pct(km, kn, 0.99));
	}
	if (b.nft) {
		char err[512];
		double g0 = now_ms();
		size_t pend = proxy_nft_gc_pending(b.n);
		if (proxy_nft_gc(b.n, err, sizeof(err)) != 0)
			fprintf(stderr, "gc: %s\n", err);
		printf("%s batched deletion of %zu old endpoint elements: %.1f ms\n", argv[1], pend,
		       now_ms() - g0);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%s max RSS at %d Services: %.1f MiB\n", argv[1], n, ru.ru_maxrss / 1024.0);
	if (b.nft) {
		/* An agent restart: a new backend's first sync, which reads the kernel's table
		 * and converges by diff (nothing changed meanwhile). */
		proxy_nft_free(b.n);
		b.n = proxy_nft_new("svcplane_bench", false);
		double r0 = now_ms(), rc0 = cpu_ms();
		if (program(&b, svcs, slices, NULL) != 0)
			return 1;
		printf(
		    "%s first sync after a restart at %d Services: %.1f ms (CPU %.1f ms), %zu bytes written\n",
		    argv[1], n, now_ms() - r0, cpu_ms() - rc0, strlen(proxy_nft_last_script(b.n)));
	}
	return 0;
}
