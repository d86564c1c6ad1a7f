/* bootstrap.c - objects that exist from the first start: the four namespaces, the
 * kubernetes and kube-dns Services (their endpoints: kubesvc.c); and the
 * start-up check of stored records, on a thread of its own.
 *
 * Emptying a namespace being deleted is the namespace controller's (controller/namespace.c),
 * a client of the API; this server deletes the namespace when its finalize subresource
 * leaves no finalizer (resource.c).
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
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "apiVersion",
			      "v1", "kind", "Namespace", "metadata", "name", name, "uid", uid,
			      "creationTimestamp", now, "labels", "kubernetes.io/metadata.name", name, "spec",
			      "finalizers", "kubernetes", "status", "phase", "Active");
	int rc = apiserver__create_missing(as, key, o);
	json_decref(o);
	free(key);
	return rc;
}

int apiserver__store_put(struct apiserver *as, const char *key, const json_t *o, int64_t expect_mod_rev,
			 int64_t *rev)
{
	char *val = json_dumps(o, JSON_COMPACT);
	struct store_op op = {.kind = STORE_PUT,
			      .key = key,
			      .value = val,
			      .value_len = strlen(val),
			      .expect_mod_rev = expect_mod_rev};
	struct store_result res = {0};
	int rc = store_txn(as->store, &op, 1, &res, rev, NULL);
	store_kv_unref(res.kv);
	free(val);
	return rc;
}

int apiserver__create_missing(struct apiserver *as, const char *key, const json_t *o)
{
	int rc = apiserver__store_put(as, key, o, 0, NULL);
	return rc == -EEXIST ? 0 : rc;
}

/* The IngressClass of the agents' Ingress controller (ingress/proxy.h), marked as the
 * cluster's default as ingress-nginx's chart marks its own; made once, so a user's change
 * (say, removing the default mark) stays. */
static int ensure_ingress_class(struct apiserver *as)
{
	char now[40], uid[40];
	api_now(now, sizeof(now));
	api_uuid(uid, sizeof(uid));
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i, s:{s:s}}, s:{s:s}}", "apiVersion",
			      "networking.k8s.io/v1", "kind", "IngressClass", "metadata", "name", "svcplane",
			      "uid", uid, "creationTimestamp", now, "generation", 1, "annotations",
			      "ingressclass.kubernetes.io/is-default-class", "true", "spec", "controller",
			      "svcplane.io/ingress");
	int rc = apiserver__create_missing(as, "/registry/networking.k8s.io/ingressclasses/svcplane", o);
	json_decref(o);
	return rc;
}

int apiserver__bootstrap(struct apiserver *as)
{
	static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
	for (size_t i = 0; i < 4; i++) {
		int rc = ensure_namespace(as, names[i]);
		if (rc < 0)
			return rc;
	}
	int rc = ensure_ingress_class(as);
	if (rc < 0)
		return rc;
	return apiserver__bootstrap_rbac(as);
}

void *apiserver__startup_check(void *arg)
{
	/* Off the start-up path: decoding every stored object costs about as much as the
	 * repair pass, and lists leave bad records out whether or not they were named yet. */
	apiserver__check_stored(arg);
	return NULL;
}

/* Creates a system Service if it does not exist, with the n-th IP of the primary range
 * (any free one when that is taken). */
static int ensure_service(struct apiserver *as, const char *ns, const char *name, uint64_t nth,
			  json_t *svc_take)
{
	char *key = xasprintf("/registry/core/services/%s/%s", ns, name);
	struct store_kv *kv = NULL;
	int rc = store_get(as->store, key, &kv);
	store_kv_unref(kv);
	if (rc == 0) {
		free(key);
		json_decref(svc_take);
		return 0;
	}
	char now[40], uid[40], txt[IP_STRLEN];
	api_now(now, sizeof(now));
	api_uuid(uid, sizeof(uid));
	json_t *meta = api_obj(svc_take, "metadata");
	json_object_set_new(meta, "name", json_string(name));
	json_object_set_new(meta, "namespace", json_string(ns));
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(now));
	json_object_set_new(svc_take, "status", json_pack("{s:{}}", "loadBalancer"));
	struct ip_addr ip;
	if (api_service_well_known_ip(&as->svc_cfg.ranges[0], nth, &ip) == 0)
		json_object_set_new(api_obj(svc_take, "spec"), "clusterIP",
				    json_string(ip_format(&ip, txt, sizeof(txt))));
	for (int attempt = 0; attempt < 2; attempt++) {
		json_t *w = json_deep_copy(svc_take);
		struct svc_plan plan;
		struct api_errs e;
		char msg[256] = "";
		api_errs_init(&e);
		rc = apiserver__svc_plan(as, w, NULL, &plan, &e, msg, sizeof(msg));
		if (rc == 0) {
			char *val = json_dumps(w, JSON_COMPACT);
			size_t n;
			struct store_op *ops =
			    apiserver__svc_plan_txn(&plan,
						    (struct store_op){.kind = STORE_PUT,
								      .key = key,
								      .value = val,
								      .value_len = strlen(val),
								      .expect_mod_rev = 0},
						    &n);
			rc = store_txn(as->store, ops, n, NULL, NULL, NULL);
			free(ops);
			free(val);
			if (rc == 0)
				log_info("created Service %s/%s with cluster IP %s", ns, name,
					 api_str(w, "spec.clusterIP"));
		} else {
			char *errs = json_dumps(e.causes, JSON_COMPACT);
			log_warn("Service %s/%s: cannot take its well-known IP (%s%s); picking another", ns,
				 name, msg, errs);
			free(errs);
			json_object_del(api_obj(svc_take, "spec"), "clusterIP");
		}
		apiserver__svc_plan_fini(&plan);
		api_errs_fini(&e);
		json_decref(w);
		if (rc == 0)
			break;
	}
	free(key);
	json_decref(svc_take);
	return rc == -EEXIST ? 0 : rc;
}
int apiserver__bootstrap_services(struct apiserver *as, int port)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int changed = apiserver__svc_repair(as);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("allocation repair: %d keys fixed in %.1f ms", changed > 0 ? changed : 0,
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	int rc = ensure_service(
	    as, "default", "kubernetes", 1,
	    json_pack("{s:s, s:s, s:{s:{s:s, s:s}}, s:{s:s, s:s, s:[{s:s, s:s, s:i, s:i}]}}", "apiVersion",
		      "v1", "kind", "Service", "metadata", "labels", "component", "apiserver", "provider",
		      "kubernetes", "spec", "type", "ClusterIP", "sessionAffinity", "None", "ports", "name",
		      "https", "protocol", "TCP", "port", 443, "targetPort", port));
	if (rc < 0)
		return rc;
	/* Without a selector: every agent serves DNS on its node, and the controller manager
	 * writes the Ready nodes as the Endpoints (controller/dnsep.h). */
	rc = ensure_service(
	    as, "kube-system", "kube-dns", 10,
	    json_pack(
		"{s:s, s:s, s:{s:{s:s, s:s, s:s}}, s:{s:s, s:[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}]}}",
		"apiVersion", "v1", "kind", "Service", "metadata", "labels", "k8s-app", "kube-dns",
		"kubernetes.io/name", "svcplane-dns", "kubernetes.io/cluster-service", "true", "spec", "type",
		"ClusterIP", "ports", "name", "dns", "protocol", "UDP", "port", 53, "targetPort", 53, "name",
		"dns-tcp", "protocol", "TCP", "port", 53, "targetPort", 53));
	if (rc < 0)
		return rc;
	/* The kubernetes Service's Endpoints and EndpointSlice list every live server
	 * (kubesvc.c). */
	return apiserver__kubesvc_start(as, port);
}
