/* services.c - cluster IP and node port allocation, committed together with the Service.
 *
 * Every allocated value is a key in the store, written in the same transaction as the
 * Service that holds it (etcd-style, like Kubernetes' IPAddress objects):
 *
 *   /registry/allocations/ip/<address>      -> {"namespace":..,"name":..}
 *   /registry/allocations/nodeport/<port>   -> {"namespace":..,"name":..}
 *
 * A create puts the Service and its keys with "must not exist" conditions, an update
 * puts the new keys and deletes the released ones, a delete removes the Service and its
 * keys: one revision each, so no crash can leak or double-allocate a value. Two racing
 * creates that picked the same free value conflict on its key; the loser picks again.
 * The repair pass at start-up (apiserver__svc_repair) reconciles keys with Services
 * anyway, for stores written by older versions or edited by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/codec.h"
#include "api/object.h"
#include "api/service.h"
#include "apiserver/internal.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#define IP_PREFIX "/registry/allocations/ip/"
#define PORT_PREFIX "/registry/allocations/nodeport/"

int apiserver__svc_config(const struct apiserver_opts *o, struct api_service_config *cfg, char *err,
			  size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	char *copy = xstrdup(o->service_cluster_ip_range ? o->service_cluster_ip_range : "10.96.0.0/12"),
	     *save = NULL;
	int rc = 0;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (cfg->nranges == 2) {
			snprintf(err, errlen,
				 "--service-cluster-ip-range: at most two CIDRs (one per family)");
			rc = -EINVAL;
			break;
		}
		if ((rc = cidr_parse(p, &cfg->ranges[cfg->nranges], err, errlen)) < 0)
			break;
		cfg->nranges++;
	}
	free(copy);
	if (rc < 0)
		return rc;
	if (cfg->nranges == 2 && cfg->ranges[0].net.family == cfg->ranges[1].net.family) {
		snprintf(err, errlen, "--service-cluster-ip-range: two CIDRs must be one IPv4 and one IPv6");
		return -EINVAL;
	}
	if (sscanf(o->service_node_port_range ? o->service_node_port_range : "30000-32767", "%d-%d",
		   &cfg->node_port_min, &cfg->node_port_max) != 2) {
		snprintf(err, errlen, "--service-node-port-range: want MIN-MAX");
		return -EINVAL;
	}
	cfg->allow_external_ips = o->allow_external_ips;
	return 0;
}

/* A set of allocation keys, a VEC (base/vec.h) of heap strings. */
struct keys {
	char **v;
	size_t len, cap;
};

/* Adds k_take unless the set holds it already (then frees it). */
static void keys_add(struct keys *ks, char *k_take)
{
	for (size_t i = 0; i < ks->len; i++) {
		if (!strcmp(ks->v[i], k_take)) {
			free(k_take);
			return;
		}
	}
	*vec_push(ks) = k_take;
}

/* The allocation keys a stored Service holds (heap strings, NULL-terminated array). */
static char **holdings(const json_t *svc)
{
	struct keys keys = {0};
	const json_t *spec = json_object_get(svc, "spec");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "clusterIPs"), i, v)
	{
		struct ip_addr ip;
		char txt[IP_STRLEN];
		if (json_is_string(v) && ip_parse(json_string_value(v), &ip) == 0)
			keys_add(&keys, xasprintf(IP_PREFIX "%s", ip_format(&ip, txt, sizeof(txt))));
	}
	json_array_foreach(json_object_get(spec, "ports"), i, v)
	{
		json_int_t np = json_integer_value(json_object_get(v, "nodePort"));
		if (np > 0)
			keys_add(&keys, xasprintf(PORT_PREFIX "%lld", (long long)np));
	}
	json_int_t hc = json_integer_value(json_object_get(spec, "healthCheckNodePort"));
	if (hc > 0)
		keys_add(&keys, xasprintf(PORT_PREFIX "%lld", (long long)hc));
	*vec_push(&keys) = NULL; /* the terminator */
	return keys.v;
}

static void free_keys(char **k)
{
	for (size_t i = 0; k && k[i]; i++)
		free(k[i]);
	free(k);
}

static bool has_key(char **keys, const char *k)
{
	for (size_t i = 0; keys && keys[i]; i++)
		if (!strcmp(keys[i], k))
			return true;
	return false;
}

void apiserver__svc_plan_fini(struct svc_plan *p)
{
	for (size_t i = 0; i < p->ops.len; i++)
		free((char *)p->ops.v[i].key);
	vec_free(&p->ops);
	vec_free(&p->picked);
	free(p->owner);
	memset(p, 0, sizeof(*p));
}

static void plan_add(struct svc_plan *p, enum store_op_kind kind, char *key_take, bool picked)
{
	struct store_op *op = vec_push(&p->ops);
	*op = (struct store_op){.kind = kind, .key = key_take, .expect_mod_rev = kind == STORE_PUT ? 0 : -1};
	if (kind == STORE_PUT) {
		op->value = p->owner;
		op->value_len = strlen(p->owner);
	}
	*vec_push(&p->picked) = picked;
}

struct store_op *apiserver__svc_plan_txn(const struct svc_plan *p, struct store_op first, size_t *n)
{
	*n = 1 + p->ops.len;
	struct store_op *ops = xcalloc(*n, sizeof(*ops));
	ops[0] = first;
	for (size_t i = 0; i < p->ops.len; i++)
		ops[1 + i] = p->ops.v[i];
	return ops;
}

struct used_ctx {
	struct apiserver *as;
	struct svc_plan *plan;
};

static bool key_used(struct used_ctx *u, const char *key)
{
	for (size_t i = 0; i < u->plan->ops.len; i++)
		if (u->plan->ops.v[i].kind == STORE_PUT && !strcmp(u->plan->ops.v[i].key, key))
			return true;
	struct store_kv *kv = NULL;
	bool used = store_get(u->as->store, key, &kv) == 0;
	store_kv_unref(kv);
	return used;
}

static bool ip_used(const struct ip_addr *ip, void *ud)
{
	char txt[IP_STRLEN], key[128];
	snprintf(key, sizeof(key), IP_PREFIX "%s", ip_format(ip, txt, sizeof(txt)));
	return key_used(ud, key);
}

static bool port_used(int port, void *ud)
{
	char key[64];
	snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
	return key_used(ud, key);
}

static uint64_t seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
		s = (uint64_t)time(NULL);
	return s;
}

/* Picks a free node port into *port and plans its key; on a full range, kube's message in
 * msg and the error. */
static int node_port_pick(struct used_ctx *u, int *port, char *msg, size_t msglen)
{
	const struct api_service_config *cfg = &u->as->svc_cfg;
	int rc =
	    api_service_pick_node_port(cfg->node_port_min, cfg->node_port_max, port_used, u, seed(), port);
	if (rc < 0) {
		snprintf(msg, msglen,
			 "Internal error occurred: failed to allocate a nodePort: range is full");
		return rc;
	}
	plan_add(u->plan, STORE_PUT, xasprintf(PORT_PREFIX "%d", *port), true);
	return 0;
}

static void set_cluster_ips(json_t *spec, const struct ip_addr *ips, int n)
{
	json_t *arr = json_array();
	char txt[IP_STRLEN];
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_string(ip_format(&ips[i], txt, sizeof(txt))));
	json_object_set_new(spec, "clusterIP", json_string(ip_format(&ips[0], txt, sizeof(txt))));
	json_object_set_new(spec, "clusterIPs", arr);
}

int apiserver__svc_plan(struct apiserver *as, json_t *svc, const json_t *old, struct svc_plan *plan,
			struct api_errs *e, char *msg, size_t msglen)
{
	memset(plan, 0, sizeof(*plan));
	plan->owner =
	    xasprintf("{\"namespace\":\"%s\",\"name\":\"%s\"}", api_str(svc, "metadata.namespace") ?: "",
		      api_str(svc, "metadata.name") ?: "");
	api_service_default(svc, old, &as->svc_cfg);
	api_service_validate(svc, old, &as->svc_cfg, e);
	if (api_errs_count(e))
		return ERR_INVALID;
	if (api_service_external_ips_denied(svc, old, &as->svc_cfg)) {
		snprintf(msg, msglen, "Use of external IPs is denied by admission control");
		return -EACCES;
	}
	char **held = old ? holdings(old) : NULL;
	struct api_service_needs needs;
	api_service_needs(svc, &as->svc_cfg, &needs);
	struct used_ctx u = {as, plan};
	json_t *spec = json_object_get(svc, "spec");
	int rc = 0;
	/* Cluster IPs, in ipFamilies order. */
	if (needs.nips > 0) {
		struct ip_addr ips[2];
		for (int i = 0; i < needs.nips; i++) {
			struct api_service_ip_need *need = &needs.ips[i];
			char txt[IP_STRLEN];
			if (!need->any) {
				ips[i] = need->ip;
				char *key = xasprintf(IP_PREFIX "%s", ip_format(&need->ip, txt, sizeof(txt)));
				if (has_key(held, key)) {
					free(key);
					continue;
				}
				if (key_used(&u, key)) {
					api_service_err_ip_taken(e, svc, txt);
					free(key);
					rc = ERR_INVALID;
					goto out;
				}
				plan_add(plan, STORE_PUT, key, false);
			} else {
				rc = api_service_pick_ip(&as->svc_cfg.ranges[need->range], ip_used, &u,
							 seed(), &ips[i]);
				if (rc < 0) {
					snprintf(
					    msg, msglen,
					    "Internal error occurred: failed to allocate a serviceIP: range is full");
					goto out;
				}
				plan_add(plan, STORE_PUT,
					 xasprintf(IP_PREFIX "%s", ip_format(&ips[i], txt, sizeof(txt))),
					 true);
			}
		}
		set_cluster_ips(spec, ips, needs.nips);
	}
	/* Node ports. */
	json_t *ports = json_object_get(spec, "ports");
	int *chosen = xcalloc(needs.nports ? needs.nports : 1, sizeof(int));
	for (size_t i = 0; i < needs.nports; i++) {
		struct api_service_port_need *need = &needs.ports[i];
		int port = need->node_port;
		if (!port && need->same_as >= 0) {
			port = chosen[need->same_as];
		} else if (port) {
			char key[64];
			snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
			if (!has_key(held, key)) {
				bool own = false; /* an earlier port of this Service already took it */
				for (size_t j = 0; j < i; j++)
					own |= chosen[j] == port;
				if (!own && key_used(&u, key)) {
					api_service_err_port_taken(e, need->index, port);
					rc = ERR_INVALID;
					free(chosen);
					goto out;
				}
				if (!own)
					plan_add(plan, STORE_PUT, xstrdup(key), false);
			}
		} else if ((rc = node_port_pick(&u, &port, msg, msglen)) < 0) {
			free(chosen);
			goto out;
		}
		chosen[i] = port;
		json_object_set_new(json_array_get(ports, need->index), "nodePort", json_integer(port));
	}
	free(chosen);
	if (needs.health_check) {
		int port = needs.health_check_node_port;
		char key[64];
		if (port) {
			snprintf(key, sizeof(key), PORT_PREFIX "%d", port);
			if (!has_key(held, key)) {
				if (key_used(&u, key)) {
					char *m = xasprintf(
					    "failed to allocate requested HealthCheck NodePort %d: provided port is already allocated",
					    port);
					snprintf(msg, msglen, "%s", m);
					free(m);
					rc = -EEXIST;
					goto out;
				}
				plan_add(plan, STORE_PUT, xstrdup(key), false);
			}
		} else if ((rc = node_port_pick(&u, &port, msg, msglen)) < 0) {
			goto out;
		}
		json_object_set_new(spec, "healthCheckNodePort", json_integer(port));
	}
	/* Release what the old object held and the new one does not. */
	if (held) {
		char **now = holdings(svc);
		for (size_t i = 0; held[i]; i++)
			if (!has_key(now, held[i]))
				plan_add(plan, STORE_DELETE, xstrdup(held[i]), false);
		free_keys(now);
	}
out:
	api_service_needs_fini(&needs);
	free_keys(held);
	return rc;
}

void apiserver__svc_release_ops(const json_t *svc, struct svc_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->owner = xstrdup("");
	char **held = holdings(svc);
	for (size_t i = 0; held[i]; i++)
		plan_add(plan, STORE_DELETE, xstrdup(held[i]), false);
	free_keys(held);
}

/* Reconciles allocation keys with the stored Services: keys nobody holds are deleted,
 * values a Service holds without a key get one. Returns how many keys it changed. */
int apiserver__svc_repair(struct apiserver *as)
{
	struct store_list svcs, ips, ports;
	if (store_range(as->store, "/registry/core/services/", NULL, 0, 0, &svcs) < 0)
		return -EIO;
	/* All three lists at one revision: with several API servers on one etcd, another
	 * server's create between two reads would otherwise look like a key nobody holds. */
	if (store_range(as->store, IP_PREFIX, NULL, 0, svcs.rev, &ips) < 0) {
		store_list_fini(&svcs);
		return -EIO;
	}
	if (store_range(as->store, PORT_PREFIX, NULL, 0, svcs.rev, &ports) < 0) {
		store_list_fini(&svcs);
		store_list_fini(&ips);
		return -EIO;
	}
	json_t *want = json_object(); /* key -> owner */
	for (size_t i = 0; i < svcs.len; i++) {
		/* Only spec says what a Service holds; decoding just that member keeps the
		 * pass fast with many large Services (managedFields, annotations). The owner
		 * comes from the key, /registry/core/services/<ns>/<name>. */
		const struct store_kv *kv = svcs.kvs[i];
		size_t off, vlen;
		json_t *o = NULL;
		if (api_json_member_span(kv->value, kv->value_len, "spec", &off, &vlen) == 0) {
			json_t *spec = json_loadb(kv->value + off, vlen, 0, NULL);
			const char *ns = kv->key + strlen("/registry/core/services/");
			const char *slash = strchr(ns, '/');
			if (spec && slash) {
				char *nsn = xstrndup(ns, (size_t)(slash - ns));
				o = json_pack("{s:o, s:{s:s, s:s}}", "spec", spec, "metadata", "namespace",
					      nsn, "name", slash + 1);
				free(nsn);
			} else {
				json_decref(spec);
			}
		}
		if (!o)
			continue;
		char **held = holdings(o);
		for (size_t j = 0; held[j]; j++) {
			if (json_object_get(want, held[j]))
				log_warn("repair: %s is held by two Services (%s/%s and another)", held[j],
					 api_str(o, "metadata.namespace"), api_str(o, "metadata.name"));
			else
				json_object_set_new(want, held[j],
						    json_pack("{s:s, s:s}", "namespace",
							      api_str(o, "metadata.namespace") ?: "", "name",
							      api_str(o, "metadata.name") ?: ""));
		}
		free_keys(held);
		json_decref(o);
	}
	int changed = 0;
	struct store_list *lists[2] = {&ips, &ports};
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->len; i++) {
			const char *k = lists[l]->kvs[i]->key;
			if (json_object_get(want, k)) {
				json_object_del(want, k);
				continue;
			}
			/* Only the version read: a key released and taken again since is kept. */
			struct store_op del = {
			    .kind = STORE_DELETE, .key = k, .expect_mod_rev = lists[l]->kvs[i]->mod_rev};
			struct store_result dres = {0};
			int drc = store_txn(as->store, &del, 1, &dres, NULL, NULL);
			store_kv_unref(dres.kv);
			if (drc == 0) {
				log_info("repair: released %s (no Service holds it)", k);
				changed++;
			}
		}
	const char *k;
	json_t *owner;
	json_object_foreach(want, k, owner)
	{
		char *val = json_dumps(owner, JSON_COMPACT);
		struct store_op op = {
		    .kind = STORE_PUT, .key = k, .value = val, .value_len = strlen(val), .expect_mod_rev = 0};
		struct store_result res = {0};
		if (store_txn(as->store, &op, 1, &res, NULL, NULL) == 0) {
			log_info("repair: recorded %s for %s/%s", k, api_str(owner, "namespace"),
				 api_str(owner, "name"));
			changed++;
		}
		store_kv_unref(res.kv);
		free(val);
	}
	json_decref(want);
	store_list_fini(&svcs);
	store_list_fini(&ips);
	store_list_fini(&ports);
	return changed;
}
