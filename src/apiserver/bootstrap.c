/* bootstrap.c - objects that exist from the first start, and the namespace finalizer.
 *
 * The namespace finalizer does what kube-controller-manager's namespace controller does
 * for svcplane's kinds: when a namespace is marked for deletion, everything in it is
 * deleted (objects with finalizers are marked and left to their owners), and when it is
 * empty the namespace itself goes. It wakes when a namespace changes and every 2 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/log.h"
#include "base/mem.h"

static int ensure_namespace(struct apiserver *as, const char *name)
{
	char *key = xasprintf("/registry/core/namespaces/%s", name);
	char now[40], uid[40];
	api_now(now, sizeof(now));
	api_uuid(uid, sizeof(uid));
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "apiVersion", "v1", "kind",
			      "Namespace", "metadata", "name", name, "uid", uid, "creationTimestamp", now, "labels",
			      "kubernetes.io/metadata.name", name, "spec", "finalizers", "kubernetes", "status", "phase",
			      "Active");
	char *val = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	struct store_op op = {.kind = STORE_PUT, .key = key, .value = val, .value_len = strlen(val), .expect_mod_rev = 0};
	int64_t rev;
	size_t failed;
	struct store_result res = {0};
	int rc = store_txn(as->store, &op, 1, &res, &rev, &failed);
	store_kv_unref(res.kv);
	free(val);
	free(key);
	return rc == -EEXIST ? 0 : rc;
}

int apiserver__bootstrap(struct apiserver *as)
{
	static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
	for (size_t i = 0; i < 4; i++) {
		int rc = ensure_namespace(as, names[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void apiserver__ns_kick(struct apiserver *as)
{
	pthread_mutex_lock(&as->ns_mu);
	as->ns_dirty = true;
	pthread_cond_signal(&as->ns_cond);
	pthread_mutex_unlock(&as->ns_mu);
}

/* Deletes the contents of namespace ns; returns how many objects remain. */
static size_t purge(struct apiserver *as, const char *ns)
{
	size_t remain = 0;
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (!k->namespaced)
			continue;
		char *prefix = apiserver__prefix(k, ns);
		struct store_list l;
		if (store_range(as->store, prefix, NULL, 0, 0, &l) < 0) {
			free(prefix);
			remain++;
			continue;
		}
		for (size_t j = 0; j < l.len; j++) {
			json_t *o = json_loadb(l.kvs[j]->value, l.kvs[j]->value_len, 0, NULL);
			json_t *meta = json_object_get(o, "metadata");
			if (json_array_size(json_object_get(meta, "finalizers")) > 0) {
				remain++;
				if (!json_object_get(meta, "deletionTimestamp")) {
					char now[40];
					json_object_set_new(meta, "deletionTimestamp", json_string(api_now(now, sizeof(now))));
					json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
					char *val = json_dumps(o, JSON_COMPACT);
					struct store_op op = {.kind = STORE_PUT, .key = l.kvs[j]->key, .value = val,
							      .value_len = strlen(val), .expect_mod_rev = l.kvs[j]->mod_rev};
					struct store_result res = {0};
					int64_t rev;
					size_t failed;
					store_txn(as->store, &op, 1, &res, &rev, &failed);
					store_kv_unref(res.kv);
					free(val);
				}
			} else if (apiserver__delete_key(as, l.kvs[j]->key) < 0 ) {
				remain++;
			}
			json_decref(o);
		}
		store_list_fini(&l);
		free(prefix);
	}
	return remain;
}

static void finalize_pass(struct apiserver *as)
{
	struct store_list l;
	if (store_range(as->store, "/registry/core/namespaces/", NULL, 0, 0, &l) < 0)
		return;
	for (size_t i = 0; i < l.len; i++) {
		if (!strstr(l.kvs[i]->value, "\"deletionTimestamp\""))
			continue;
		json_t *o = json_loadb(l.kvs[i]->value, l.kvs[i]->value_len, 0, NULL);
		const char *name = api_str(o, "metadata.name");
		if (name && purge(as, name) == 0) {
			struct store_op op = {.kind = STORE_DELETE, .key = l.kvs[i]->key,
					      .expect_mod_rev = l.kvs[i]->mod_rev};
			struct store_result res = {0};
			int64_t rev;
			size_t failed;
			if (store_txn(as->store, &op, 1, &res, &rev, &failed) == 0)
				log_info("namespace %s deleted", name);
			store_kv_unref(res.kv);
		}
		json_decref(o);
	}
	store_list_fini(&l);
}

void *apiserver__ns_finalizer(void *arg)
{
	struct apiserver *as = arg;
	pthread_mutex_lock(&as->ns_mu);
	while (!as->stopping) {
		if (!as->ns_dirty) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;
			pthread_cond_timedwait(&as->ns_cond, &as->ns_mu, &ts);
		}
		if (as->stopping)
			break;
		as->ns_dirty = false;
		pthread_mutex_unlock(&as->ns_mu);
		finalize_pass(as);
		pthread_mutex_lock(&as->ns_mu);
	}
	pthread_mutex_unlock(&as->ns_mu);
	return NULL;
}
