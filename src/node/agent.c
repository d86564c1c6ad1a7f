/* agent.c - the node agent: Node registration and heartbeat, pod network, pods through the
 * node runtime, readiness/liveness probes, pod status, host-gw routes. See agent.h for
 * the loop and the invariants. Everything below the informer handlers runs on the agent
 * thread only. */
#include "node/agent.h"

#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api/envvars.h"
#include "api/object.h"
#include "base/cidr.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "dns/server.h"
#include "node/logsrv.h"
#include "node/masq.h"
#include "node/netlink.h"
#include "node/netns.h"
#include "node/podfiles.h"
#include "node/podipam.h"
#include "node/probe.h"
#include "node/runtime.h"
#include "node/sysctl.h"

#define MAX_POLL_MS 1000
#define NET_RETRY_MS 2000
#define MAX_PROBE_FDS 256
#define EVENT_MIN_MS 5000

struct aprobe {
	char *cname;
	enum node_probe_kind kind;
	struct node_probe_spec spec;
	struct node_probe_sm sm;
	struct node_probe_run *run;
	int64_t run_start;
	int run_id;
	bool got_result; /* a check of the current run has finished */
	/* The Unhealthy event last written for this probe, for kubelet-style aggregation:
	 * the same message again bumps its count (at most one write per EVENT_MIN_MS). */
	char *ev_name, *ev_msg;
	int ev_count, ev_pending;
	int64_t ev_ms;
};

struct apod {
	char uid[64];
	char *ns, *name;
	json_t *pod; /* latest from the informer; NULL for a leftover found at start-up */
	bool seen, gone, stopping, running, net_ok;
	bool host_net; /* spec.hostNetwork: the node's netns, the node's IPs */
	char ip[IP_STRLEN];
	char ip6[IP_STRLEN]; /* the pod's IPv6 address when the node has an IPv6 podCIDR, else "" */
	char netns[96];
	char veth[IFNAMSIZ];
	int netns_fd;
	char *net_err; /* why the network is not set up (a status message) */
	int64_t retry_ms;
	json_t *svc_env;
	json_t *last_status; /* what we last wrote */
	char start_time[40];
	int64_t hold_ms; /* adopted: no status writes before the first readiness results */
	struct aprobe *probes;
	size_t nprobes;
	struct apod *next;
};

/* A pod status write waiting for the writer thread: one per pod, a newer status replaces
 * the queued one. */
struct swrite {
	char uid[64];
	char *path;
	json_t *body;
	int64_t not_before; /* monotonic ms: retry delay */
	struct swrite *next;
};

struct agent {
	/* Pod status writes go through their own thread and connection, so the loop never
	 * waits for the API server's fsync while pods are waiting to start (see wq_put). */
	pthread_t wth;
	bool wth_started;
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	struct swrite *wq;
	struct client *wcl;
	atomic_int wstop;
	char *masq_script; /* the masquerade table last applied (node/masq.c) */
	struct node_logsrv *logsrv; /* the kubelet-style log endpoint; NULL when it failed */
	int kubelet_port;
	struct client_config cfg;
	char *node_ip6; /* the IPv6 InternalIP (given or derived), NULL when none */
	struct dns_server *dns; /* cluster DNS for this node's pods, or NULL */
	char *node_name, *node_ip, *data_dir, *state_dir, *log_dir, *ipam_dir, *cluster_domain, *cluster_dns;
	int heartbeat_s;
	struct client *cl;
	struct informer *pods, *nodes, *svcs;
	struct node_rt *rt;
	struct node_nl *nl;
	pthread_t th;
	bool th_started;
	int efd, sfd;
	atomic_int stop;
	atomic_int dirty_pods, dirty_nodes;
	struct apod *list;
	bool have_cidr, bridge_ok;
	struct cidr pod_cidr;
	struct ip_addr gw;
	bool have_cidr6; /* the node's IPv6 podCIDR: pods get a second address from it */
	struct cidr pod_cidr6;
	struct ip_addr gw6;
	int64_t next_hb_ms;
	size_t trim_npods;  /* pods at the last malloc_trim check */
	int64_t trim_at_ms; /* when to trim (0: nothing pending) */
	char *host_resolv;
	char kernel[128], os_image[128];
	bool cleaned_leftovers;
};

static char *read_file(const char *path);
static void pod_report(struct agent *a, struct apod *p);

static int64_t now_ms(void)
{
	return node_probe_now_ms();
}

/* ---- pure helpers ---- */

int agent_veth_name(const char *uid, char *out, size_t len)
{
	char hex[9];
	int n = 0;
	for (const char *p = uid; *p && n < 8; p++) {
		if (*p == '-')
			continue;
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		hex[n++] = (char)tolower((unsigned char)*p);
	}
	if (n < 8 || len < IFNAMSIZ)
		return -EINVAL;
	hex[8] = 0;
	snprintf(out, len, "svcp%s", hex);
	return 0;
}

static const char *prev_time(const json_t *prev, const char *type, const char *status)
{
	size_t i;
	json_t *c;
	json_array_foreach(prev, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, type) && !strcmp(s, status))
			return json_string_value(json_object_get(c, "lastTransitionTime"));
	}
	return NULL;
}

json_t *agent_pod_conditions(const json_t *prev, bool initialized, bool containers_ready, const char *now)
{
	struct {
		const char *type;
		bool ok;
	} cs[] = {{"PodReadyToStartContainers", initialized},
		  {"Initialized", true},
		  {"Ready", containers_ready},
		  {"ContainersReady", containers_ready},
		  {"PodScheduled", true}};
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		const char *st = cs[i].ok ? "True" : "False";
		const char *t = prev_time(prev, cs[i].type, st);
		json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", cs[i].type, "status", st, "lastProbeTime",
				      "lastTransitionTime", t ? t : now);
		if (!cs[i].ok && (!strcmp(cs[i].type, "Ready") || !strcmp(cs[i].type, "ContainersReady"))) {
			json_object_set_new(c, "reason", json_string("ContainersNotReady"));
		}
		json_array_append_new(arr, c);
	}
	return arr;
}

bool agent_node_ready(const json_t *node)
{
	json_t *conds = json_object_get(json_object_get(node, "status"), "conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

/* ---- API ---- */

/* One request; body (may be NULL) is serialised as JSON. Returns the HTTP status, or a
 * negative errno on a transport failure (logged). *resp (may be NULL) gets the parsed
 * body. */
static long api_do(struct agent *a, const char *method, const char *path, const char *ctype, const json_t *body,
		   json_t **resp)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL, *r = NULL, err[256] = "";
	long status = 0;
	int rc = client_request(a->cl, method, path, b ? ctype : NULL, b, NULL, &status, &r, NULL, err, sizeof(err));
	free(b);
	if (rc < 0) {
		log_warn("agent: %s %s: %s", method, path, err);
		return rc;
	}
	if (status >= 300 && status != 404 && status != 409)
		log_warn("agent: %s %s: HTTP %ld: %.300s", method, path, status, r ? r : "");
	if (resp)
		*resp = r ? json_loads(r, 0, NULL) : NULL;
	free(r);
	return status;
}

static const char *now_rfc3339(char *buf, size_t len)
{
	return api_now(buf, len);
}

static json_t *node_status(struct agent *a, bool ready, const char *reason, const char *message)
{
	char now[40];
	now_rfc3339(now, sizeof(now));
	json_t *cond = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status", ready ? "True" : "False",
				 "lastHeartbeatTime", now, "lastTransitionTime", now, "reason", reason, "message",
				 message);
	/* As a dual-stack kubelet: an InternalIP per family, then the Hostname. */
	json_t *addrs = json_pack("[{s:s, s:s}]", "type", "InternalIP", "address", a->node_ip);
	if (a->node_ip6)
		json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "InternalIP", "address", a->node_ip6));
	json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "Hostname", "address", a->node_name));
	return json_pack("{s:{s:[o], s:o, s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}}",
			 "status", "conditions", cond, "addresses", addrs, "daemonEndpoints", "kubeletEndpoint", "Port",
			 a->logsrv ? node_logsrv_port(a->logsrv) : 0, "nodeInfo", "kubeletVersion", NODE_AGENT_VERSION,
			 "kubeProxyVersion", "", "kernelVersion", a->kernel, "osImage", a->os_image,
			 "containerRuntimeVersion", NODE_AGENT_RUNTIME_VERSION, "operatingSystem", "linux",
			 "architecture", "amd64", "machineID", "", "systemUUID", "", "bootID", "");
}

/* Writes the Node's status. The Ready condition's lastTransitionTime is kept from the
 * stored Node when its status did not change, as kubelet does. */
static int node_report(struct agent *a, bool ready, const char *reason, const char *message)
{
	json_t *patch = node_status(a, ready, reason, message);
	json_t *cur = a->nodes ? informer_get(a->nodes, "", a->node_name) : NULL;
	if (cur && agent_node_ready(cur) == ready) {
		json_t *conds = json_object_get(json_object_get(cur, "status"), "conditions");
		const char *t = prev_time(conds, "Ready", ready ? "True" : "False");
		if (t) {
			json_t *c = json_array_get(json_object_get(json_object_get(patch, "status"), "conditions"), 0);
			json_object_set_new(c, "lastTransitionTime", json_string(t));
		}
	}
	json_decref(cur);
	char *path = xasprintf("/api/v1/nodes/%s/status", a->node_name);
	long st = api_do(a, "PATCH", path, "application/merge-patch+json", patch, NULL);
	free(path);
	json_decref(patch);
	return st >= 200 && st < 300 ? 0 : -EIO;
}

static int node_register(struct agent *a, char *err, size_t errlen)
{
	json_t *node = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}, s:{}}", "apiVersion", "v1", "kind", "Node",
				 "metadata", "name", a->node_name, "labels", "kubernetes.io/hostname", a->node_name,
				 "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64", "spec");
	long st = -EIO;
	/* The API server may still be starting (an agent started next to it): bounded retry. */
	for (int i = 0; i < 40; i++) {
		st = api_do(a, "POST", "/api/v1/nodes", "application/json", node, NULL);
		if (st > 0)
			break;
		usleep(250 * 1000);
	}
	json_decref(node);
	if (st != 201 && st != 200 && st != 409) {
		snprintf(err, errlen, "registering node %s: %s", a->node_name,
			 st < 0 ? "API server unreachable" : "rejected by the API server");
		return -EIO;
	}
	if (node_report(a, true, "KubeletReady", "svcplane agent is posting ready status") < 0) {
		snprintf(err, errlen, "writing the status of node %s failed", a->node_name);
		return -EIO;
	}
	return 0;
}

/* ---- informer handlers (informer threads) ---- */

static void wake(struct agent *a)
{
	uint64_t one = 1;
	if (write(a->efd, &one, sizeof(one)) < 0) {
		/* The counter is saturated only if nobody reads: the loop is waking anyway. */
	}
}

static void pods_changed(void *ud)
{
	struct agent *a = ud;
	atomic_store(&a->dirty_pods, 1);
	wake(a);
}
static void pod_add(void *ud, const json_t *o) { (void)o; pods_changed(ud); }
static void pod_update(void *ud, const json_t *old, const json_t *o) { (void)old; (void)o; pods_changed(ud); }

static void nodes_changed(void *ud)
{
	struct agent *a = ud;
	atomic_store(&a->dirty_nodes, 1);
	wake(a);
}
static void node_add(void *ud, const json_t *o) { (void)o; nodes_changed(ud); }
static void node_update(void *ud, const json_t *old, const json_t *o) { (void)old; (void)o; nodes_changed(ud); }

/* ---- node network ---- */

static bool first_cidr(const json_t *node, int family, struct cidr *out)
{
	const json_t *spec = json_object_get(node, "spec");
	json_t *cidrs = json_object_get(spec, "podCIDRs");
	size_t i;
	json_t *c;
	char err[64];
	json_array_foreach(cidrs, i, c)
	{
		const char *s = json_string_value(c);
		if (s && cidr_parse(s, out, err, sizeof(err)) == 0 && out->net.family == family)
			return true;
	}
	const char *s = json_string_value(json_object_get(spec, "podCIDR"));
	return s && cidr_parse(s, out, err, sizeof(err)) == 0 && out->net.family == family;
}

static bool internal_ip(const json_t *node, int family, struct ip_addr *out)
{
	json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
	size_t i;
	json_t *ad;
	json_array_foreach(addrs, i, ad)
	{
		const char *t = json_string_value(json_object_get(ad, "type"));
		const char *s = json_string_value(json_object_get(ad, "address"));
		if (t && s && !strcmp(t, "InternalIP") && ip_parse(s, out) == 0 && out->family == family)
			return true;
	}
	return false;
}

static int bridge_setup(struct agent *a)
{
	int rc = node_link_add_bridge(a->nl, NODE_AGENT_BRIDGE);
	if (rc < 0 && rc != -EEXIST)
		goto fail;
	rc = node_addr_add(a->nl, NODE_AGENT_BRIDGE, &a->gw, a->pod_cidr.bits, NODE_NL_REPLACE);
	if (rc < 0)
		goto fail;
	if (a->have_cidr6) {
		rc = node_addr_add(a->nl, NODE_AGENT_BRIDGE, &a->gw6, a->pod_cidr6.bits, NODE_NL_REPLACE);
		if (rc < 0)
			goto fail;
	}
	rc = node_link_set_up(a->nl, NODE_AGENT_BRIDGE, true);
	if (rc < 0)
		goto fail;
	char err[256] = "";
	if (node_sysctl_enable_forwarding(-1, err, sizeof(err)) < 0)
		log_warn("agent: forwarding: %s", err);
	return 0;
fail:
	log_error("agent: bridge %s: %s", NODE_AGENT_BRIDGE, node_nl_errmsg(a->nl));
	return rc;
}

/* Records our podCIDR of family fam (4 or 6); a change re-creates the bridge address and
 * wakes the pods. */
static void learn_cidr(struct agent *a, int fam, const struct cidr *c)
{
	struct cidr *cur = fam == 4 ? &a->pod_cidr : &a->pod_cidr6;
	bool *have = fam == 4 ? &a->have_cidr : &a->have_cidr6;
	struct ip_addr *gw = fam == 4 ? &a->gw : &a->gw6;
	if (*have && !ip_cmp(&cur->net, &c->net) && cur->bits == c->bits)
		return;
	char b[CIDR_STRLEN];
	*cur = *c;
	*have = cidr_first_usable(c, gw) == 0;
	a->bridge_ok = false;
	log_info("agent: node %s has podCIDR %s", a->node_name, cidr_format(c, b, sizeof(b)));
	atomic_store(&a->dirty_pods, 1);
}

/* Learns our podCIDRs, and makes our host-gw routes match the other nodes. */
static void nodes_reconcile(struct agent *a)
{
	json_t *nodes = informer_list(a->nodes, NULL);
	struct node_route want[256];
	struct cidr cidrs[257];
	size_t nw = 0, nc = 0, i;
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		if (!name)
			continue;
		/* One podCIDR per family: IPv4 pods are required, IPv6 ones where the node has
		 * an IPv6 podCIDR; host-gw routes per family via that family's InternalIP. */
		for (int fam = 4; fam <= 6; fam += 2) {
			struct cidr c;
			if (!first_cidr(n, fam, &c))
				continue;
			if (nc < sizeof(cidrs) / sizeof(cidrs[0]))
				cidrs[nc++] = c;
			if (!strcmp(name, a->node_name)) {
				learn_cidr(a, fam, &c);
				continue;
			}
			struct ip_addr gw;
			if (nw < sizeof(want) / sizeof(want[0]) && internal_ip(n, fam, &gw))
				want[nw++] = (struct node_route){.dst = c, .gw = gw, .protocol = NODE_AGENT_RTPROT};
		}
	}
	json_decref(nodes);
	if (a->have_cidr && !a->bridge_ok)
		a->bridge_ok = bridge_setup(a) == 0;
	if (a->have_cidr) {
		/* Pod traffic leaving the pod network is masqueraded; the set of pod CIDRs
		 * follows the nodes. Applied only when the set changed. */
		struct cidr own[2] = {a->pod_cidr, a->pod_cidr6};
		size_t nown = a->have_cidr6 ? 2 : 1;
		char *script = node_masq_script(own, nown, cidrs, nc);
		if (!a->masq_script || strcmp(script, a->masq_script) != 0) {
			char err[512] = "";
			if (node_masq_sync(own, nown, cidrs, nc, err, sizeof(err)) == 0) {
				free(a->masq_script);
				a->masq_script = script;
				script = NULL;
			} else {
				log_warn("agent: %s", err);
			}
		}
		free(script);
	}
	struct node_route *have = NULL;
	size_t nh = 0;
	if (node_route_list(a->nl, 0, &have, &nh) < 0) {
		log_warn("agent: listing routes: %s", node_nl_errmsg(a->nl));
		return;
	}
	for (size_t h = 0; h < nh; h++) {
		if (have[h].protocol != NODE_AGENT_RTPROT)
			continue;
		bool keep = false;
		for (size_t w = 0; w < nw && !keep; w++)
			keep = !ip_cmp(&want[w].dst.net, &have[h].dst.net) && want[w].dst.bits == have[h].dst.bits &&
			       !ip_cmp(&want[w].gw, &have[h].gw);
		if (!keep) {
			char b[CIDR_STRLEN];
			log_info("agent: removing route to %s", cidr_format(&have[h].dst, b, sizeof(b)));
			struct node_route d = {.dst = have[h].dst, .protocol = NODE_AGENT_RTPROT};
			node_route_del(a->nl, &d);
		}
	}
	free(have);
	for (size_t w = 0; w < nw; w++) {
		if (node_route_add(a->nl, &want[w], NODE_NL_REPLACE) < 0) {
			char b[CIDR_STRLEN];
			log_warn("agent: route to %s: %s", cidr_format(&want[w].dst, b, sizeof(b)), node_nl_errmsg(a->nl));
		}
	}
}

/* ---- pod network ---- */

static void pod_names(struct apod *p)
{
	snprintf(p->netns, sizeof(p->netns), "%s%s", NODE_AGENT_NETNS_PREFIX, p->uid);
	if (agent_veth_name(p->uid, p->veth, sizeof(p->veth)) < 0)
		p->veth[0] = 0;
}

static void set_net_err(struct apod *p, char *msg_take)
{
	free(p->net_err);
	p->net_err = msg_take;
}

/* Creates (or finds again, after a restart) the pod's netns, veth, address and route.
 * Idempotent. On failure the reason is in p->net_err. */
static int podnet_setup(struct agent *a, struct apod *p)
{
	char err[256] = "", b[CIDR_STRLEN];
	struct ip_addr ip;
	struct node_nl *pnl = NULL;
	if (!p->veth[0]) {
		set_net_err(p, xasprintf("pod uid %s is not usable as a name", p->uid));
		return -EINVAL;
	}
	int rc = node_ipam_get(a->ipam_dir, &a->pod_cidr, p->uid, &ip);
	if (rc == -ENOSPC) {
		set_net_err(p, xasprintf("podCIDR %s exhausted: no free IP address for the pod",
					 cidr_format(&a->pod_cidr, b, sizeof(b))));
		return rc;
	}
	if (rc < 0) {
		set_net_err(p, xasprintf("allocating a pod IP: %s", strerror(-rc)));
		return rc;
	}
	ip_format(&ip, p->ip, sizeof(p->ip));
	struct ip_addr ip6;
	if (a->have_cidr6) {
		rc = node_ipam_get(a->ipam_dir, &a->pod_cidr6, p->uid, &ip6);
		if (rc < 0) {
			set_net_err(p, rc == -ENOSPC ? xasprintf("podCIDR %s exhausted: no free IP address for the pod",
								 cidr_format(&a->pod_cidr6, b, sizeof(b)))
						     : xasprintf("allocating a pod IPv6 address: %s", strerror(-rc)));
			return rc;
		}
		ip_format(&ip6, p->ip6, sizeof(p->ip6));
	} else {
		p->ip6[0] = 0;
	}
	rc = node_netns_create(p->netns, err, sizeof(err));
	if (rc < 0 && rc != -EEXIST) {
		set_net_err(p, xasprintf("creating netns %s: %s", p->netns, err));
		return rc;
	}
	if (p->netns_fd < 0)
		p->netns_fd = node_netns_open(p->netns);
	if (p->netns_fd < 0) {
		rc = p->netns_fd;
		set_net_err(p, xasprintf("opening netns %s: %s", p->netns, strerror(-rc)));
		return rc;
	}
	rc = node_link_add_veth(a->nl, p->veth, "eth0", p->netns_fd);
	if (rc < 0 && rc != -EEXIST)
		goto nlfail;
	if ((rc = node_link_set_master(a->nl, p->veth, NODE_AGENT_BRIDGE)) < 0 ||
	    (rc = node_link_set_up(a->nl, p->veth, true)) < 0)
		goto nlfail;
	rc = node_nl_new(p->netns_fd, &pnl, err, sizeof(err));
	if (rc < 0) {
		set_net_err(p, xasprintf("netlink in %s: %s", p->netns, err));
		return rc;
	}
	struct node_route def = {.gw = a->gw};
	def.dst.net.family = 4;
	if ((rc = node_link_set_up(pnl, "lo", true)) < 0 || (rc = node_link_set_up(pnl, "eth0", true)) < 0 ||
	    (rc = node_addr_add(pnl, "eth0", &ip, a->pod_cidr.bits, NODE_NL_REPLACE)) < 0 ||
	    (rc = node_route_add(pnl, &def, NODE_NL_REPLACE)) < 0) {
		set_net_err(p, xasprintf("pod network in %s: %s", p->netns, node_nl_errmsg(pnl)));
		node_nl_free(pnl);
		return rc;
	}
	if (a->have_cidr6) {
		/* node_addr_add sets IFA_F_NODAD, so the address is usable at once. */
		struct node_route def6 = {.gw = a->gw6};
		def6.dst.net.family = 6;
		if ((rc = node_addr_add(pnl, "eth0", &ip6, a->pod_cidr6.bits, NODE_NL_REPLACE)) < 0 ||
		    (rc = node_route_add(pnl, &def6, NODE_NL_REPLACE)) < 0) {
			set_net_err(p, xasprintf("pod IPv6 network in %s: %s", p->netns, node_nl_errmsg(pnl)));
			node_nl_free(pnl);
			return rc;
		}
	}
	node_nl_free(pnl);
	set_net_err(p, NULL);
	p->net_ok = true;
	return 0;
nlfail:
	set_net_err(p, xasprintf("veth %s: %s", p->veth, node_nl_errmsg(a->nl)));
	return rc;
}

/* Removes everything of the pod's network; each step tolerates what is already gone. */
static void podnet_teardown(struct agent *a, struct apod *p)
{
	char err[256] = "";
	if (p->netns_fd >= 0) {
		close(p->netns_fd);
		p->netns_fd = -1;
	}
	if (p->veth[0] && a->nl) {
		int rc = node_link_del(a->nl, p->veth);
		if (rc < 0 && rc != -ENODEV)
			log_warn("agent: deleting %s: %s", p->veth, node_nl_errmsg(a->nl));
	}
	int rc = node_netns_delete(p->netns, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT)
		log_warn("agent: deleting netns %s: %s", p->netns, err);
	node_ipam_release(a->ipam_dir, p->uid);
	p->net_ok = false;
}

/* ---- pods ---- */

static struct apod *pod_find(struct agent *a, const char *uid)
{
	for (struct apod *p = a->list; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static struct apod *pod_new(struct agent *a, const char *uid)
{
	struct apod *p = xcalloc(1, sizeof(*p));
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	p->netns_fd = -1;
	pod_names(p);
	p->next = a->list;
	a->list = p;
	return p;
}

static void probes_free(struct apod *p)
{
	for (size_t i = 0; i < p->nprobes; i++) {
		node_probe_run_free(p->probes[i].run);
		node_probe_spec_fini(&p->probes[i].spec);
		free(p->probes[i].cname);
		free(p->probes[i].ev_name);
		free(p->probes[i].ev_msg);
	}
	free(p->probes);
	p->probes = NULL;
	p->nprobes = 0;
}

static void pod_free(struct apod *p)
{
	probes_free(p);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	json_decref(p->pod);
	json_decref(p->svc_env);
	json_decref(p->last_status);
	free(p->net_err);
	free(p->ns);
	free(p->name);
	free(p);
}

static void probes_init(struct apod *p)
{
	json_t *cs = json_object_get(json_object_get(p->pod, "spec"), "containers");
	size_t i;
	json_t *c;
	probes_free(p);
	json_array_foreach(cs, i, c)
	{
		static const struct {
			const char *field;
			enum node_probe_kind kind;
		} kinds[] = {{"startupProbe", NODE_PROBE_STARTUP},
			     {"readinessProbe", NODE_PROBE_READINESS},
			     {"livenessProbe", NODE_PROBE_LIVENESS}};
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			json_t *pr = json_object_get(c, kinds[k].field);
			if (!json_is_object(pr))
				continue;
			struct aprobe ap = {.kind = kinds[k].kind, .run_id = -1};
			char err[256];
			if (node_probe_spec_parse(pr, c, &ap.spec, err, sizeof(err)) < 0) {
				log_warn("agent: pod %s/%s: %s: %s", p->ns, p->name, kinds[k].field, err);
				continue;
			}
			ap.cname = xstrdup(api_str(c, "name") ? api_str(c, "name") : "");
			node_probe_sm_init(&ap.sm, ap.kind, &ap.spec);
			p->probes = xrealloc(p->probes, (p->nprobes + 1) * sizeof(*p->probes));
			p->probes[p->nprobes++] = ap;
		}
	}
}

/* Starts the pod: network, files, env, runtime. Retried later while the network fails. */
static void pod_start(struct agent *a, struct apod *p)
{
	if (now_ms() < p->retry_ms)
		return;
	if (p->host_net) {
		/* The node's network namespace and addresses; nothing to set up or tear down. */
		snprintf(p->ip, sizeof(p->ip), "%s", a->node_ip);
		snprintf(p->ip6, sizeof(p->ip6), "%s", a->node_ip6 ? a->node_ip6 : "");
		p->net_ok = true;
	} else if (!a->have_cidr || !a->bridge_ok) {
		return;
	}
	if (!p->net_ok && podnet_setup(a, p) < 0) {
		log_warn("agent: pod %s/%s: %s", p->ns, p->name, p->net_err);
		p->retry_ms = now_ms() + NET_RETRY_MS;
		return;
	}
	const char *cdns[] = {a->cluster_dns, NULL};
	struct node_dns_opts dns = {.cluster_domain = a->cluster_domain,
				    .cluster_dns = a->cluster_dns ? cdns : NULL,
				    .host_resolv_conf = a->host_resolv};
	char warn[256] = "", err[256] = "";
	char *resolv = node_podfiles_resolv_conf(p->pod, &dns, warn, sizeof(warn));
	char *hostname = NULL, *domain = NULL, *kname = NULL, *hosts = NULL;
	if (node_podfiles_hostname(p->pod, a->cluster_domain, &hostname, &domain, &kname, err, sizeof(err)) < 0) {
		set_net_err(p, xasprintf("%s", err));
		p->retry_ms = now_ms() + NET_RETRY_MS;
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
	char *host_hosts = p->host_net ? read_file("/etc/hosts") : NULL;
	hosts = node_podfiles_hosts(p->pod, ips, hostname, domain, host_hosts);
	free(host_hosts);
	if (!p->svc_env) {
		json_t *svcs = informer_list(a->svcs, NULL);
		json_t *esl = json_object_get(json_object_get(p->pod, "spec"), "enableServiceLinks");
		p->svc_env = api_envvars_from_services(svcs, p->ns, !json_is_false(esl));
		json_decref(svcs);
	}
	char *logdir = xasprintf("%s/%s_%s_%s", a->log_dir, p->ns, p->name, p->uid);
	struct node_rt_pod rp = {.pod = p->pod,
				 .netns_fd = p->netns_fd,
				 .resolv_conf = resolv,
				 .hosts = hosts,
				 .hostname = kname,
				 .service_env = p->svc_env,
				 .pod_ip = p->ip,
				 .host_ip = a->node_ip,
				 .log_dir = logdir};
	int rc = node_rt_pod_run(a->rt, &rp, err, sizeof(err));
	if (rc < 0) {
		log_warn("agent: pod %s/%s: %s", p->ns, p->name, err);
		p->retry_ms = now_ms() + NET_RETRY_MS;
	} else {
		p->running = true;
		const char *st = api_str(p->pod, "status.startTime");
		if (st)
			snprintf(p->start_time, sizeof(p->start_time), "%s", st);
		else
			now_rfc3339(p->start_time, sizeof(p->start_time));
		probes_init(p);
		log_info("agent: pod %s/%s running with IP %s", p->ns, p->name, p->ip);
	}
	free(logdir);
	free(resolv);
	free(hostname);
	free(domain);
	free(kname);
	free(hosts);
}

/* Stops and, once its processes are gone, tears the pod down. Returns true when the pod
 * is finished and may be freed. */
static bool pod_finish(struct agent *a, struct apod *p)
{
	if (!p->stopping) {
		int grace = -1;
		json_t *g = p->pod ? json_object_get(json_object_get(p->pod, "metadata"), "deletionGracePeriodSeconds")
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
		podnet_teardown(a, p);
	if (!p->gone && p->ns && p->name) {
		/* As kubelet: the final delete once nothing of the pod runs any more. */
		char *path = xasprintf("/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0", p->ns, p->name);
		json_t *body = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
					 "gracePeriodSeconds", 0, "preconditions", "uid", p->uid);
		api_do(a, "DELETE", path, "application/json", body, NULL);
		json_decref(body);
		free(path);
	}
	log_info("agent: pod %s removed", p->uid);
	return true;
}

static bool uid_known(void *ud, const char *uid)
{
	return pod_find(ud, uid) != NULL;
}

/* Once, after the first pods list: tear down what belongs to no pod we know. */
static void cleanup_leftovers(struct agent *a)
{
	char **names = NULL;
	size_t n = 0;
	if (node_netns_list(&names, &n) == 0) {
		size_t pl = strlen(NODE_AGENT_NETNS_PREFIX);
		for (size_t i = 0; i < n; i++) {
			if (strncmp(names[i], NODE_AGENT_NETNS_PREFIX, pl) || pod_find(a, names[i] + pl))
				continue;
			/* Another node's pods share /run/netns on a one-machine cluster: only a netns
			 * whose veth is on our bridge is ours. */
			struct apod tmp = {.netns_fd = -1};
			snprintf(tmp.uid, sizeof(tmp.uid), "%s", names[i] + pl);
			pod_names(&tmp);
			struct node_link l;
			if (!tmp.veth[0] || node_link_get(a->nl, tmp.veth, &l) < 0)
				continue;
			log_info("agent: removing leftover netns %s", names[i]);
			podnet_teardown(a, &tmp);
		}
		node_netns_list_free(names, n);
	}
	node_ipam_release_unknown(a->ipam_dir, uid_known, a);
}

static void pods_reconcile(struct agent *a)
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
		struct apod *p = pod_find(a, uid);
		if (!p)
			p = pod_new(a, uid);
		p->seen = true;
		p->host_net = json_is_true(api_get(o, "spec.hostNetwork"));
		if (p->pod != o) {
			json_decref(p->pod);
			p->pod = json_incref(o);
		}
		if (!p->ns) {
			p->ns = xstrdup(api_str(o, "metadata.namespace") ? api_str(o, "metadata.namespace") : "default");
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
			pod_free(p);
			continue;
		}
		if (!p->gone && !terminating && !p->running) {
			pod_start(a, p);
			pod_report(a, p); /* at once: a burst of new pods does not wait for the pass */
		}
		pp = &p->next;
	}
}

/* Builds the pod's status; a new object. */
static json_t *pod_status(struct agent *a, struct apod *p)
{
	char now[40];
	now_rfc3339(now, sizeof(now));
	json_t *rs = p->running ? node_rt_pod_status(a->rt, p->uid) : NULL;
	json_t *st = json_object();
	json_t *prev = p->last_status ? json_object_get(p->last_status, "conditions")
				      : json_object_get(json_object_get(p->pod, "status"), "conditions");
	bool ready = false;
	if (rs) {
		json_object_update(st, rs);
		json_t *cs = json_object_get(rs, "containerStatuses");
		size_t i;
		json_t *c;
		ready = json_array_size(cs) > 0;
		json_array_foreach(cs, i, c) ready = ready && json_is_true(json_object_get(c, "ready"));
		const char *phase = json_string_value(json_object_get(rs, "phase"));
		if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
			ready = false;
		json_decref(rs);
	} else {
		json_object_set_new(st, "phase", json_string("Pending"));
		json_t *cs = json_array();
		json_t *spec_cs = json_object_get(json_object_get(p->pod, "spec"), "containers");
		size_t i;
		json_t *c;
		json_array_foreach(spec_cs, i, c)
		{
			json_t *w = json_pack("{s:s}", "reason", "ContainerCreating");
			if (p->net_err)
				json_object_set_new(w, "message", json_string(p->net_err));
			json_array_append_new(cs, json_pack("{s:s?, s:s?, s:b, s:b, s:i, s:{s:o}}", "name",
							    api_str(c, "name"), "image", api_str(c, "image"), "ready", 0,
							    "started", 0, "restartCount", 0, "state", "waiting", w));
		}
		json_object_set_new(st, "containerStatuses", cs);
	}
	json_object_set_new(st, "conditions", agent_pod_conditions(prev, p->net_ok, ready, now));
	json_object_set_new(st, "hostIP", json_string(a->node_ip));
	json_t *hips = json_pack("[{s:s}]", "ip", a->node_ip);
	if (a->node_ip6)
		json_array_append_new(hips, json_pack("{s:s}", "ip", a->node_ip6));
	json_object_set_new(st, "hostIPs", hips);
	if (p->net_ok) {
		json_object_set_new(st, "podIP", json_string(p->ip));
		json_t *pips = json_pack("[{s:s}]", "ip", p->ip);
		if (p->ip6[0])
			json_array_append_new(pips, json_pack("{s:s}", "ip", p->ip6));
		json_object_set_new(st, "podIPs", pips);
	}
	if (p->start_time[0])
		json_object_set_new(st, "startTime", json_string(p->start_time));
	if (p->net_err && !p->net_ok) {
		json_object_set_new(st, "reason", json_string(strstr(p->net_err, "exhausted") ? "PodCIDRExhausted"
											       : "NetworkNotReady"));
		json_object_set_new(st, "message", json_string(p->net_err));
	} else {
		json_object_set_new(st, "reason", json_null());
		json_object_set_new(st, "message", json_null());
	}
	json_object_set_new(st, "qosClass", json_string("BestEffort"));
	return st;
}

/* Queues the status write of pod uid (path, body taken), replacing one still queued. */
static void wq_put(struct agent *a, const char *uid, char *path, json_t *body)
{
	pthread_mutex_lock(&a->wmu);
	struct swrite **pp = &a->wq, *w;
	while ((w = *pp) && strcmp(w->uid, uid))
		pp = &w->next;
	if (w) {
		free(w->path);
		json_decref(w->body);
	} else {
		w = xcalloc(1, sizeof(*w));
		snprintf(w->uid, sizeof(w->uid), "%s", uid);
		*pp = w; /* at the end: first come, first written */
	}
	w->path = path;
	w->body = body;
	w->not_before = 0;
	pthread_cond_signal(&a->wcv);
	pthread_mutex_unlock(&a->wmu);
}

static void swrite_free(struct swrite *w)
{
	free(w->path);
	json_decref(w->body);
	free(w);
}

/* The writer thread: PATCHes queued statuses in order. A transport error or 5xx is
 * retried a second later unless a newer status replaced it meanwhile; 404 (the pod is
 * gone) and other 4xx (logged) are dropped. At stop, what is queued is tried once. */
static void *writer_main(void *arg)
{
	struct agent *a = arg;
	pthread_mutex_lock(&a->wmu);
	for (;;) {
		bool stopping = atomic_load(&a->wstop);
		int64_t now = now_ms(), wait_until = INT64_MAX;
		struct swrite **pp = &a->wq, *w = NULL;
		for (; *pp; pp = &(*pp)->next) {
			if (stopping || (*pp)->not_before <= now) {
				w = *pp;
				*pp = w->next;
				break;
			}
			if ((*pp)->not_before < wait_until)
				wait_until = (*pp)->not_before;
		}
		if (!w) {
			if (stopping)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t ms = wait_until == INT64_MAX ? 1000 : wait_until - now;
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&a->wcv, &a->wmu, &ts);
			continue;
		}
		pthread_mutex_unlock(&a->wmu);
		char *b = json_dumps(w->body, JSON_COMPACT), *r = NULL, err[256] = "";
		long status = 0;
		int rc = client_request(a->wcl, "PATCH", w->path, "application/merge-patch+json", b, NULL, &status, &r,
					NULL, err, sizeof(err));
		free(b);
		bool retry = rc < 0 || status >= 500;
		if (rc < 0)
			log_warn("agent: PATCH %s: %s", w->path, err);
		else if (status >= 300 && status != 404)
			log_warn("agent: PATCH %s: HTTP %ld: %.300s", w->path, status, r ? r : "");
		free(r);
		pthread_mutex_lock(&a->wmu);
		struct swrite *newer = a->wq;
		while (newer && strcmp(newer->uid, w->uid))
			newer = newer->next;
		if (retry && !newer && !atomic_load(&a->wstop)) {
			w->not_before = now_ms() + 1000;
			w->next = a->wq;
			a->wq = w;
		} else {
			swrite_free(w);
		}
	}
	pthread_mutex_unlock(&a->wmu);
	return NULL;
}

static void pod_report(struct agent *a, struct apod *p)
{
	if (p->gone || p->stopping || !p->pod)
		return;
	/* A re-adopted pod's readiness starts over as Failure (kubelet's initial result);
	 * writing that would flap its endpoints on every agent restart, so an adopted pod's
	 * status waits (a few seconds at most) for the first result of each readiness probe. */
	if (p->hold_ms && now_ms() < p->hold_ms) {
		for (size_t i = 0; i < p->nprobes; i++)
			if (p->probes[i].kind == NODE_PROBE_READINESS && p->probes[i].run_id >= 0 &&
			    !p->probes[i].got_result)
				return;
	}
	json_t *st = pod_status(a, p);
	if (p->last_status && json_equal(st, p->last_status)) {
		json_decref(st);
		return;
	}
	wq_put(a, p->uid, xasprintf("/api/v1/namespaces/%s/pods/%s/status", p->ns, p->name),
	       json_pack("{s:O}", "status", st));
	json_decref(p->last_status);
	p->last_status = st;
}

static const char *probe_kind_name(enum node_probe_kind k)
{
	return k == NODE_PROBE_READINESS ? "Readiness" : k == NODE_PROBE_LIVENESS ? "Liveness" : "Startup";
}

/* The published result of cname's probe of kind: Success when it has none (a container
 * without a startup probe has started, one without a readiness probe is ready). */
static bool probe_passes(const struct apod *p, const char *cname, enum node_probe_kind kind)
{
	for (size_t i = 0; i < p->nprobes; i++)
		if (p->probes[i].kind == kind && !strcmp(p->probes[i].cname, cname))
			return p->probes[i].sm.result == NODE_PROBE_SUCCESS;
	return true;
}

/* Hands the container's readiness and startup results to the runtime (status fields). */
static void probe_flags_sync(struct agent *a, const struct apod *p, const char *cname)
{
	node_rt_container_set_probe(a->rt, p->uid, cname, probe_passes(p, cname, NODE_PROBE_READINESS),
				    probe_passes(p, cname, NODE_PROBE_STARTUP));
}

/* Whether the runtime's state says cname had started (a re-adopted container whose
 * startup probe succeeded before the agent restarted: as kubelet, not probed again). */
static bool rt_container_started(struct agent *a, const struct apod *p, const char *cname)
{
	json_t *st = node_rt_pod_status(a->rt, p->uid);
	size_t i;
	json_t *c;
	bool started = false;
	json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
	{
		if (!strcmp(api_str(c, "name") ?: "", cname))
			started = json_is_true(json_object_get(c, "started"));
	}
	json_decref(st);
	return started;
}

static long api_post_event(struct agent *a, json_t *ev)
{
	char *path = xasprintf("/api/v1/namespaces/%s/events", api_str(ev, "metadata.namespace"));
	long rc = api_do(a, "POST", path, "application/json", ev, NULL);
	free(path);
	return rc;
}

/* kubelet's events about a pod's container: reason, type and message. */
static void pod_event(struct agent *a, const struct apod *p, const char *cname, const char *type,
		      const char *reason, const char *msg)
{
	if (!p->pod)
		return;
	char *fp = xasprintf("spec.containers{%s}", cname);
	json_t *ev = api_event_new(p->pod, "Pod", fp, "kubelet", a->node_name, type, reason, msg);
	api_post_event(a, ev);
	json_decref(ev);
	free(fp);
}

/* A failed probe run: Warning Unhealthy "<Kind> probe failed: <msg>" as kubelet records
 * it. Repeats of the same message bump the event's count (a merge patch) instead of
 * making new events, at most one write per EVENT_MIN_MS per probe; msg NULL flushes a
 * pending count. */
static void probe_event(struct agent *a, const struct apod *p, struct aprobe *pr, const char *msg)
{
	int64_t now = now_ms();
	if (msg) {
		char *full = xasprintf("%s probe failed: %s", probe_kind_name(pr->kind), *msg ? msg : "unknown");
		if (pr->ev_name && pr->ev_msg && !strcmp(pr->ev_msg, full)) {
			pr->ev_pending++;
			free(full);
		} else {
			free(pr->ev_name);
			free(pr->ev_msg);
			pr->ev_name = NULL;
			pr->ev_msg = full;
			pr->ev_count = 1;
			pr->ev_pending = 0;
			pr->ev_ms = now;
			char *fp = xasprintf("spec.containers{%s}", pr->cname);
			json_t *ev = api_event_new(p->pod, "Pod", fp, "kubelet", a->node_name, "Warning", "Unhealthy",
						   full);
			free(fp);
			if (api_post_event(a, ev) == 201)
				pr->ev_name = xstrdup(api_str(ev, "metadata.name"));
			json_decref(ev);
			return;
		}
	}
	if (!pr->ev_name || !pr->ev_pending || now - pr->ev_ms < EVENT_MIN_MS)
		return;
	char ts[40];
	pr->ev_count += pr->ev_pending;
	pr->ev_pending = 0;
	pr->ev_ms = now;
	json_t *patch = json_pack("{s:i, s:s}", "count", pr->ev_count, "lastTimestamp", api_now(ts, sizeof(ts)));
	char *path = xasprintf("/api/v1/namespaces/%s/events/%s", p->ns, pr->ev_name);
	if (api_do(a, "PATCH", path, "application/merge-patch+json", patch, NULL) == 404) {
		free(pr->ev_name); /* deleted meanwhile: the next failure starts a new one */
		pr->ev_name = NULL;
	}
	free(path);
	json_decref(patch);
}

/* Advances the pod's probes; returns the earliest deadline they need (ms, monotonic). */
static int64_t probes_step(struct agent *a, struct apod *p, struct pollfd *fds, size_t *nfds, size_t cap)
{
	int64_t next = INT64_MAX, now = now_ms();
	if (!p->running || p->stopping)
		return next;
	/* Startup probes come first in p->probes (probes_init), so a container's "started"
	 * is settled before its readiness and liveness probes ask for it. */
	for (size_t i = 0; i < p->nprobes; i++) {
		struct aprobe *pr = &p->probes[i];
		int run_id = 0;
		pid_t pid = node_rt_container_pid(a->rt, p->uid, pr->cname, &run_id);
		if (pid > 0 && run_id != pr->run_id) {
			bool adopted = pr->run_id < 0 && p->hold_ms;
			pr->run_id = run_id;
			pr->got_result = false;
			node_probe_run_free(pr->run);
			pr->run = NULL;
			node_probe_sm_container_started(&pr->sm, now);
			if (pr->kind == NODE_PROBE_STARTUP && adopted && rt_container_started(a, p, pr->cname)) {
				pr->sm.result = NODE_PROBE_SUCCESS;
				pr->got_result = true;
			}
			probe_flags_sync(a, p, pr->cname);
		} else if (pid <= 0 && pr->sm.running) {
			node_probe_run_free(pr->run);
			pr->run = NULL;
			node_probe_sm_container_stopped(&pr->sm);
		}
		bool started = probe_passes(p, pr->cname, NODE_PROBE_STARTUP);
		if (pid > 0 && !pr->run && node_probe_sm_due(&pr->sm, started, now)) {
			struct node_probe_target t = {.pod_ip = p->ip, .pid = pid};
			if (node_probe_run_start(&pr->spec, &t, now, &pr->run) < 0)
				pr->run = NULL;
			pr->run_start = now;
		}
		if (pr->run && node_probe_run_advance(pr->run, now_ms())) {
			const char *msg = NULL;
			enum node_probe_result r = node_probe_run_result(pr->run, &msg);
			pr->got_result = true;
			if (r == NODE_PROBE_FAILURE)
				probe_event(a, p, pr, msg ? msg : "");
			if (node_probe_sm_record(&pr->sm, r, pr->run_start)) {
				log_info("agent: pod %s/%s container %s %s probe: %s%s%s", p->ns, p->name, pr->cname,
					 probe_kind_name(pr->kind), pr->sm.result == NODE_PROBE_SUCCESS ? "success" : "failure",
					 msg && *msg ? ": " : "", msg ? msg : "");
				probe_flags_sync(a, p, pr->cname);
				if (pr->kind != NODE_PROBE_READINESS && pr->sm.result == NODE_PROBE_FAILURE) {
					char *m = xasprintf("Container %s failed %s probe, will be restarted", pr->cname,
							    pr->kind == NODE_PROBE_LIVENESS ? "liveness" : "startup");
					pod_event(a, p, pr->cname, "Normal", "Killing", m);
					free(m);
					node_rt_container_kill(a->rt, p->uid, pr->cname, -1);
				}
			}
			node_probe_run_free(pr->run);
			pr->run = NULL;
		}
		probe_event(a, p, pr, NULL);
		if (pr->ev_pending && pr->ev_ms + EVENT_MIN_MS < next)
			next = pr->ev_ms + EVENT_MIN_MS;
		if (pr->run) {
			short ev = 0;
			int fd = node_probe_run_fd(pr->run, &ev);
			if (fd >= 0 && *nfds < cap)
				fds[(*nfds)++] = (struct pollfd){.fd = fd, .events = ev};
			int64_t dl = node_probe_run_deadline(pr->run);
			if (dl < next)
				next = dl;
			if (fd < 0 && now + 10 < next)
				next = now + 10;
		} else {
			int64_t n = node_probe_sm_next_ms(&pr->sm);
			if (n < next)
				next = n;
		}
	}
	return next;
}

/* ---- the loop ---- */

static void *agent_main(void *arg)
{
	struct agent *a = arg;
	struct pollfd fds[2 + MAX_PROBE_FDS];
	int timeout = 0;
	while (!atomic_load(&a->stop)) {
		fds[0] = (struct pollfd){.fd = a->sfd, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = a->efd, .events = POLLIN};
		size_t nfds = 2;
		int64_t next = now_ms() + MAX_POLL_MS;
		/* Probes first: their fds belong in this poll. */
		for (struct apod *p = a->list; p; p = p->next) {
			int64_t n = probes_step(a, p, fds, &nfds, sizeof(fds) / sizeof(fds[0]));
			if (n < next)
				next = n;
		}
		for (struct apod *p = a->list; p; p = p->next)
			pod_report(a, p);
		int64_t rt_next = -1;
		node_rt_sync(a->rt, &rt_next);
		int64_t now = now_ms();
		if (rt_next >= 0 && now + rt_next < next)
			next = now + rt_next;
		if (a->next_hb_ms < next)
			next = a->next_hb_ms;
		for (struct apod *p = a->list; p; p = p->next)
			if (!p->running && p->retry_ms > now && p->retry_ms < next)
				next = p->retry_ms;
		timeout = next <= now ? 0 : (int)(next - now);
		if (timeout > MAX_POLL_MS)
			timeout = MAX_POLL_MS;
		if (poll(fds, nfds, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(a->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			}
		}
		if (fds[1].revents & POLLIN) {
			uint64_t v;
			if (read(a->efd, &v, sizeof(v)) < 0) {
				/* Nothing to do: dirty flags carry the news. */
			}
		}
		if (atomic_exchange(&a->dirty_nodes, 0))
			nodes_reconcile(a);
		/* Pods every pass: cheap, and it also drives retries and grace periods. */
		atomic_store(&a->dirty_pods, 0);
		pods_reconcile(a);
		node_rt_sync(a->rt, NULL);
		if (now_ms() >= a->next_hb_ms) {
			node_report(a, true, "KubeletReady", "svcplane agent is posting ready status");
			a->next_hb_ms = now_ms() + (int64_t)a->heartbeat_s * 1000;
		}
		/* After a burst of pod changes the heap holds freed JSON (lists, statuses, API
		 * bodies) in its arenas: hand it back once things have been quiet for a second. */
		size_t npods = 0;
		for (struct apod *p = a->list; p; p = p->next)
			npods++;
		if (npods != a->trim_npods) {
			a->trim_npods = npods;
			a->trim_at_ms = now_ms() + 1000;
		} else if (a->trim_at_ms && now_ms() >= a->trim_at_ms) {
			a->trim_at_ms = 0;
			malloc_trim(0);
		}
	}
	return NULL;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = xmalloc(65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void host_info(struct agent *a)
{
	struct utsname u;
	snprintf(a->kernel, sizeof(a->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	snprintf(a->os_image, sizeof(a->os_image), "Linux");
	char *osr = read_file("/etc/os-release");
	const char *p = osr ? strstr(osr, "PRETTY_NAME=") : NULL;
	if (p) {
		p += strlen("PRETTY_NAME=");
		if (*p == '"')
			p++;
		size_t n = strcspn(p, "\"\n");
		snprintf(a->os_image, sizeof(a->os_image), "%.*s", (int)n, p);
	}
	free(osr);
}

static void agent_free(struct agent *a)
{
	dns_server_stop(a->dns);
	node_logsrv_stop(a->logsrv);
	if (a->wth_started) {
		atomic_store(&a->wstop, 1);
		pthread_mutex_lock(&a->wmu);
		pthread_cond_signal(&a->wcv);
		pthread_mutex_unlock(&a->wmu);
		pthread_join(a->wth, NULL);
	}
	while (a->wq) {
		struct swrite *w = a->wq;
		a->wq = w->next;
		swrite_free(w);
	}
	client_free(a->wcl);
	pthread_mutex_destroy(&a->wmu);
	pthread_cond_destroy(&a->wcv);
	informer_free(a->pods);
	informer_free(a->nodes);
	informer_free(a->svcs);
	while (a->list) {
		struct apod *p = a->list;
		a->list = p->next;
		pod_free(p);
	}
	node_rt_free(a->rt);
	node_nl_free(a->nl);
	client_free(a->cl);
	client_config_fini(&a->cfg);
	if (a->efd >= 0)
		close(a->efd);
	if (a->sfd >= 0)
		close(a->sfd);
	free(a->node_name);
	free(a->node_ip);
	free(a->node_ip6);
	free(a->data_dir);
	free(a->state_dir);
	free(a->log_dir);
	free(a->ipam_dir);
	free(a->cluster_domain);
	free(a->cluster_dns);
	free(a->host_resolv);
	free(a->masq_script);
	free(a);
}

bool agent_proxy_mode_valid(const char *s)
{
	return s && (!strcmp(s, "nftables") || !strcmp(s, "iptables") || !strcmp(s, "userspace"));
}

/* The interface of the IPv4 default route from /proc/net/route into dev, or false. */
static bool default_route_dev(char *dev, size_t len)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[512], ifn[64];
	unsigned long dst, gw, flags;
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lx %lx %lx", ifn, &dst, &gw, &flags) == 4 && dst == 0 && (flags & 1)) {
			snprintf(dev, len, "%s", ifn);
			found = true;
		}
	fclose(f);
	return found;
}

int agent_default_node(char *name, size_t nlen, char *ip, size_t iplen, char *err, size_t errlen)
{
	char host[256] = "", dev[64] = "";
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0]) {
		snprintf(err, errlen, "cannot read the host name; pass --node-name");
		return -ENOENT;
	}
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(name, nlen, "%s", host);
	bool have_dev = default_route_dev(dev, sizeof(dev));
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0) {
		snprintf(err, errlen, "cannot list interfaces: %s; pass --node-ip", strerror(errno));
		return -ENOENT;
	}
	ip[0] = 0;
	/* Pass 0: the default route's interface; pass 1: any up, non-loopback one. */
	for (int pass = have_dev ? 0 : 1; pass < 2 && !ip[0]; pass++)
		for (struct ifaddrs *i = ifs; i && !ip[0]; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
			    !(i->ifa_flags & IFF_UP) || (pass == 0 && strcmp(i->ifa_name, dev)))
				continue;
			struct ip_addr a = {.family = 4};
			memcpy(a.b, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			ip_format(&a, ip, iplen);
		}
	freeifaddrs(ifs);
	if (!ip[0]) {
		snprintf(err, errlen, "no IPv4 address on a non-loopback interface; pass --node-ip");
		return -ENOENT;
	}
	return 0;
}

/* The global IPv6 address on the interface that holds the IPv4 address v4, or NULL. */
static char *derive_ip6(const struct ip_addr *v4)
{
	struct ifaddrs *ifs = NULL, *i;
	const char *dev = NULL;
	char *out = NULL;
	if (v4->family != 4 || getifaddrs(&ifs) < 0)
		return NULL;
	for (i = ifs; i && !dev; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, v4->b, 4))
			dev = i->ifa_name;
	for (i = ifs; i && dev && !out; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, dev))
			continue;
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_MULTICAST(a6))
			continue;
		struct ip_addr ip = {.family = 6};
		char buf[IP_STRLEN];
		memcpy(ip.b, a6, 16);
		out = xstrdup(ip_format(&ip, buf, sizeof(buf)));
	}
	freeifaddrs(ifs);
	return out;
}

/* Splits --node-ip "IP" or "IPv4,IPv6" (either order) into the primary InternalIP and
 * the IPv6 one. Returns 0, or -EINVAL. */
static int parse_node_ips(const char *s, char **ip_out, char **ip6_out)
{
	char *dup = xstrdup(s), *comma = strchr(dup, ',');
	struct ip_addr a1, a2;
	int rc = -EINVAL;
	if (comma)
		*comma = 0;
	if (ip_parse(dup, &a1) < 0)
		goto out;
	if (comma && (ip_parse(comma + 1, &a2) < 0 || a2.family == a1.family || strchr(comma + 1, ',')))
		goto out;
	const char *v4 = !comma || a1.family == 4 ? dup : comma + 1;
	*ip_out = xstrdup(v4);
	*ip6_out = comma ? xstrdup(a1.family == 6 ? dup : comma + 1) : NULL;
	rc = 0;
out:
	free(dup);
	return rc;
}

/* Cluster DNS for this node's pods (the logic is dns/server.c): the nameserver defaults
 * to the kube-dns Service's cluster IP, which goes on "lo" so that pods reach a server
 * on this node without a proxy. */
static void dns_start(struct agent *a, const struct agent_opts *o)
{
	struct ip_addr ip;
	if (!a->cluster_dns) {
		json_t *kd = informer_get(a->svcs, "kube-system", "kube-dns");
		const char *v = kd ? api_str(kd, "spec.clusterIP") : NULL;
		if (v && ip_parse(v, &ip) == 0)
			a->cluster_dns = xstrdup(v);
		json_decref(kd);
	}
	if (o->dns_disable || !a->cluster_dns || ip_parse(a->cluster_dns, &ip) < 0)
		return;
	int rc = node_addr_add(a->nl, "lo", &ip, ip.family == 4 ? 32 : 128, 0);
	if (rc < 0 && rc != -EEXIST)
		log_warn("agent: adding %s to lo: %s", a->cluster_dns, strerror(-rc));
	const char *listen[] = {a->cluster_dns, a->node_ip, NULL}, *ips[] = {a->cluster_dns, NULL};
	struct dns_server_opts d = {.cfg = &a->cfg, .zone = a->cluster_domain, .listen = listen,
				    .upstreams = o->dns_upstreams, .dns_ips = ips, .ttl = o->dns_ttl,
				    .ttl_set = o->dns_ttl_set};
	char err[256];
	if (dns_server_start(&d, &a->dns, err, sizeof(err)) < 0)
		log_warn("agent: no cluster DNS on this node: %s", err);
}

int agent_start(const struct agent_opts *o, struct agent **out, char *err, size_t errlen)
{
	char *ip = NULL, *ip6 = NULL;
	if (!o->node_name || !*o->node_name || !o->node_ip || parse_node_ips(o->node_ip, &ip, &ip6) < 0) {
		snprintf(err, errlen, "a node name and a node IP address (or \"IPv4,IPv6\") are required");
		return -EINVAL;
	}
	struct agent *a = xcalloc(1, sizeof(*a));
	a->efd = a->sfd = -1;
	pthread_mutex_init(&a->wmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wcv, &ca);
	pthread_condattr_destroy(&ca);
	client_config_copy(&a->cfg, o->cfg);
	a->node_name = xstrdup(o->node_name);
	a->node_ip = ip;
	struct ip_addr nip;
	if (!ip6 && ip_parse(ip, &nip) == 0)
		ip6 = derive_ip6(&nip);
	a->node_ip6 = ip6;
	a->data_dir = xstrdup(o->data_dir ? o->data_dir : "/var/lib/svcplane/agent");
	a->state_dir = xasprintf("%s/pods", a->data_dir);
	a->log_dir = xasprintf("%s/logs", a->data_dir);
	a->ipam_dir = xasprintf("%s/ipam", a->data_dir);
	a->cluster_domain = xstrdup(o->cluster_domain ? o->cluster_domain : "cluster.local");
	a->cluster_dns = o->cluster_dns ? xstrdup(o->cluster_dns) : NULL;
	a->heartbeat_s = o->heartbeat_s > 0 ? o->heartbeat_s : 10;
	a->kubelet_port = o->kubelet_port ? o->kubelet_port : NODE_LOGSRV_DEFAULT_PORT;
	a->host_resolv = read_file("/etc/resolv.conf");
	host_info(a);
	int rc;
	if (mkdir(a->data_dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "data dir %s: %s", a->data_dir, strerror(errno));
		goto fail;
	}
	mkdir(a->log_dir, 0700);
	struct node_rt_config rc_cfg = {.state_dir = a->state_dir};
	a->rt = node_rt_new(&rc_cfg, err, errlen);
	if (!a->rt) {
		rc = -EIO;
		goto fail;
	}
	if ((rc = node_nl_new(-1, &a->nl, err, errlen)) < 0)
		goto fail;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	a->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->sfd < 0 || a->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "signalfd/eventfd: %s", strerror(errno));
		goto fail;
	}
	a->cl = client_new(&a->cfg, 10000);
	if (a->kubelet_port >= 0) {
		/* Logs are a convenience: a node whose port is taken still runs its pods. */
		char *pki = xasprintf("%s/pki", a->data_dir), lerr[256] = "";
		struct node_logsrv_opts lo = {.bind_address = a->node_ip, .port = a->kubelet_port,
					      .log_dir = a->log_dir, .pki_dir = pki, .token = a->cfg.token};
		if (node_logsrv_start(&lo, &a->logsrv, lerr, sizeof(lerr)) < 0)
			log_warn("agent: no log endpoint (kubectl logs will not work for this node): %s", lerr);
		free(pki);
	}
	if ((rc = node_register(a, err, errlen)) < 0)
		goto fail;
	char *q = client_escape(a->node_name);
	char *path = xasprintf("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", q);
	free(q);
	struct informer_handlers hp = {.on_add = pod_add, .on_update = pod_update, .on_delete = pod_add,
				       .on_synced = pods_changed};
	struct informer_handlers hn = {.on_add = node_add, .on_update = node_update, .on_delete = node_add,
				       .on_synced = nodes_changed};
	struct informer_handlers hs = {0};
	a->pods = informer_new(&a->cfg, path, &hp, a);
	free(path);
	a->nodes = informer_new(&a->cfg, "/api/v1/nodes", &hn, a);
	a->svcs = informer_new(&a->cfg, "/api/v1/services", &hs, a);
	struct informer *all[] = {a->pods, a->nodes, a->svcs};
	for (size_t i = 0; i < 3; i++)
		informer_start(all[i]);
	for (size_t i = 0; i < 3; i++) {
		if (!informer_wait_synced(all[i], 10000)) {
			rc = -ETIMEDOUT;
			snprintf(err, errlen, "informers did not sync within 10 s");
			goto fail;
		}
	}
	dns_start(a, o);
	/* Pods the runtime re-adopted are known before the first reconcile, so a pod the
	 * API deleted while we were down is stopped and torn down there. */
	char **uids = node_rt_pod_list(a->rt);
	for (size_t i = 0; uids && uids[i]; i++) {
		if (!pod_find(a, uids[i]))
			pod_new(a, uids[i])->hold_ms = now_ms() + 5000;
		free(uids[i]);
	}
	free(uids);
	a->next_hb_ms = now_ms() + (int64_t)a->heartbeat_s * 1000;
	atomic_store(&a->dirty_nodes, 1);
	nodes_reconcile(a);
	a->wcl = client_new(&a->cfg, 10000);
	if ((rc = pthread_create(&a->wth, NULL, writer_main, a)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "starting the status writer: %s", strerror(-rc));
		goto fail;
	}
	a->wth_started = true;
	if ((rc = pthread_create(&a->th, NULL, agent_main, a)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "starting the agent thread: %s", strerror(-rc));
		goto fail;
	}
	a->th_started = true;
	log_info("agent: node %s (%s) registered; log endpoint %s:%d; proxy mode %s (accepted; no Service "
		 "proxy in this build yet)", a->node_name, a->node_ip, a->node_ip, a->logsrv ? node_logsrv_port(a->logsrv) : 0,
		 o->proxy_mode ? o->proxy_mode : "nftables");
	*out = a;
	return 0;
fail:
	agent_free(a);
	return rc;
}

void agent_stop(struct agent *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, 1);
	wake(a);
	if (a->th_started)
		pthread_join(a->th, NULL);
	node_report(a, false, "KubeletNotReady", "svcplane agent stopped");
	agent_free(a);
}

int agent_cleanup(const char *data_dir, int grace_s, char *err, size_t errlen)
{
	char *state = xasprintf("%s/pods", data_dir), *ipam = xasprintf("%s/ipam", data_dir);
	struct node_rt_config cfg = {.state_dir = state};
	struct node_rt *rt = node_rt_new(&cfg, err, errlen);
	struct node_nl *nl = NULL;
	int rc = 0;
	if (!rt) {
		rc = -EIO;
		goto out;
	}
	if ((rc = node_nl_new(-1, &nl, err, errlen)) < 0)
		goto out;
	char **uids = node_rt_pod_list(rt);
	for (size_t i = 0; uids && uids[i]; i++)
		node_rt_pod_stop(rt, uids[i], grace_s);
	/* Bounded: the grace period plus a few seconds for SIGKILL to land. */
	int64_t deadline = now_ms() + (int64_t)(grace_s > 0 ? grace_s : 0) * 1000 + 5000;
	for (;;) {
		node_rt_sync(rt, NULL);
		bool all = true;
		for (size_t i = 0; uids && uids[i]; i++)
			all = all && node_rt_pod_stopped(rt, uids[i]);
		if (all || now_ms() > deadline)
			break;
		usleep(50 * 1000);
	}
	for (size_t i = 0; uids && uids[i]; i++) {
		if (node_rt_pod_stopped(rt, uids[i]))
			node_rt_pod_remove(rt, uids[i]);
		else if (rc == 0) {
			rc = -EBUSY;
			snprintf(err, errlen, "pod %s did not stop", uids[i]);
		}
		struct apod p = {.netns_fd = -1};
		snprintf(p.uid, sizeof(p.uid), "%s", uids[i]);
		pod_names(&p);
		struct agent tmp = {.nl = nl, .ipam_dir = ipam};
		podnet_teardown(&tmp, &p);
		free(uids[i]);
	}
	free(uids);
	/* Our masquerade table, routes and bridge. */
	char merr[256];
	if (node_masq_cleanup(merr, sizeof(merr)) < 0)
		log_warn("agent cleanup: %s", merr);
	struct node_route *rts = NULL;
	size_t n = 0;
	if (node_route_list(nl, 0, &rts, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (rts[i].protocol != NODE_AGENT_RTPROT)
				continue;
			struct node_route d = {.dst = rts[i].dst, .protocol = NODE_AGENT_RTPROT};
			node_route_del(nl, &d);
		}
		free(rts);
	}
	node_link_del(nl, NODE_AGENT_BRIDGE);
out:
	node_nl_free(nl);
	node_rt_free(rt);
	free(state);
	free(ipam);
	return rc;
}
