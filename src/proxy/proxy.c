/* proxy.c - the node's Service proxy: informers, the sync thread, UDP conntrack
 * cleanup, the healthCheckNodePort server and metrics (see proxy.h). */
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/prom.h"
#include "base/vec.h"
#include "client/informer.h"
#include "proxy/conntrack.h"
#include "proxy/ipt.h"
#include "proxy/nft.h"
#include "proxy/uproxy.h"
#include "api/object.h"

/* The nice value of the proxy's threads (sync and informers). */
#define PROXY_NICE (-10)
/* The longest wait before a refused sync is retried (kube-proxy: its sync period, 30 s). */
#define PROXY_RETRY_MAX_MS 30000

/* ---- metrics ---------------------------------------------------------------- */

/* kube-proxy's names, labels and meanings (pkg/proxy/metrics) wherever it has the number;
 * ours (svcplane_proxy_*) only where it has none: nftables map elements, chains, the
 * userspace mode's failures. One sync covers both families, so the sync metrics carry
 * no ip_family label; the per-family numbers (iptables rules, conntrack deletions) do. */

/* kube-proxy's buckets: exponential from 1 ms, factor 2, 15 buckets (sync duration);
 * network programming latency: 0.25 s ... as kube-proxy, plus finer ones below. */
static const double sync_buckets[] = {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
				      0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
static const double npl_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				     0.5,   1,	   2,	  5,	10,    30,   60};
#define NB 15

struct hist {
	unsigned long long b[NB]; /* cumulative: b[i] counts the values <= bucket i */
	unsigned long long count;
	double sum;
};

/* The tables of the iptables rule counts: kube-proxy's two, and raw (our NOTRACK rules
 * for the node-local DNS address). */
static const char *const ipt_tables[] = {"filter", "nat", "raw"};
#define N_IPT_TABLES 3

static struct {
	pthread_mutex_t mu;
	bool ran;
	const char *mode;
	struct hist sync, full, partial, npl;
	double last_ts, queued_ts;
	unsigned long long failures, ct_deleted[2];
	unsigned long long svc_changes, ep_changes;
	size_t svc_pending, ep_pending;
	size_t no_local_int, no_local_ext;
	size_t elements, chains;
	size_t ipt_rules[2][N_IPT_TABLES]; /* [family 4, 6][ipt_tables] */
	struct uproxy *up;		   /* the userspace mode's counters, while it runs */
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void hist_add(struct hist *h, const double *bk, double v)
{
	for (int i = 0; i < NB; i++)
		if (v <= bk[i])
			h->b[i]++;
	h->count++;
	h->sum += v;
}

static void hist_write(struct buf *b, const char *name, const char *help, const struct hist *h,
		       const double *bk)
{
	prom_head(b, name, "histogram", help);
	prom_hist(b, name, "", bk, h->b, NB, h->sum, h->count);
}

void proxy_metrics_write(struct buf *b)
{
	pthread_mutex_lock(&M.mu);
	if (M.ran) {
		bool ipt = !strcmp(M.mode, "iptables"), nft = !strcmp(M.mode, "nftables");
		hist_write(b, "kubeproxy_sync_proxy_rules_duration_seconds",
			   "SyncProxyRules latency in seconds", &M.sync, sync_buckets);
		hist_write(b, "kubeproxy_sync_full_proxy_rules_duration_seconds",
			   "SyncProxyRules latency in seconds for full resyncs", &M.full, sync_buckets);
		hist_write(b, "kubeproxy_sync_partial_proxy_rules_duration_seconds",
			   "SyncProxyRules latency in seconds for partial resyncs", &M.partial, sync_buckets);
		hist_write(b, "kubeproxy_network_programming_duration_seconds",
			   "In Cluster Network Programming Latency in seconds", &M.npl, npl_buckets);
		prom_sample(b, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "gauge",
			    "The last time proxy rules were successfully synced", M.last_ts);
		prom_sample(b, "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", "gauge",
			    "The last time a sync of proxy rules was queued", M.queued_ts);
		prom_sample(b, "kubeproxy_sync_proxy_rules_service_changes_total", "counter",
			    "Cumulative proxy rules Service changes", (double)M.svc_changes);
		prom_sample(b, "kubeproxy_sync_proxy_rules_service_changes_pending", "gauge",
			    "Pending proxy rules Service changes", (double)M.svc_pending);
		prom_sample(b, "kubeproxy_sync_proxy_rules_endpoint_changes_total", "counter",
			    "Cumulative proxy rules Endpoint changes", (double)M.ep_changes);
		prom_sample(b, "kubeproxy_sync_proxy_rules_endpoint_changes_pending", "gauge",
			    "Pending proxy rules Endpoint changes", (double)M.ep_pending);
		prom_head(b, "kubeproxy_sync_proxy_rules_no_local_endpoints_total", "gauge",
			  "Number of services with a Local traffic policy and no endpoints");
		buf_printf(
		    b,
		    "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"internal\"} %zu\n"
		    "kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"external\"} %zu\n",
		    M.no_local_int, M.no_local_ext);
		if (nft)
			prom_sample(b, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total", "counter",
				    "Cumulative proxy nftables sync failures", (double)M.failures);
		else if (ipt)
			prom_sample(b, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
				    "counter", "Cumulative proxy iptables restore failures",
				    (double)M.failures);
		else
			prom_sample(b, "svcplane_proxy_sync_failures_total", "counter",
				    "Syncs the userspace proxy refused (in part)", (double)M.failures);
		if (ipt) {
			prom_head(b, "kubeproxy_sync_proxy_rules_iptables_total", "gauge",
				  "Total number of iptables rules owned by kube-proxy");
			for (int f = 0; f < 2; f++)
				for (int t = 0; t < N_IPT_TABLES; t++)
					buf_printf(
					    b,
					    "kubeproxy_sync_proxy_rules_iptables_total{ip_family=\"IPv%d\","
					    "table=\"%s\"} %zu\n",
					    f ? 6 : 4, ipt_tables[t], M.ipt_rules[f][t]);
		} else {
			prom_head(
			    b, "svcplane_proxy_rules_programmed", "gauge",
			    "Map elements (nftables) programmed; kubeproxy_sync_proxy_rules_iptables_total "
			    "in iptables mode");
			buf_printf(b, "svcplane_proxy_rules_programmed{mode=\"%s\"} %zu\n", M.mode,
				   M.elements);
		}
		prom_head(b, "svcplane_proxy_chains_programmed", "gauge", "Chains programmed");
		buf_printf(b, "svcplane_proxy_chains_programmed{mode=\"%s\"} %zu\n", M.mode, M.chains);
		prom_head(b, "kubeproxy_conntrack_reconciler_deleted_entries_total", "counter",
			  "Cumulative conntrack flows deleted by conntrack reconciler");
		for (int f = 0; f < 2; f++)
			buf_printf(
			    b,
			    "kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family=\"IPv%d\"} %llu\n",
			    f ? 6 : 4, M.ct_deleted[f]);
		if (M.up)
			uproxy_metrics_write(M.up, b);
	}
	pthread_mutex_unlock(&M.mu);
}

/* ---- the proxy ------------------------------------------------------------------ */

struct hc_port {
	uint16_t port;
	int fd;
	char ns[254], name[254];
	size_t local;
};

struct proxy {
	struct client_config cfg;
	char *node_name, *mode, *table;
	struct proxy_netcfg net;
	struct informer *svcs, *slices;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool dirty, full;
	double dirty_since; /* monotonic time of the first change not yet synced */
	/* A sync the kernel refused (in part) is retried as a full sync, with no change
	 * needed, after retry_ms (1 s, doubling to PROXY_RETRY_MAX_MS; 0: none due). Sync
	 * thread only. */
	int64_t retry_ms, retry_at;
	json_t *dirty_keys; /* "ns/name" of Services to sync; all when full */
	json_t *pending[2]; /* "ns/name" of Services changed (0) or whose slices changed (1) */
	json_t *no_local;   /* "ns/name" -> [[internal, external], ...]: its ports with a Local
			     * policy and no endpoint (..._no_local_endpoints_total) */
	json_t *hc_by_svc;  /* "ns/name" -> [[port, local endpoints], ...] */
	atomic_int stop;
	pthread_t th, hth;
	bool th_started, hth_started;
	struct proxy_nft *nft;
	struct proxy_ipt *ipt;
	struct uproxy *up;   /* --proxy-mode userspace */
	struct client *evcl; /* posts the userspace mode's Warning events (sync thread) */
	json_t *npl_seen;    /* "ns/name" -> the trigger time last counted */
	json_t *udp_prev;    /* group -> {"a": [addresses], "np": nodePort, "eps": ["ip|port"]} */
	/* health checks: the sync thread publishes, the hc thread serves */
	pthread_mutex_t hmu;
	struct hc_port *hc;
	size_t n_hc;
	int hefd;
	int first_rc;
	char first_err[512];
	atomic_int synced_once;
};

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What changed, for kube-proxy's change counters. */
enum change { CHANGE_SERVICE, CHANGE_ENDPOINTS, CHANGE_NONE };

/* Marks the Service "ns/name" (NULL: everything) for the next sync, after a change of
 * kind what. */
static void mark(struct proxy *p, const char *ns, const char *name, enum change what)
{
	double wall = now_s(CLOCK_REALTIME);
	pthread_mutex_lock(&p->mu);
	if (!p->dirty)
		p->dirty_since = now_s(CLOCK_MONOTONIC);
	p->dirty = true;
	if (!ns || !name) {
		p->full = true;
	} else {
		char *k = xasprintf("%s/%s", ns, name);
		json_object_set_new(p->dirty_keys, k, json_true());
		if (what != CHANGE_NONE)
			json_object_set_new(p->pending[what], k, json_true());
		free(k);
	}
	pthread_mutex_lock(&M.mu);
	M.queued_ts = wall;
	M.svc_changes += what == CHANGE_SERVICE;
	M.ep_changes += what == CHANGE_ENDPOINTS;
	M.svc_pending = json_object_size(p->pending[CHANGE_SERVICE]);
	M.ep_pending = json_object_size(p->pending[CHANGE_ENDPOINTS]);
	pthread_mutex_unlock(&M.mu);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The changes a sync is about to program are no longer pending (caller holds p->mu). */
static void pending_clear(struct proxy *p)
{
	json_object_clear(p->pending[CHANGE_SERVICE]);
	json_object_clear(p->pending[CHANGE_ENDPOINTS]);
	pthread_mutex_lock(&M.mu);
	M.svc_pending = M.ep_pending = 0;
	pthread_mutex_unlock(&M.mu);
}

static const char *md(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static const char *slice_svc(const json_t *o)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"),
						 "kubernetes.io/service-name"));
}

static void svc_add(void *ud, const json_t *o)
{
	mark(ud, md(o, "namespace"), md(o, "name"), CHANGE_SERVICE);
}
static void svc_update(void *ud, const json_t *a, const json_t *b)
{
	if (a != b) /* a == b: the informer's resync; nothing changed, nothing to sync */
		svc_add(ud, b);
}
static void slice_add(void *ud, const json_t *o)
{
	/* A slice of no Service changes nothing. */
	if (slice_svc(o))
		mark(ud, md(o, "namespace"), slice_svc(o), CHANGE_ENDPOINTS);
}
static void slice_update(void *ud, const json_t *a, const json_t *b)
{
	if (a == b) /* the informer's resync */
		return;
	slice_add(ud, a);
	slice_add(ud, b);
}
static void on_synced(void *ud)
{
	mark(ud, NULL, NULL, CHANGE_NONE);
}

static char *slice_index(const json_t *o)
{
	const char *s = slice_svc(o), *ns = md(o, "namespace");
	return s && ns ? xasprintf("%s/%s", ns, s) : NULL;
}

/* RFC 3339 (with optional fraction) -> epoch seconds, or -1. */
static double rfc3339(const char *s)
{
	struct tm tm = {0};
	const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -1;
	double frac = 0;
	if (*e == '.') {
		char *end;
		frac = strtod(e, &end);
		e = end;
	}
	return (double)timegm(&tm) + frac;
}

/* Stale UDP flows: compare each UDP service port's addresses and endpoints with the last
 * sync's, and delete the conntrack entries that the change made wrong. */
static void udp_cleanup(struct proxy *p, const struct proxy_model *m, const json_t *keys)
{
	json_t *now = json_object();
	VEC(struct proxy_ct_match) mt = {0};
	char ip[IP_STRLEN];
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svcport *sp = &m->ports[i];
		if (sp->proto != IPPROTO_UDP)
			continue;
		char *key = xasprintf("%s/%s/%s/%d", sp->ns, sp->name, sp->port_name, sp->family);
		json_t *eps = json_array(), *addrs = json_array();
		for (size_t k = 0; k < sp->n_eps; k++) {
			if (!sp->eps[k].ready && !sp->eps[k].serving)
				continue;
			char *e =
			    xasprintf("%s|%u", ip_format(&sp->eps[k].ip, ip, sizeof(ip)), sp->eps[k].port);
			json_array_append_new(eps, json_string(e));
			free(e);
		}
		if (sp->has_cluster_ip)
			json_array_append_new(addrs, json_string(ip_format(&sp->cluster_ip, ip, sizeof(ip))));
		for (size_t k = 0; k < sp->n_external; k++)
			json_array_append_new(addrs,
					      json_string(ip_format(&sp->external_ips[k], ip, sizeof(ip))));
		json_object_set_new(now, key,
				    json_pack("{s:o,s:o,s:i,s:i}", "a", addrs, "eps", eps, "port",
					      (int)sp->port, "np", (int)sp->node_port));
		free(key);
	}
	const char *k;
	json_t *cur;
	json_object_foreach(now, k, cur)
	{
		json_t *old = json_object_get(p->udp_prev, k);
		json_t *neweps = json_object_get(cur, "eps");
		if (!json_array_size(neweps))
			continue; /* nothing to send to yet: a flow now would be refused anyway */
		/* Entries to delete: for a Service that had no endpoint, every flow to its
		 * addresses; otherwise flows DNATed to endpoints now gone. */
		json_t *gone = json_array();
		bool had_none = !old || !json_array_size(json_object_get(old, "eps"));
		size_t j;
		json_t *e;
		if (!had_none) {
			json_array_foreach(json_object_get(old, "eps"), j, e)
			{
				bool still = false;
				size_t q;
				json_t *x;
				json_array_foreach(neweps, q, x) still = still || json_equal(x, e);
				if (!still)
					json_array_append(gone, e);
			}
			if (!json_array_size(gone)) {
				json_decref(gone);
				continue;
			}
		}
		int port = (int)json_integer_value(json_object_get(cur, "port"));
		int np = (int)json_integer_value(json_object_get(cur, "np"));
		size_t g;
		json_t *ge;
		for (size_t r = 0; r < (had_none ? 1 : json_array_size(gone)); r++) {
			struct proxy_ct_match base = {0};
			if (!had_none) {
				ge = json_array_get(gone, r);
				char tmp[IP_STRLEN + 8];
				snprintf(tmp, sizeof(tmp), "%s", json_string_value(ge));
				char *bar = strchr(tmp, '|');
				if (!bar)
					continue;
				*bar = 0;
				if (ip_parse(tmp, &base.ep) != 0)
					continue;
				base.ep_port = (uint16_t)atoi(bar + 1);
				base.by_ep = true;
			}
			json_array_foreach(json_object_get(cur, "a"), g, ge)
			{
				struct proxy_ct_match x = base;
				if (ip_parse(json_string_value(ge), &x.dst) != 0)
					continue;
				x.dport = (uint16_t)port;
				*vec_push(&mt) = x;
			}
			if (np) {
				struct proxy_ct_match x = base;
				x.any_dst = true;
				x.dport = (uint16_t)np;
				*vec_push(&mt) = x;
			}
		}
		json_decref(gone);
	}
	if (mt.len) {
		size_t by_family[2] = {0};
		int d = proxy_ct_delete_udp(mt.v, mt.len, by_family);
		if (d < 0)
			log_warn("proxy: conntrack cleanup: %s", strerror(-d));
		else if (d) {
			log_info("proxy: deleted %d stale UDP conntrack entr%s", d, d == 1 ? "y" : "ies");
			pthread_mutex_lock(&M.mu);
			M.ct_deleted[0] += by_family[0];
			M.ct_deleted[1] += by_family[1];
			pthread_mutex_unlock(&M.mu);
		}
	}
	vec_free(&mt);
	if (keys) {
		/* Only these Services were looked at: keep the others' state. */
		json_t *next = p->udp_prev ? json_copy(p->udp_prev) : json_object();
		const char *g;
		json_t *gv;
		void *tmp;
		json_object_foreach_safe(next, tmp, g, gv)
		{
			const char *s1 = strchr(g, '/');
			const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
			if (!s2)
				continue;
			char *sk = xstrndup(g, (size_t)(s2 - g));
			if (json_object_get(keys, sk))
				json_object_del(next, g);
			free(sk);
		}
		json_object_update(next, now);
		json_decref(now);
		now = next;
	}
	json_decref(p->udp_prev);
	p->udp_prev = now;
}

/* The per-Service maps a sync keeps ("ns/name" -> array): a full sync (keys NULL) starts
 * map over, a partial one forgets only the Services it syncs. */
static void svc_map_reset(json_t *map, const json_t *keys)
{
	const char *k;
	json_t *kv;
	if (!keys)
		json_object_clear(map);
	else
		json_object_foreach((json_t *)keys, k, kv) json_object_del(map, k);
}

/* The array of sp's Service in map, created empty (borrowed). */
static json_t *svc_map_array(json_t *map, const struct proxy_svcport *sp)
{
	char *key = xasprintf("%s/%s", sp->ns, sp->name);
	json_t *a = json_object_get(map, key);
	if (!a) {
		a = json_array();
		json_object_set_new(map, key, a);
	}
	free(key);
	return a;
}

/* Counts the service ports with a Local traffic policy and no endpoint to use, as
 * kube-proxy does for kubeproxy_sync_proxy_rules_no_local_endpoints_total: internal,
 * internalTrafficPolicy Local without a cluster endpoint (they are all local then);
 * external, externalTrafficPolicy Local without a local one. A partial sync (keys)
 * recounts only its Services; *internal and *external get the totals. */
static void no_local_count(struct proxy *p, const struct proxy_model *m, const json_t *keys, size_t *internal,
			   size_t *external)
{
	svc_map_reset(p->no_local, keys);
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svcport *sp = &m->ports[i];
		bool in = sp->itp_local && !sp->n_cluster, ex = sp->etp_local && !sp->n_local;
		if (!in && !ex)
			continue;
		json_array_append_new(svc_map_array(p->no_local, sp), json_pack("[ii]", in, ex));
	}
	const char *k;
	json_t *kv, *e;
	size_t j;
	*internal = *external = 0;
	json_object_foreach(p->no_local, k, kv)
	{
		json_array_foreach(kv, j, e)
		{
			*internal += (size_t)json_integer_value(json_array_get(e, 0));
			*external += (size_t)json_integer_value(json_array_get(e, 1));
		}
	}
}

/* Publishes the health-check ports (etp Local Services) to the hc thread. */
static void hc_publish(struct proxy *p, const struct proxy_model *m, const json_t *keys)
{
	const char *k;
	json_t *kv;
	svc_map_reset(p->hc_by_svc, keys);
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svcport *sp = &m->ports[i];
		if (!sp->hc_node_port)
			continue;
		/* kube-proxy counts the node's ready endpoints of the Service. */
		size_t local = 0;
		for (size_t e = 0; e < sp->n_eps; e++)
			local += sp->eps[e].local && sp->eps[e].ready;
		json_array_append_new(svc_map_array(p->hc_by_svc, sp),
				      json_pack("[iI]", (int)sp->hc_node_port, (json_int_t)local));
	}
	VEC(struct hc_port) v = {0};
	json_object_foreach(p->hc_by_svc, k, kv)
	{
		size_t j;
		json_t *e;
		json_array_foreach(kv, j, e)
		{
			uint16_t port = (uint16_t)json_integer_value(json_array_get(e, 0));
			size_t local = (size_t)json_integer_value(json_array_get(e, 1));
			size_t q;
			for (q = 0; q < v.len && v.v[q].port != port; q++)
				;
			if (q == v.len) {
				struct hc_port *h = vec_push(&v);
				h->port = port;
				h->fd = -1;
				const char *slash = strchr(k, '/');
				snprintf(h->ns, sizeof(h->ns), "%.*s", slash ? (int)(slash - k) : 0, k);
				snprintf(h->name, sizeof(h->name), "%s", slash ? slash + 1 : k);
			}
			if (local > v.v[q].local)
				v.v[q].local = local;
		}
	}
	pthread_mutex_lock(&p->hmu);
	/* Keep the sockets of ports that stay. */
	for (size_t i = 0; i < v.len; i++)
		for (size_t j = 0; j < p->n_hc; j++)
			if (p->hc[j].port == v.v[i].port && p->hc[j].fd >= 0) {
				v.v[i].fd = p->hc[j].fd;
				p->hc[j].fd = -1;
			}
	for (size_t j = 0; j < p->n_hc; j++)
		if (p->hc[j].fd >= 0)
			close(p->hc[j].fd);
	free(p->hc);
	p->hc = v.v;
	p->n_hc = v.len;
	pthread_mutex_unlock(&p->hmu);
	uint64_t one = 1;
	if (write(p->hefd, &one, sizeof(one)) < 0) {
		/* the hc thread wakes within its poll timeout anyway */
	}
}

/* A Warning event on each Service whose svcplane.io/scheduler annotation names no
 * scheduler (bad: [{"namespace", "name", "value"}], reported once per value by
 * uproxy_sync); rr is used meanwhile. */
static void scheduler_warnings(struct proxy *p, const json_t *svcs, const json_t *bad)
{
	size_t i, k;
	json_t *b, *o;
	json_array_foreach(bad, i, b)
	{
		const char *ns = json_string_value(json_object_get(b, "namespace"));
		const char *name = json_string_value(json_object_get(b, "name"));
		const char *v = json_string_value(json_object_get(b, "value"));
		log_warn(
		    "proxy: Service %s/%s: %s %s is not a scheduler (rr, lc, dh, sh, sed, nq, mh, random); "
		    "using rr",
		    ns, name, UPROXY_SCHED_ANNOTATION, v);
		json_array_foreach(svcs, k, o)
		{
			if (strcmp(md(o, "namespace") ?: "", ns) || strcmp(md(o, "name") ?: "", name))
				continue;
			char *msg =
			    xasprintf("annotation %s: \"%s\" is not one of rr, lc, dh, sh, sed, nq, mh, "
				      "random; using rr",
				      UPROXY_SCHED_ANNOTATION, v);
			json_t *ev = api_event_new(o, "Service", NULL, "kube-proxy", p->node_name, "Warning",
						   "UnknownScheduler", msg);
			free(msg);
			char *body = json_dumps(ev, JSON_COMPACT);
			char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
			char e[256];
			long status = 0;
			char *resp = NULL;
			if (!p->evcl)
				p->evcl = client_new(&p->cfg, 10000);
			if (client_request(p->evcl, "POST", path, "application/json", body, NULL, &status,
					   &resp, NULL, e, sizeof(e)) < 0 ||
			    status >= 300)
				log_warn("proxy: posting the event on %s/%s: %s (HTTP %ld)", ns, name, e,
					 status);
			free(resp);
			free(path);
			free(body);
			json_decref(ev);
		}
	}
}

/* One sync: of every Service when keys is NULL, else of the Services in keys (an object
 * "ns/name" -> true). */
static int sync_once(struct proxy *p, const json_t *keys, double since)
{
	double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	if (keys && (p->ipt || p->up || proxy_nft_needs_full(p->nft)))
		keys = NULL; /* iptables diffs whole chains per sync; nft needs a base first */
	json_t *svcs, *sls, *karr = json_array();
	if (!keys) {
		svcs = informer_list(p->svcs, NULL);
		sls = informer_list(p->slices, NULL);
	} else {
		svcs = json_array();
		sls = json_array();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)keys, k, v)
		{
			json_array_append_new(karr, json_string(k));
			const char *slash = strchr(k, '/');
			if (!slash)
				continue;
			char *ns = xstrndup(k, (size_t)(slash - k));
			json_t *o = informer_get(p->svcs, ns, slash + 1);
			free(ns);
			if (o)
				json_array_append_new(svcs, o);
			json_t *l = informer_list_index(p->slices, k);
			json_array_extend(sls, l);
			json_decref(l);
		}
	}
	struct proxy_model m;
	proxy_model_build(svcs, sls, p->node_name, &m);
	char err[512] = "";
	int rc;
	size_t elements = 0, chains = 0, ipt_rules[2][N_IPT_TABLES] = {{0}};
	if (p->nft) {
		json_t *want = keys ? proxy_nft_desired_services(p->nft, &m, &p->net, karr)
				    : proxy_nft_desired(p->nft, &m, &p->net);
		struct proxy_nft_result r;
		rc = keys ? proxy_nft_sync_services(p->nft, want, &r, err, sizeof(err))
			  : proxy_nft_sync(p->nft, want, &r, err, sizeof(err));
		json_decref(want);
		elements = r.elements;
		chains = r.chains;
		if (r.groups_changed)
			log_debug("proxy: nft sync: %zu group(s) changed, %zu failed, %zu bytes",
				  r.groups_changed, r.groups_failed, r.script_bytes);
	} else if (p->up) {
		json_t *bad = json_array();
		rc = uproxy_sync(p->up, &m, svcs, bad, err, sizeof(err));
		scheduler_warnings(p, svcs, bad);
		json_decref(bad);
	} else {
		size_t rules = 0;
		rc = proxy_ipt_sync(p->ipt, &m, &p->net, &rules, &chains, err, sizeof(err));
		elements = rules;
		for (int f = 0; f < 2; f++)
			for (int t = 0; t < N_IPT_TABLES; t++)
				ipt_rules[f][t] = proxy_ipt_rules(p->ipt, f ? 6 : 4, ipt_tables[t]);
	}
	if (rc < 0)
		log_warn("proxy: sync: %s", err);
	if (!atomic_load(&p->synced_once)) {
		p->first_rc = rc;
		snprintf(p->first_err, sizeof(p->first_err), "%s", err);
	}
	if (!p->up)
		udp_cleanup(p, &m, keys); /* the userspace mode's redirects never go stale */
	hc_publish(p, &m, keys);
	size_t no_local_int, no_local_ext;
	no_local_count(p, &m, keys, &no_local_int, &no_local_ext);
	double t1 = now_s(CLOCK_MONOTONIC), wall = now_s(CLOCK_REALTIME), c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
	pthread_mutex_lock(&M.mu);
	M.ran = true;
	hist_add(&M.sync, sync_buckets, t1 - t0);
	hist_add(keys ? &M.partial : &M.full, sync_buckets, t1 - t0);
	if (rc == 0)
		M.last_ts = wall;
	else
		M.failures++;
	M.elements = elements;
	M.chains = chains;
	memcpy(M.ipt_rules, ipt_rules, sizeof(M.ipt_rules));
	M.no_local_int = no_local_int;
	M.no_local_ext = no_local_ext;
	/* Network programming latency: from each slice's trigger time to now, once per
	 * trigger time we have not seen (kept in the model's svcport). */
	for (size_t i = 0; i < m.n; i++) {
		const char *tt = m.ports[i].trigger_time;
		if (!tt)
			continue;
		double t = rfc3339(tt);
		if (t > 0 && wall - t < 3600 && wall >= t) {
			/* Count a trigger the first time it is programmed; those of the
			 * first sync happened before we started. */
			char *k = xasprintf("%s/%s", m.ports[i].ns, m.ports[i].name);
			json_t *was = json_object_get(p->npl_seen, k);
			if (!was || strcmp(json_string_value(was), tt)) {
				json_object_set_new(p->npl_seen, k, json_string(tt));
				if (atomic_load(&p->synced_once) && rc == 0) {
					hist_add(&M.npl, npl_buckets, wall - t);
					log_debug(
					    "proxy: %s network programming latency %.3f ms (event to "
					    "kernel %.3f ms: queued %.3f, sync %.3f, cpu %.3f; trigger %s)",
					    k, (wall - t) * 1e3, (t1 - since) * 1e3, (t0 - since) * 1e3,
					    (t1 - t0) * 1e3, (c1 - c0) * 1e3, tt);
				}
			}
			free(k);
		}
	}
	pthread_mutex_unlock(&M.mu);
	proxy_model_fini(&m);
	json_decref(svcs);
	json_decref(sls);
	json_decref(karr);
	return rc;
}

/* After a sync: schedules the retry of a refused one (kube-proxy retries a failed sync
 * too, as a full one). Only a full sync that succeeds clears it: a partial one that
 * succeeds did not touch what was refused. */
static void retry_schedule(struct proxy *p, int rc, bool full)
{
	if (rc == 0) {
		if (full)
			p->retry_ms = p->retry_at = 0;
		return;
	}
	p->retry_ms = p->retry_ms ? p->retry_ms * 2 : 1000;
	if (p->retry_ms > PROXY_RETRY_MAX_MS)
		p->retry_ms = PROXY_RETRY_MAX_MS;
	/* A retry already due sooner stays (refusals that keep coming must not put it off). */
	int64_t at = clock_mono_ms() + p->retry_ms;
	if (!p->retry_at || at < p->retry_at)
		p->retry_at = at;
	log_info("proxy: retrying the refused sync in %lld ms, as a full sync",
		 (long long)(p->retry_at - clock_mono_ms()));
}

static void gc(struct proxy *p)
{
	char err[512];
	if (p->nft && proxy_nft_gc_pending(p->nft) && proxy_nft_gc(p->nft, err, sizeof(err)) < 0)
		log_warn("proxy: deleting old endpoint elements: %s", err);
}

static void *sync_main(void *arg)
{
	struct proxy *p = arg;
	/* A change's path through this process (informer threads, this one) runs before the
	 * node's other work: on a busy node, the wait for a core was most of a change's
	 * latency (bench/RESULTS.md). Without the privilege, the default priority. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), PROXY_NICE) < 0)
		log_debug("proxy: sync thread nice %d: %s", PROXY_NICE, strerror(errno));
	while (!atomic_load(&p->stop)) {
		pthread_mutex_lock(&p->mu);
		int64_t idle_from = clock_mono_ms();
		while (!p->dirty && !atomic_load(&p->stop)) {
			int64_t now = clock_mono_ms();
			if (p->retry_at && now >= p->retry_at)
				break;
			/* Idle: old endpoint elements go after 200 ms without changes. */
			bool pending = p->nft && proxy_nft_gc_pending(p->nft);
			int64_t wait_ms = pending ? idle_from + 200 - now : 1000;
			if (p->retry_at && p->retry_at - now < wait_ms)
				wait_ms = p->retry_at - now;
			struct timespec ts = clock_mono_deadline(wait_ms > 0 ? wait_ms : 0);
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
			if (pending && !p->dirty && clock_mono_ms() - idle_from >= 200) {
				pthread_mutex_unlock(&p->mu);
				gc(p);
				pthread_mutex_lock(&p->mu);
			}
		}
		/* A refused sync's retry is due: all of it again, with or without a change
		 * (checked here too, so steady changes cannot put it off). */
		if (p->retry_at && clock_mono_ms() >= p->retry_at) {
			p->retry_at = 0;
			if (!p->dirty)
				p->dirty_since = now_s(CLOCK_MONOTONIC);
			p->dirty = p->full = true;
		}
		p->dirty = false;
		bool full = p->full;
		double since = p->dirty_since;
		json_t *keys = p->dirty_keys;
		p->dirty_keys = json_object();
		p->full = false;
		pending_clear(p);
		pthread_mutex_unlock(&p->mu);
		if (atomic_load(&p->stop)) {
			json_decref(keys);
			break;
		}
		retry_schedule(p, sync_once(p, full ? NULL : keys, since), full);
		json_decref(keys);
		/* Under a steady stream of changes, bound the garbage. */
		if (p->nft && proxy_nft_gc_pending(p->nft) > 20000)
			gc(p);
	}
	return NULL;
}

/* ---- healthCheckNodePort --------------------------------------------------------- */

static int hc_listen(uint16_t port)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	if (fd >= 0) {
		struct sockaddr_in6 a = {
		    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 64) == 0)
			return fd;
		close(fd);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0 || listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Answers one request as kube-proxy's health-check server does: 200 with the node's
 * local endpoint count when it has one, 503 otherwise. */
static void hc_answer(int cfd, const struct hc_port *h)
{
	struct pollfd pf = {.fd = cfd, .events = POLLIN};
	char req[2048];
	size_t got = 0;
	/* Read the request head, bounded by size and 1 s. */
	while (got < sizeof(req) - 1 && poll(&pf, 1, 1000) == 1) {
		ssize_t r = read(cfd, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	char body[700], resp[1024];
	int bl = snprintf(body, sizeof(body),
			  "{\n\t\"service\": {\n\t\t\"namespace\": \"%s\",\n\t\t\"name\": \"%s\"\n\t},\n\t"
			  "\"localEndpoints\": %zu,\n\t\"serviceProxyHealthy\": true\n}\n",
			  h->ns, h->name, h->local);
	int rl = snprintf(
	    resp, sizeof(resp),
	    "HTTP/1.1 %s\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
	    "X-Load-Balancing-Endpoint-Weight: %zu\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
	    h->local ? "200 OK" : "503 Service Unavailable", h->local, bl, body);
	if (rl > 0 && write(cfd, resp, (size_t)rl) < 0) {
		/* the client went away */
	}
	close(cfd);
}

static void *hc_main(void *arg)
{
	struct proxy *p = arg;
	while (!atomic_load(&p->stop)) {
		struct pollfd pf[65];
		uint16_t ports[65];
		size_t n = 0;
		pf[n].fd = p->hefd;
		pf[n].events = POLLIN;
		ports[n++] = 0;
		pthread_mutex_lock(&p->hmu);
		for (size_t i = 0; i < p->n_hc && n < 65; i++) {
			if (p->hc[i].fd < 0) {
				int fd = hc_listen(p->hc[i].port);
				if (fd < 0) {
					log_warn("proxy: healthCheckNodePort %u: %s", p->hc[i].port,
						 strerror(-fd));
					p->hc[i].fd = -2; /* do not retry every loop */
					continue;
				}
				p->hc[i].fd = fd;
			}
			if (p->hc[i].fd >= 0) {
				pf[n].fd = p->hc[i].fd;
				pf[n].events = POLLIN;
				ports[n++] = p->hc[i].port;
			}
		}
		pthread_mutex_unlock(&p->hmu);
		if (poll(pf, n, 500) <= 0)
			continue;
		if (pf[0].revents) {
			uint64_t v;
			if (read(p->hefd, &v, sizeof(v)) < 0) {
				/* nothing pending */
			}
		}
		for (size_t i = 1; i < n; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			int cfd = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd < 0)
				continue;
			struct hc_port h = {0};
			pthread_mutex_lock(&p->hmu);
			for (size_t j = 0; j < p->n_hc; j++)
				if (p->hc[j].port == ports[i])
					h = p->hc[j];
			pthread_mutex_unlock(&p->hmu);
			hc_answer(cfd, &h);
		}
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void *informer_free_main(void *inf)
{
	informer_free(inf);
	return NULL;
}

static void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	pthread_mutex_lock(&p->mu);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	uint64_t one = 1;
	if (p->hefd >= 0 && write(p->hefd, &one, sizeof(one)) < 0) {
		/* the hc thread sees stop within its poll timeout */
	}
	/* The two informers stop in parallel (each takes up to a second to notice), so the
	 * agent's shutdown stays within its bound. */
	pthread_t ft;
	bool par = p->slices && pthread_create(&ft, NULL, informer_free_main, p->slices) == 0;
	if (p->th_started)
		pthread_join(p->th, NULL);
	if (p->hth_started)
		pthread_join(p->hth, NULL);
	informer_free(p->svcs);
	if (par)
		pthread_join(ft, NULL);
	else
		informer_free(p->slices);
	proxy_nft_free(p->nft);
	proxy_ipt_free(p->ipt);
	pthread_mutex_lock(&M.mu);
	if (M.up == p->up)
		M.up = NULL;
	pthread_mutex_unlock(&M.mu);
	uproxy_free(p->up);
	client_free(p->evcl);
	for (size_t i = 0; i < p->n_hc; i++)
		if (p->hc[i].fd >= 0)
			close(p->hc[i].fd);
	free(p->hc);
	if (p->hefd >= 0)
		close(p->hefd);
	json_decref(p->udp_prev);
	json_decref(p->npl_seen);
	json_decref(p->dirty_keys);
	json_decref(p->pending[CHANGE_SERVICE]);
	json_decref(p->pending[CHANGE_ENDPOINTS]);
	json_decref(p->no_local);
	json_decref(p->hc_by_svc);
	client_config_fini(&p->cfg);
	free(p->net.nodeport_cidrs);
	free(p->node_name);
	free(p->mode);
	free(p->table);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->hmu);
	free(p);
}

static void write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, v, strlen(v)) < 0)
		log_warn("proxy: %s: %s", path, strerror(errno));
	close(fd);
}

int proxy_start(const struct proxy_config *c, struct proxy **out, char *err, size_t errlen)
{
	const char *mode = c->mode ? c->mode : "nftables";
	if (strcmp(mode, "nftables") && strcmp(mode, "iptables") && strcmp(mode, "userspace")) {
		snprintf(err, errlen, "proxy mode %s is not in this build (nftables, iptables, userspace)",
			 mode);
		return -ENOTSUP;
	}
	if (!c->node_name || !*c->node_name) {
		snprintf(err, errlen, "proxy: the node name is required");
		return -EINVAL;
	}
	struct proxy *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	clock_cond_init_mono(&p->cv);
	pthread_mutex_init(&p->hmu, NULL);
	p->hefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->npl_seen = json_object();
	p->dirty_keys = json_object();
	p->pending[CHANGE_SERVICE] = json_object();
	p->pending[CHANGE_ENDPOINTS] = json_object();
	p->no_local = json_object();
	p->hc_by_svc = json_object();
	p->full = true;
	client_config_copy(&p->cfg, c->cfg);
	p->node_name = xstrdup(c->node_name);
	p->mode = xstrdup(mode);
	p->table = c->table ? xstrdup(c->table) : NULL;
	p->net = c->net;
	if (c->net.n_nodeport_cidrs) {
		p->net.nodeport_cidrs = xcalloc(c->net.n_nodeport_cidrs, sizeof(struct cidr));
		memcpy(p->net.nodeport_cidrs, c->net.nodeport_cidrs,
		       c->net.n_nodeport_cidrs * sizeof(struct cidr));
	}
	pthread_mutex_lock(&M.mu);
	M.mode = !strcmp(mode, "iptables")    ? "iptables"
		 : !strcmp(mode, "userspace") ? "userspace"
					      : "nftables";
	pthread_mutex_unlock(&M.mu);
	/* Node ports on 127.0.0.1 need the kernel to route loopback-sourced packets. */
	if (p->net.localhost_nodeports)
		write_sysctl("/proc/sys/net/ipv4/conf/all/route_localnet", "1");
	if (!strcmp(mode, "nftables")) {
		p->nft = proxy_nft_new(p->table, false);
	} else if (!strcmp(mode, "userspace")) {
		struct uproxy_config uc = {.table = c->table};
		int urc = uproxy_new(&uc, &p->up, err, errlen);
		if (urc < 0) {
			proxy_free(p);
			return urc;
		}
		pthread_mutex_lock(&M.mu);
		M.up = p->up;
		pthread_mutex_unlock(&M.mu);
	} else {
		p->ipt = proxy_ipt_new(p->table, false);
	}
	struct informer_handlers hs = {
	    .on_add = svc_add, .on_update = svc_update, .on_delete = svc_add, .on_synced = on_synced};
	struct informer_handlers he = {
	    .on_add = slice_add, .on_update = slice_update, .on_delete = slice_add, .on_synced = on_synced};
	p->svcs = informer_new(&p->cfg, "/api/v1/services", &hs, p);
	p->slices = informer_new(&p->cfg, "/apis/discovery.k8s.io/v1/endpointslices", &he, p);
	informer_set_index(p->slices, slice_index);
	informer_set_nice(p->svcs, PROXY_NICE);
	informer_set_nice(p->slices, PROXY_NICE);
	informer_set_resync(p->svcs, INFORMER_RESYNC_PROXY_MS, 0);
	informer_set_resync(p->slices, INFORMER_RESYNC_PROXY_MS, 0);
	informer_set_transform(p->slices, api_endpointslice_compact, API_ENDPOINTSLICE_COMPACT_TAG);
	informer_start(p->svcs);
	informer_start(p->slices);
	int rc = 0;
	if (!informer_wait_synced(p->svcs, 10000) || !informer_wait_synced(p->slices, 10000)) {
		snprintf(err, errlen, "proxy: informers did not sync within 10 s");
		rc = -ETIMEDOUT;
		goto fail;
	}
	/* The first sync in the caller's thread: traffic flows when we return. */
	pthread_mutex_lock(&p->mu);
	p->dirty = p->full = false;
	json_object_clear(p->dirty_keys);
	pending_clear(p);
	pthread_mutex_unlock(&p->mu);
	/* Before the sync thread starts: its retry state is still ours to set. */
	retry_schedule(p, sync_once(p, NULL, now_s(CLOCK_MONOTONIC)), true);
	atomic_store(&p->synced_once, 1);
	if (p->first_rc < 0)
		log_warn("proxy: first sync incomplete: %s", p->first_err);
	if ((rc = pthread_create(&p->th, NULL, sync_main, p)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "proxy: starting the sync thread: %s", strerror(-rc));
		goto fail;
	}
	p->th_started = true;
	if ((rc = pthread_create(&p->hth, NULL, hc_main, p)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "proxy: starting the health-check thread: %s", strerror(-rc));
		goto fail;
	}
	p->hth_started = true;
	*out = p;
	return 0;
fail:
	proxy_free(p);
	return rc;
}

void proxy_stop(struct proxy *p)
{
	proxy_free(p);
}

int proxy_cleanup(char *err, size_t errlen)
{
	int rc = proxy_nft_cleanup(NULL, err, errlen);
	char e2[256];
	int rc2 = proxy_ipt_cleanup(NULL, e2, sizeof(e2));
	if (rc == 0 && rc2 < 0) {
		snprintf(err, errlen, "%s", e2);
		rc = rc2;
	}
	rc2 = uproxy_cleanup(e2, sizeof(e2));
	if (rc == 0 && rc2 < 0) {
		snprintf(err, errlen, "%s", e2);
		rc = rc2;
	}
	return rc;
}

int proxy_nodeport_addresses_parse(const char *s, struct cidr **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	char *copy = xstrdup(s), *save = NULL;
	VEC(struct cidr) v = {0};
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct cidr c;
		char e[128];
		if (!strchr(t, '/')) {
			if (ip_parse(t, &c.net) != 0) {
				snprintf(err, errlen, "%s is not an IP address or CIDR", t);
				goto bad;
			}
			c.bits = c.net.family == 4 ? 32 : 128;
		} else if (cidr_parse(t, &c, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: %s", t, e);
			goto bad;
		}
		*vec_push(&v) = c;
	}
	free(copy);
	*out = v.v;
	return (int)v.len;
bad:
	free(copy);
	vec_free(&v);
	return -EINVAL;
}
