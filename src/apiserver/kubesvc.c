/* kubesvc.c - the kubernetes Service's Endpoints and EndpointSlice, kept by every server:
 * kube-apiserver's "lease" endpoint reconciler (the decisions are in mlease.c).
 *
 * One thread per server. At start, and then every APISERVER_MLEASE_RENEW_MS, it rewrites
 * this server's record APISERVER_MLEASE_PREFIX<address>; every second it reads the records
 * (a memory read: the store's cache), deletes the ones that expired, and rewrites the
 * default/kubernetes Endpoints and EndpointSlice when the sorted live addresses differ from
 * what they list. Both writes are conditional on the mod_rev read, so two servers that
 * reconcile at once cannot undo each other: the loser re-reads on its next tick. A clean
 * stop deletes this server's record and reconciles without it, unless it is the last
 * address (as kube: the endpoints are never emptied by a server going away).
 *
 * The Endpoints carry endpointslice.kubernetes.io/skip-mirror=true (so the mirroring
 * controller leaves them alone and deletes a kubernetes-xxxxx slice it made before), and
 * the server writes the slice named "kubernetes" itself, as kube's endpointsadapter.go.
 *
 * State: the thread owns the observation table; as->kubesvc_* (mutex, condition, stop flag)
 * are shared with apiserver__kubesvc_stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "apiserver/mlease.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

/* Writes obj (borrowed) at key when its fields differ from want's (borrowed); the
 * metadata labels of want are merged in. kv is what was read (NULL: absent). */
static int put_if_changed(struct apiserver *as, const char *key, const struct store_kv *kv, json_t *obj,
			  const json_t *want, const char *const *fields, size_t nfields)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *labels = json_object_get(md, "labels");
	bool same = true;
	const char *lk;
	json_t *lv;
	json_object_foreach((json_t *)json_object_get(want, "labels"), lk, lv)
	{
		const json_t *have = json_object_get(labels, lk);
		same = same && have && json_equal(have, lv);
	}
	for (size_t i = 0; i < nfields; i++)
		same = same && json_equal(json_object_get(obj, fields[i]), json_object_get(want, fields[i]));
	if (same)
		return 0;
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(md, "labels", labels);
	}
	json_object_update(labels, json_object_get(want, "labels"));
	for (size_t i = 0; i < nfields; i++)
		json_object_set(obj, fields[i], json_object_get(want, fields[i]));
	return apiserver__store_put(as, key, obj, kv ? kv->mod_rev : 0, NULL);
}

/* The object stored at key (*kv its record, the caller unrefs), or a new one named
 * default/kubernetes when absent or unreadable. */
static json_t *load_or(struct apiserver *as, const char *key, struct store_kv **kv, const char *api_version,
		       const char *kind)
{
	json_t *o = NULL;
	if (store_get(as->store, key, kv) == 0)
		o = json_loadb((*kv)->value, (*kv)->value_len, 0, NULL);
	if (o)
		return o;
	char now[40], uid[40];
	api_now(now, sizeof(now));
	api_uuid(uid, sizeof(uid));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", api_version, "kind", kind,
			 "metadata", "name", "kubernetes", "namespace", "default", "uid", uid,
			 "creationTimestamp", now);
}

/* Makes the Endpoints and the EndpointSlice list addrs (a JSON array of strings) on port. */
static int write_endpoints(struct apiserver *as, const json_t *addrs, int port)
{
	const char *key = "/registry/core/endpoints/default/kubernetes";
	struct store_kv *kv = NULL;
	json_t *ep = load_or(as, key, &kv, "v1", "Endpoints");
	json_t *want = json_pack("{s:{s:s}, s:o}", "labels", "endpointslice.kubernetes.io/skip-mirror",
				 "true", "subsets", apiserver_mleases_subsets(addrs, port));
	static const char *const ep_fields[] = {"subsets"};
	int rc = put_if_changed(as, key, kv, ep, want, ep_fields, 1);
	json_decref(want);
	json_decref(ep);
	store_kv_unref(kv);
	kv = NULL;
	const struct api_kind *k = api_kind_by_plural("discovery.k8s.io", "v1", "endpointslices");
	if (rc < 0 || !k)
		return rc;
	char *skey = apiserver__key(k, "default", "kubernetes");
	json_t *sl = load_or(as, skey, &kv, "discovery.k8s.io/v1", "EndpointSlice");
	json_t *smd = json_object_get(sl, "metadata");
	if (!json_object_get(smd, "generation"))
		json_object_set_new(smd, "generation", json_integer(1));
	const char *first = json_string_value(json_array_get(addrs, 0));
	want = json_pack("{s:{s:s}, s:s, s:o, s:[{s:s, s:i, s:s}]}", "labels", "kubernetes.io/service-name",
			 "kubernetes", "addressType", first && strchr(first, ':') ? "IPv6" : "IPv4",
			 "endpoints", apiserver_mleases_slice_endpoints(addrs), "ports", "name", "https",
			 "port", port, "protocol", "TCP");
	static const char *const sl_fields[] = {"addressType", "endpoints", "ports"};
	rc = put_if_changed(as, skey, kv, sl, want, sl_fields, 3);
	json_decref(want);
	json_decref(sl);
	store_kv_unref(kv);
	free(skey);
	return rc;
}

/* Rewrites this server's record; keeps its new mod_rev for the delete at stop. */
static int renew(struct apiserver *as)
{
	char *key = xasprintf("%s%s", APISERVER_MLEASE_PREFIX, as->kubesvc_addr);
	char now[40];
	api_now(now, sizeof(now));
	char *val = xasprintf("{\"ip\":\"%s\",\"port\":%d,\"renewTime\":\"%s\"}", as->kubesvc_addr,
			      as->kubesvc_port, now);
	struct store_op op = {
	    .kind = STORE_PUT, .key = key, .value = val, .value_len = strlen(val), .expect_mod_rev = -1};
	struct store_result res = {0};
	int rc = store_txn(as->store, &op, 1, &res, NULL, NULL);
	if (rc == 0)
		as->kubesvc_rev = res.kv->mod_rev;
	store_kv_unref(res.kv);
	free(val);
	free(key);
	return rc;
}

/* Reads the records, forgets and deletes the expired ones, and writes the endpoints when
 * they differ. include_self is false only at a clean stop. */
static int reconcile(struct apiserver *as, struct apiserver_mleases *t, bool include_self)
{
	struct store_list l;
	int rc = store_range(as->store, APISERVER_MLEASE_PREFIX, NULL, 0, 0, &l);
	if (rc < 0)
		return rc;
	const char **keys = xcalloc(l.len + 1, sizeof(*keys));
	int64_t *revs = xcalloc(l.len + 1, sizeof(*revs));
	for (size_t i = 0; i < l.len; i++) {
		keys[i] = l.kvs[i]->key;
		revs[i] = l.kvs[i]->mod_rev;
	}
	int64_t now = clock_mono_ms();
	apiserver_mleases_observe(t, keys, revs, l.len, now);
	free(keys);
	free(revs);
	store_list_fini(&l);
	for (size_t i = 0; i < t->len; i++) {
		if (apiserver_mlease_live(&t->v[i], now, APISERVER_MLEASE_TTL_MS) ||
		    !strcmp(t->v[i].ip, as->kubesvc_addr))
			continue;
		char *key = xasprintf("%s%s", APISERVER_MLEASE_PREFIX, t->v[i].ip);
		struct store_op op = {.kind = STORE_DELETE, .key = key, .expect_mod_rev = t->v[i].mod_rev};
		if (store_txn(as->store, &op, 1, NULL, NULL, NULL) == 0)
			log_info("kubernetes endpoints: API server %s stopped renewing its record; dropped",
				 t->v[i].ip);
		free(key);
	}
	json_t *addrs =
	    apiserver_mleases_addresses(t, now, APISERVER_MLEASE_TTL_MS, as->kubesvc_addr, include_self);
	rc = json_array_size(addrs) ? write_endpoints(as, addrs, as->kubesvc_port) : 0;
	json_decref(addrs);
	return rc;
}

static void *kubesvc_thread(void *arg)
{
	struct apiserver *as = arg;
	struct apiserver_mleases t = {0};
	int64_t next_renew = clock_mono_ms() + APISERVER_MLEASE_RENEW_MS;
	/* Nothing kicks it: a pass a second, the first a second after the start's. */
	while (worker_wait(&as->kubesvc_w, 1000)) {
		int rc = 0;
		if (clock_mono_ms() >= next_renew) {
			rc = renew(as);
			if (rc < 0)
				log_warn("kubernetes endpoints: renewing this server's record: %s",
					 err_str(rc));
			else
				next_renew = clock_mono_ms() + APISERVER_MLEASE_RENEW_MS;
		}
		rc = reconcile(as, &t, true);
		if (rc < 0 && rc != -ESTALE && rc != -EEXIST)
			log_warn("kubernetes endpoints: %s", err_str(rc));
	}
	apiserver_mleases_fini(&t);
	return NULL;
}

/* One reconcile with no earlier observations (at start and at stop), retried a few times
 * when another server's write raced it. */
static int reconcile_fresh(struct apiserver *as, bool include_self)
{
	struct apiserver_mleases t = {0};
	int rc = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		rc = reconcile(as, &t, include_self);
		if (rc != -ESTALE && rc != -EEXIST)
			break;
	}
	apiserver_mleases_fini(&t);
	return rc;
}

/* The address the kubernetes Service lists for this server: addr as an IP, with the
 * wildcards and "localhost" taken as loopback. -EINVAL when it is not an address. */
static int endpoint_ip(const char *addr, struct ip_addr *ip)
{
	if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "localhost"))
		addr = "127.0.0.1";
	else if (!strcmp(addr, "::"))
		addr = "::1";
	return ip_parse(addr, ip) < 0 ? -EINVAL : 0;
}

int apiserver__kubesvc_start(struct apiserver *as, int port)
{
	const char *adv = as->o.advertise_address;
	struct ip_addr ip;
	if (adv && *adv && endpoint_ip(adv, &ip) < 0)
		log_warn("--advertise-address %s is not an IP address: the kubernetes Service lists the bind "
			 "address %s instead",
			 adv, as->o.bind_address);
	if ((!adv || !*adv || endpoint_ip(adv, &ip) < 0) && endpoint_ip(as->o.bind_address, &ip) < 0) {
		log_error(
		    "the kubernetes Service's endpoints need an IP address: pass --advertise-address IP");
		return -EINVAL;
	}
	ip_format(&ip, as->kubesvc_addr, sizeof(as->kubesvc_addr));
	as->kubesvc_port = port;
	int rc = renew(as);
	if (rc < 0)
		return rc;
	/* The first pass counts every other record as just renewed: it lists this server
	 * with every one that renewed within a TTL before (and not yet deleted). */
	rc = reconcile_fresh(as, true);
	if (rc < 0)
		return rc;
	worker_init(&as->kubesvc_w);
	rc = worker_start(&as->kubesvc_w, kubesvc_thread, as);
	if (rc < 0) {
		log_error("kubernetes endpoints: starting the reconciler thread: %s", strerror(-rc));
		worker_fini(&as->kubesvc_w);
		return rc;
	}
	as->kubesvc_running = true;
	return 0;
}

void apiserver__kubesvc_stop(struct apiserver *as)
{
	if (!as->kubesvc_running)
		return;
	worker_stop(&as->kubesvc_w);
	as->kubesvc_running = false;
	/* Our record goes, unless another server on this address rewrote it since. */
	char *key = xasprintf("%s%s", APISERVER_MLEASE_PREFIX, as->kubesvc_addr);
	struct store_op op = {.kind = STORE_DELETE, .key = key, .expect_mod_rev = as->kubesvc_rev};
	int rc = store_txn(as->store, &op, 1, NULL, NULL, NULL);
	free(key);
	if (rc == 0)
		rc = reconcile_fresh(as, false);
	if (rc < 0 && rc != -ESTALE && rc != -ENOENT)
		log_warn("kubernetes endpoints: giving this server's address up: %s", err_str(rc));
	worker_fini(&as->kubesvc_w);
}
