/* pods.c - the node agent's pod lifecycle: pods bound to this node are set up (network,
 * files, environment) and run by the runtime, deleted ones stopped within their grace
 * period and torn down, and what belongs to no known pod after a restart removed.
 * Agent thread only; nothing here waits on the API (statuses and deletes are queued).
 */
#include "node/pods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/envvars.h"
#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "node/envsrc.h"
#include "node/volumes.h"
#include "node/netlink.h"
#include "node/netns.h"
#include "node/objcache.h"
#include "node/podfiles.h"
#include "node/podipam.h"
#include "node/podnet.h"
#include "node/prober.h"
#include "node/runtime.h"
#include "node/satokens.h"
#include "node/status.h"

static json_t *source_get(void *ud, const char *kind, const char *ns, const char *name)
{
	struct node_agent *a = ud;
	return node_objcache_get(a->objs, kind, ns, name);
}

/* The ConfigMaps and Secrets p's environment reads, as now cached; true when they differ
 * from what the runtime was given (p->env_fp). */
static bool env_sources_changed(struct node_agent *a, struct apod *p)
{
	json_t *src = node_envsrc_collect(p->pod, source_get, a, sysconf(_SC_NPROCESSORS_ONLN),
					  (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	char *fp = src ? json_dumps(src, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	bool changed = (fp || p->env_fp) && (!fp || !p->env_fp || strcmp(fp, p->env_fp));
	json_decref(p->env_sources);
	p->env_sources = src;
	free(p->env_fp);
	p->env_fp = fp;
	return changed;
}

/* Brings p's volumes up to date (node/volumes.h): the per-pod tmpfs set up once, the
 * files rewritten when what they hold changed. Returns false when they could not be set
 * up (the reason logged; retried on a later pass). A required ConfigMap or Secret that is
 * missing fails the sync as kubelet's MountVolume.SetUp does: files already written stay,
 * and a Warning FailedMount event is recorded on the pod once per distinct message. */
static bool volumes_sync(struct node_agent *a, struct apod *p)
{
	json_t *plan = NULL;
	char err[512] = "";
	if (node_volumes_plan(p->pod, source_get, a, &plan, err, sizeof(err)) < 0) {
		if (!p->mount_err || strcmp(p->mount_err, err)) {
			log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
			node__event_post(a, api_event_new(p->pod, "Pod", NULL, "kubelet", a->node_name,
							  "Warning", "FailedMount", err));
			free(p->mount_err);
			p->mount_err = xstrdup(err);
		}
		return false;
	}
	free(p->mount_err);
	p->mount_err = NULL;
	const char *sa;
	if (a->satokens && node_volumes_sa_wanted(p->pod, &sa)) {
		/* As kubelet: the containers wait for the token (fetched by the worker). */
		char *tok = NULL;
		enum node_satoken_state st = node_satokens_get(a->satokens, p->uid, p->ns, p->name, sa, &tok);
		if (st == NODE_SATOKEN_PENDING) {
			json_decref(plan);
			return false;
		}
		if (st == NODE_SATOKEN_READY)
			node_volumes_plan_sa(&plan, p->pod, tok, a->ca_pem);
		free(tok);
	}
	if (!plan && !p->vol_dir)
		return true;
	if (!p->vol_dir) {
		char *dir = xasprintf("%s/volumes", a->data_dir);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			log_warn("agent: %s: %s", dir, strerror(errno));
		free(dir);
		dir = xasprintf("%s/volumes/%s", a->data_dir, p->uid);
		if (node_volumes_setup(dir, err, sizeof(err)) < 0) {
			log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
			free(dir);
			json_decref(plan);
			return false;
		}
		p->vol_dir = dir;
	}
	char *fp = plan ? json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	bool ok = true;
	if (fp && (!p->vol_fp || strcmp(fp, p->vol_fp))) {
		if (node_volumes_write(p->vol_dir, plan, err, sizeof(err)) < 0) {
			log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
			ok = false;
		}
	}
	if (ok) {
		free(p->vol_fp);
		p->vol_fp = fp;
		json_decref(p->vol_plan);
		p->vol_plan = plan;
	} else {
		free(fp);
		json_decref(plan);
	}
	return ok;
}

/* Starts the pod: network, files, env, runtime. Retried later while the network fails.
 * With refresh, the pod runs already: only what the runtime keeps for (re)starts is given
 * again (a ConfigMap or Secret its environment reads has changed). */
static void pod_start(struct node_agent *a, struct apod *p, bool refresh)
{
	if (node__now_ms() < p->retry_ms)
		return;
	if (!refresh) {
		/* As kubelet: the ConfigMaps and Secrets the pod uses are read before it starts
		 * (asking registers them with the reader; its news wakes the loop). */
		json_t *plan = NULL;
		char e[256];
		json_decref(node_envsrc_collect(p->pod, source_get, a, 1, 0));
		node_volumes_plan(p->pod, source_get, a, &plan, e, sizeof(e));
		json_decref(plan);
		if (node_objcache_pending(a->objs))
			return;
	}
	if (p->host_net) {
		/* The node's network namespace and addresses; nothing to set up or tear down. */
		snprintf(p->ip, sizeof(p->ip), "%s", a->node_ip);
		snprintf(p->ip6, sizeof(p->ip6), "%s", a->node_ip6 ? a->node_ip6 : "");
		p->net_ok = true;
	} else if (!a->have_cidr || !a->bridge_ok) {
		return;
	}
	if (!p->net_ok && node__podnet_setup(a, p) < 0) {
		log_warn("agent: pod %s/%s: %s", p->ns, p->name, p->net_err);
		p->retry_ms = node__now_ms() + AGENT_NET_RETRY_MS;
		return;
	}
	const char *cdns[] = {a->cluster_dns, NULL};
	struct node_dns_opts dns = {.cluster_domain = a->cluster_domain,
				    .cluster_dns = a->cluster_dns ? cdns : NULL,
				    .host_resolv_conf = a->host_resolv};
	char warn[256] = "", err[256] = "";
	char *resolv = node_podfiles_resolv_conf(p->pod, &dns, warn, sizeof(warn));
	char *hostname = NULL, *domain = NULL, *kname = NULL, *hosts = NULL;
	if (node_podfiles_hostname(p->pod, a->cluster_domain, &hostname, &domain, &kname, err, sizeof(err)) <
	    0) {
		node__set_net_err(p, xasprintf("%s", err));
		p->retry_ms = node__now_ms() + AGENT_NET_RETRY_MS;
		free(resolv);
		return;
	}
	if (p->host_net) {
		/* As kubelet: a host-network pod has the node's hostname. */
		char hn[256] = "";
		gethostname(hn, sizeof(hn) - 1);
		free(kname);
		kname = xstrdup(hn);
	}
	const char *ips[] = {p->ip, p->ip6[0] ? p->ip6 : NULL, NULL};
	char *host_hosts = p->host_net ? node__read_file("/etc/hosts") : NULL;
	hosts = node_podfiles_hosts(p->pod, ips, hostname, domain, host_hosts);
	free(host_hosts);
	if (!p->svc_env) {
		json_t *svcs = informer_list(a->svcs, NULL);
		json_t *esl = json_object_get(json_object_get(p->pod, "spec"), "enableServiceLinks");
		p->svc_env = api_envvars_from_services(svcs, p->ns, !json_is_false(esl));
		json_decref(svcs);
	}
	if (!refresh)
		env_sources_changed(a, p);
	if (!refresh && !volumes_sync(a, p)) {
		p->retry_ms = node__now_ms() + AGENT_NET_RETRY_MS;
		free(resolv);
		free(hostname);
		free(domain);
		free(kname);
		free(hosts);
		return;
	}
	json_t *mounts = p->vol_plan && p->vol_dir ? node_volumes_mounts(p->vol_dir, p->vol_plan) : NULL;
	if (mounts && !node_volumes_need_root(p->vol_plan) &&
	    node_volumes_sa_mountpoint(err, sizeof(err)) < 0)
		log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
	char *logdir = xasprintf("%s/%s_%s_%s", a->log_dir, p->ns, p->name, p->uid);
	struct node_rt_pod rp = {.pod = p->pod,
				 .netns_fd = p->netns_fd,
				 .resolv_conf = resolv,
				 .hosts = hosts,
				 .hostname = kname,
				 .service_env = p->svc_env,
				 .env_sources = p->env_sources,
				 .pod_ip = p->ip,
				 .host_ip = a->node_ip,
				 .log_dir = logdir,
				 .root_dir =
				     mounts && node_volumes_need_root(p->vol_plan) ? p->vol_dir : NULL,
				 .mounts = mounts};
	int rc = node_rt_pod_run(a->rt, &rp, err, sizeof(err));
	if (rc < 0) {
		log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
		p->retry_ms = node__now_ms() + AGENT_NET_RETRY_MS;
	} else if (!refresh) {
		p->running = true;
		const char *st = api_str(p->pod, "status.startTime");
		if (st)
			snprintf(p->start_time, sizeof(p->start_time), "%s", st);
		else
			api_now(p->start_time, sizeof(p->start_time));
		node__probes_init(p);
		log_info("agent: pod %s/%s running with IP %s", p->ns, p->name, p->ip);
	}
	json_decref(mounts);
	free(logdir);
	free(resolv);
	free(hostname);
	free(domain);
	free(kname);
	free(hosts);
}

/* Stops and, once its processes are gone, tears the pod down and (for a pod still in the
 * API) queues kubelet's final DELETE. Returns true when the record may be freed: at
 * once for a pod the API no longer has, else once the informer no longer lists it. */
static bool pod_finish(struct node_agent *a, struct apod *p)
{
	if (p->deleted)
		return p->gone; /* the final DELETE is queued: wait until the informer sees it */
	if (!p->stopping) {
		int grace = -1;
		json_t *g = p->pod ? json_object_get(json_object_get(p->pod, "metadata"),
						     "deletionGracePeriodSeconds")
				   : NULL;
		if (json_is_integer(g))
			grace = (int)json_integer_value(g);
		node_rt_pod_stop(a->rt, p->uid, grace);
		p->stopping = true;
		log_info("agent: stopping pod %s/%s (%s)", p->ns ? p->ns : "?", p->name ? p->name : p->uid,
			 p->gone ? "deleted" : "terminating");
	}
	if (!node_rt_pod_stopped(a->rt, p->uid))
		return false;
	node_rt_pod_remove(a->rt, p->uid);
	if (!p->host_net)
		node__podnet_teardown(a, p);
	if (a->satokens)
		node_satokens_forget(a->satokens, p->uid);
	if (p->vol_dir) {
		node_volumes_teardown(p->vol_dir);
		free(p->vol_dir);
		p->vol_dir = NULL;
	}
	if (!p->gone && p->ns && p->name) {
		/* As kubelet: the final delete once nothing of the pod runs any more. */
		char *path = xasprintf("/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0", p->ns, p->name);
		json_t *body = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion",
					 "v1", "gracePeriodSeconds", 0, "preconditions", "uid", p->uid);
		char key[80];
		snprintf(key, sizeof(key), "delete/%s", p->uid);
		node__write(a, key, "DELETE", path, NULL, body);
		p->deleted = true;
	}
	log_info("agent: pod %s removed", p->uid);
	return !p->deleted;
}

static bool uid_known(void *ud, const char *uid)
{
	return node__pod_find(ud, uid) != NULL;
}

/* Once, after the first pods list: tear down what belongs to no pod we know. */
static void cleanup_leftovers(struct node_agent *a)
{
	char **names = NULL;
	size_t n = 0;
	if (node_netns_list(&names, &n) == 0) {
		size_t pl = strlen(NODE_AGENT_NETNS_PREFIX);
		for (size_t i = 0; i < n; i++) {
			if (strncmp(names[i], NODE_AGENT_NETNS_PREFIX, pl) ||
			    node__pod_find(a, names[i] + pl))
				continue;
			/* Another node's pods share /run/netns on a one-machine cluster: only a netns
			 * whose veth is on our bridge is ours. */
			struct apod tmp = {.netns_fd = -1};
			snprintf(tmp.uid, sizeof(tmp.uid), "%s", names[i] + pl);
			node__pod_names(&tmp);
			struct node_link l;
			if (!tmp.veth[0] || node_link_get(a->nl, tmp.veth, &l) < 0)
				continue;
			log_info("agent: removing leftover netns %s", names[i]);
			node__podnet_teardown(a, &tmp);
		}
		node_netns_list_free(names, n);
	}
	node_ipam_release_unknown(a->ipam_dir, uid_known, a);
	node_volumes_cleanup(a->data_dir, uid_known, a);
}

void node__pods_reconcile(struct node_agent *a)
{
	json_t *pods = informer_list(a->pods, NULL);
	for (struct apod *p = a->list; p; p = p->next)
		p->seen = false;
	size_t i;
	json_t *o;
	json_array_foreach(pods, i, o)
	{
		const char *uid = api_str(o, "metadata.uid"), *node = api_str(o, "spec.nodeName");
		if (!uid || !node || strcmp(node, a->node_name))
			continue;
		struct apod *p = node__pod_find(a, uid);
		if (!p)
			p = node__pod_new(a, uid);
		p->seen = true;
		p->host_net = json_is_true(api_get(o, "spec.hostNetwork"));
		if (p->pod != o) {
			json_decref(p->pod);
			p->pod = json_incref(o);
		}
		if (!p->ns) {
			p->ns = xstrdup(api_str(o, "metadata.namespace") ? api_str(o, "metadata.namespace")
									 : "default");
			p->name = xstrdup(api_str(o, "metadata.name") ? api_str(o, "metadata.name") : "");
		}
	}
	json_decref(pods);
	if (!a->cleaned_leftovers) {
		a->cleaned_leftovers = true;
		cleanup_leftovers(a);
	}
	struct apod **pp = &a->list;
	while (*pp) {
		struct apod *p = *pp;
		if (!p->seen)
			p->gone = true;
		bool terminating = p->pod && api_str(p->pod, "metadata.deletionTimestamp");
		if ((p->gone || terminating) && pod_finish(a, p)) {
			*pp = p->next;
			node__pod_free(p);
			continue;
		}
		if (!p->gone && !terminating && !p->running) {
			pod_start(a, p, false);
			node__pod_report(a, p); /* at once: a burst of new pods does not wait for the pass */
		} else if (!p->gone && !terminating && p->pod && (p->env_fp || p->env_sources) &&
			   env_sources_changed(a, p)) {
			pod_start(a, p, true);
		}
		if (!p->gone && !terminating && p->running && p->vol_dir)
			volumes_sync(a, p); /* a ConfigMap or Secret changed: its files follow */
		pp = &p->next;
	}
}
