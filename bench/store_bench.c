/* store_bench.c - creates/second and write latency of the store (SQLite, or etcd when the argument
 * is an etcd:// URL), 1 and 16 writer threads.
 *
 * Not built by default. Build and run from the repository root:
 *   gcc -std=gnu17 -D_GNU_SOURCE -O2 -Isrc -o /tmp/store_bench bench/store_bench.c
 *       src/store/store.c src/store/sqlite.c src/base/mem.c src/base/log.c src/base/err.c
 *       -lsqlite3 -pthread && /tmp/store_bench [dir]
 * (one command line).
 *
 * Each case opens a fresh store in a temp directory (under dir, default /tmp; put it on the
 * disk you care about: the numbers are fsync numbers) and has every thread create its own
 * keys with expect_mod_rev = 0 and a ~300-byte JSON value, one key per transaction, timing
 * each store_txn. Group commit is what makes 16 threads faster than one: they share fsyncs.
 * A last line times listing the 10,000-key prefix from memory.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
	struct store *s;
	int id, n;
	double *lat_ms;
	int failures;
};

static const char *base_dir = "/tmp";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	char key[64], value[512];
	for (int i = 0; i < w->n; i++) {
		snprintf(key, sizeof(key), "/registry/services/specs/bench/svc-%d-%d", w->id, i);
		int len = snprintf(
		    value, sizeof(value),
		    "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"svc-%d-%d\","
		    "\"namespace\":\"bench\",\"uid\":\"6f1c2a9e-0000-4000-8000-%012d\","
		    "\"labels\":{\"app\":\"bench\",\"tier\":\"backend\"}},\"spec\":{\"type\":"
		    "\"ClusterIP\",\"selector\":{\"app\":\"bench\"},\"ports\":[{\"name\":\"http\","
		    "\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}],\"clusterIP\":"
		    "\"10.96.%d.%d\",\"sessionAffinity\":\"None\"},\"status\":{\"loadBalancer\":{}}}",
		    w->id, i, w->id * 100000 + i, (i / 250) % 256, i % 250 + 1);
		struct store_op op = {STORE_PUT, key, value, (size_t)len, 0};
		double t0 = now_ms();
		if (store_txn(w->s, &op, 1, NULL, NULL, NULL) != 0)
			w->failures++;
		w->lat_ms[i] = now_ms() - t0;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void remove_db(const char *dir)
{
	char p[512];
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/bench.db%s", dir, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int run_case(int threads, int per_thread, bool list_after)
{
	char dir[256], url[300], err[256];
	struct store *s = NULL;
	struct worker *ws = calloc((size_t)threads, sizeof(*ws));
	pthread_t *th = calloc((size_t)threads, sizeof(*th));
	int total = threads * per_thread, failures = 0;
	double *all = calloc((size_t)total, sizeof(*all));

	bool etcd = !strncmp(base_dir, "etcd://", 7);
	snprintf(dir, sizeof(dir), "%s/store-bench-XXXXXX", etcd ? "/tmp" : base_dir);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(url, sizeof(url), "sqlite://%s/bench.db", dir);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "/bench-%d-%d", (int)getpid(), threads);
	struct store_opts o = {
	    .url = etcd ? base_dir : url, .etcd_prefix = prefix, .etcd_compaction_interval_ms = -1};
	if (store_open(&o, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double t0 = now_ms();
	for (int i = 0; i < threads; i++) {
		ws[i] =
		    (struct worker){.s = s, .id = i, .n = per_thread, .lat_ms = all + (size_t)i * per_thread};
		pthread_create(&th[i], NULL, worker_main, &ws[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		failures += ws[i].failures;
	}
	double secs = (now_ms() - t0) / 1e3;
	qsort(all, (size_t)total, sizeof(*all), cmp_double);
	printf("store %s creates threads=%-2d n=%-5d  %8.0f creates/s  p50 %6.2f ms  p99 %6.2f ms  "
	       "failures %d\n",
	       etcd ? "etcd" : "sqlite", threads, total, total / secs, all[total / 2],
	       all[(size_t)total * 99 / 100], failures);

	if (list_after) {
		struct store_list l;
		double best = 1e9;
		for (int i = 0; i < 20; i++) {
			double t1 = now_ms();
			store_range(s, "/registry/services/specs/bench/", NULL, 0, 0, &l);
			double dt = now_ms() - t1;
			if (dt < best)
				best = dt;
			if (i < 19)
				store_list_fini(&l);
		}
		printf("store sqlite list     keys=%-6zu          best of 20: %.3f ms\n", l.len, best);
		store_list_fini(&l);
	}
	store_close(s);
	remove_db(dir);
	free(all);
	free(th);
	free(ws);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc > 1)
		base_dir = argv[1];
	rc |= run_case(1, 1000, false);
	rc |= run_case(16, 625, true); /* 10,000 keys, then the list */
	return rc;
}
