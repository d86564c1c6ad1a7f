/* fuzz_etcdresp.c - what the etcd backend reads from etcd: the /v3/watch stream (split into
 * lines by etcd__stream_feed, in two pieces cut where the first byte says, each line decoded
 * by etcd__watch_msg_parse), and the answers of range and txn (records by etcd__kv_parse,
 * errors by etcd__error, a failed Txn by etcd__txn_failed). Nothing may crash or leak. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/etcdwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(const char *line, size_t len, void *arg)
{
	struct etcd__watch_msg m;
	(void)arg;
	if (etcd__watch_msg_parse(line, len, "/registry", &m) == 0) {
		for (size_t i = 0; i < m.events.len; i++)
			if (!m.events.v[i].kv || m.events.v[i].kv->value[m.events.v[i].kv->value_len] != 0)
				abort();
		etcd__watch_msg_fini(&m);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1, cut = data[0] < n ? data[0] : n;
	struct etcd__stream st = {0};
	etcd__stream_feed(&st, p, cut, on_line, NULL);
	etcd__stream_feed(&st, p + cut, n - cut, on_line, NULL);
	etcd__stream_fini(&st);

	json_t *root = json_loadb(p, n, 0, NULL);
	char msg[128];
	etcd__error(root, msg, sizeof(msg));
	json_t *kvs = json_object_get(root, "kvs"), *kv;
	size_t i;
	json_array_foreach(kvs, i, kv)
	{
		struct store_kv *r = NULL;
		if (etcd__kv_parse(kv, "/registry", &r) == 0)
			store_kv_unref(r);
	}
	static const struct store_op ops[3] = {{STORE_PUT, "/registry/a", "v", 1, 0},
					       {STORE_PUT, "/registry/b", "v", 1, 5},
					       {STORE_DELETE, "/registry/c", NULL, 0, -1}};
	size_t failed;
	json_t *resps = json_object_get(root, "responses");
	if (json_array_size(resps) == 3)
		etcd__txn_failed(ops, 3, resps, &failed);
	json_decref(root);
	return 0;
}
