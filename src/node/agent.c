/* agent.c - the node agent's loop and wiring: start-up (Node registration, informers,
 * re-adoption, the writer thread, node services), the loop that drives the parts, and
 * shutdown. See agent.h for the loop and the invariants, podctx.h for how the parts
 * (pods.c, podnet.c, prober.c, status.c, writer.c) share the agent's state. Everything
 * below the informer handlers runs on the agent thread only.
 */
#include "node/agent.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
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
#include <unistd.h>

#include "api/object.h"
#include "base/cidr.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "dns/server.h"
#include "node/lbannounce.h"
#include "ingress/proxy.h"
#include "node/logsrv.h"
#include "node/nodecert.h"
#include "node/masq.h"
#include "node/netlink.h"
#include "node/podctx.h"
#include "node/podnet.h"
#include "node/pods.h"
#include "node/prober.h"
#include "node/runtime.h"
#include "node/status.h"
#include "node/volumes.h"
#include "node/objcache.h"
#include "node/satokens.h"
#include "node/writer.h"
#include "proxy/proxy.h"

#define MAX_POLL_MS 1000
#define MAX_PROBE_FDS 256

/* ---- informer handlers (informer threads) ---- */

static void wake(struct node_agent *a)
{
	uint64_t one = 1;
	if (write(a->efd, &one, sizeof(one)) < 0) {
		/* The counter is saturated only if nobody reads: the loop is waking anyway. */
	}
}

/* The token worker's and the ConfigMap/Secret reader's news (node/satokens.h,
 * node/objcache.h: a change may let a pod's container start), from their threads. */
static void worker_changed(void *ud)
{
	wake(ud);
}

static void pods_changed(void *ud)
{
	struct node_agent *a = ud;
	atomic_store(&a->dirty_pods, 1);
	wake(a);
}

static void pod_add(void *ud, const json_t *o)
{
	(void)o;
	pods_changed(ud);
}

static void pod_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	(void)o;
	pods_changed(ud);
}

static void nodes_changed(void *ud)
{
	struct node_agent *a = ud;
	atomic_store(&a->dirty_nodes, 1);
	wake(a);
}

static void node_add(void *ud, const json_t *o)
{
	(void)o;
	nodes_changed(ud);
}

static void node_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	(void)o;
	nodes_changed(ud);
}

/* ---- node services ----
 *
 * Services the node runs beside its pods, fed by their own informers: the Service proxy
 * (src/proxy/) and the DNS server (src/dns/). They start once the Node is registered and
 * the agent's informers have synced (so the node's podCIDRs and addresses are known),
 * before the loop runs, and stop first at shutdown (node_agent_stop, and agent_free after a
 * failed start: a stop must accept a service that never started or already stopped, and
 * clear what it freed). Their state hangs off struct node_agent (podctx.h); their threads are
 * their own, never the agent loop's.
 *
 * To add one: a field in struct node_agent, one call in each function below, in start order
 * (stop in reverse). A service that fails to start fails node_agent_start with its reason. */
/* The Service proxy for this node; NULL (logged) when it cannot run: pods still do. */
static struct proxy *agent_proxy_start(struct node_agent *a, const struct node_agent_opts *o)
{
	struct proxy_config pc = {
	    .cfg = &a->cfg, .node_name = a->node_name, .mode = o->proxy_mode, .node_ips = a->node_ip};
	char err[512] = "";
	struct cidr *np = NULL;
	pc.net.localhost_nodeports = true;
	if (o->cluster_cidr) {
		char *copy = xstrdup(o->cluster_cidr), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t && pc.net.n_cluster_cidrs < 2;
		     t = strtok_r(NULL, ",", &save))
			if (cidr_parse(t, &pc.net.cluster_cidrs[pc.net.n_cluster_cidrs], err, sizeof(err)) ==
			    0)
				pc.net.n_cluster_cidrs++;
		free(copy);
	}
	if (o->proxy_local_dns && ip_parse(o->proxy_local_dns, &pc.net.local_dns[0]) == 0)
		pc.net.n_local_dns = 1;
	int n = proxy_nodeport_addresses_parse(o->nodeport_addresses, &np, err, sizeof(err));
	if (n > 0) {
		pc.net.nodeport_cidrs = np;
		pc.net.n_nodeport_cidrs = (size_t)n;
	}
	struct proxy *p = NULL;
	if (proxy_start(&pc, &p, err, sizeof(err)) < 0)
		log_warn("agent: no Service proxy: %s", err);
	free(np);
	return p;
}

/* Cluster DNS for this node's pods (the logic is dns/server.c): the nameserver defaults
 * to the kube-dns Service's cluster IP, which goes on "lo" so that pods reach a server
 * on this node without a proxy. A node where it cannot serve (port taken) logs why and
 * runs without. */
static void agent_dns_start(struct node_agent *a, const struct node_agent_opts *o)
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
	/* The kube-dns endpoints are the nodes' InternalIPs of the Service's families
	 * (controller/dnsep.h): serve on the node's IPv6 address too. */
	const char *listen[] = {a->cluster_dns, a->node_ip, a->node_ip6, NULL},
		   *ips[] = {a->cluster_dns, NULL};
	struct dns_server_opts d = {.cfg = &a->cfg,
				    .zone = a->cluster_domain,
				    .listen = listen,
				    .upstreams = o->dns_upstreams,
				    .dns_ips = ips,
				    .ttl = o->dns_ttl,
				    .ttl_set = o->dns_ttl_set};
	char err[256];
	if (dns_server_start(&d, &a->dns, err, sizeof(err)) < 0)
		log_warn("agent: no cluster DNS on this node: %s", err);
}

/* The Ingress controller (ingress/proxy.c) on the node's addresses, ports 80 and 443 by
 * default. A node where it cannot listen (port taken) logs why and runs without. */
static void agent_ingress_start(struct node_agent *a, const struct node_agent_opts *o)
{
	if (o->ingress_disable)
		return;
	char *addrs = o->ingress_addresses ? xstrdup(o->ingress_addresses)
		      : a->node_ip6	   ? xasprintf("%s,%s", a->node_ip, a->node_ip6)
					   : xstrdup(a->node_ip);
	const char *listen[8] = {0};
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(addrs, ",", &save); t && n < 7; t = strtok_r(NULL, ",", &save))
		listen[n++] = t;
	struct ing_proxy_opts io = {.cfg = &a->cfg,
				    .listen = listen,
				    .http_port = o->ingress_http_port,
				    .https_port = o->ingress_https_port};
	char err[256] = "";
	if (ing_proxy_start(&io, &a->ingress, err, sizeof(err)) < 0)
		log_warn("agent: no Ingress controller on this node: %s", err);
	else
		log_info("agent: Ingress controller on ports %d and %d", ing_proxy_http_port(a->ingress),
			 ing_proxy_https_port(a->ingress));
	free(addrs);
}

static int node_services_start(struct node_agent *a, const struct node_agent_opts *o, char *err,
			       size_t errlen)
{
	agent_dns_start(a, o);
	agent_ingress_start(a, o);
	/* With DNS served here, the proxy leaves local pods' port 53 to the cluster DNS
	 * address to this node (NOTRACK) instead of balancing it over every node. A proxy
	 * that cannot run (no nftables, say) is logged, and pods still run. */
	struct node_agent_opts po = *o;
	if (a->dns && !po.proxy_local_dns)
		po.proxy_local_dns = a->cluster_dns;
	a->proxy = agent_proxy_start(a, &po);
	/* The node Lease and LoadBalancer announcement: a node that cannot renew its Lease
	 * is not alive to the others, so this one fails the start. */
	struct node_lb_opts lo = {.cfg = &a->cfg,
				  .node_name = a->node_name,
				  .node_ip = a->node_ip,
				  .iface = o->lb_interface,
				  .lease_duration_s = o->node_lease_duration_s};
	return node_lb_start(&lo, &a->lb, err, errlen);
}

static void node_services_stop(struct node_agent *a)
{
	node_lb_stop(a->lb);
	a->lb = NULL;
	ing_proxy_stop(a->ingress);
	a->ingress = NULL;
	proxy_stop(a->proxy);
	a->proxy = NULL;
	dns_server_stop(a->dns);
	a->dns = NULL;
}

/* ---- the loop ---- */

static void *agent_main(void *arg)
{
	struct node_agent *a = arg;
	struct pollfd fds[2 + MAX_PROBE_FDS];
	int timeout = 0;
	while (!atomic_load(&a->stop)) {
		fds[0] = (struct pollfd){.fd = a->sfd, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = a->efd, .events = POLLIN};
		size_t nfds = 2;
		int64_t next = node__now_ms() + MAX_POLL_MS;
		/* Probes first: their fds belong in this poll. */
		for (struct apod *p = a->list; p; p = p->next) {
			int64_t n = node__probes_step(a, p, fds, &nfds, sizeof(fds) / sizeof(fds[0]));
			if (n < next)
				next = n;
		}
		for (struct apod *p = a->list; p; p = p->next) {
			node__pod_report(a, p);
			int64_t n = node__pod_announce(a, p, node__now_ms());
			if (n < next)
				next = n;
		}
		int64_t rt_next = -1;
		node_rt_sync(a->rt, &rt_next);
		int64_t now = node__now_ms();
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
			node__nodes_reconcile(a);
		/* Pods every pass: cheap, and it also drives retries and grace periods. */
		atomic_store(&a->dirty_pods, 0);
		node__pods_reconcile(a);
		node_rt_sync(a->rt, NULL);
		node__exec_publish(a);
		node__node_heartbeat(a, node__now_ms());
		/* After a burst of pod changes the heap holds freed JSON (lists, statuses, API
		 * bodies) in its arenas: hand it back once things have been quiet for a second. */
		size_t npods = 0;
		for (struct apod *p = a->list; p; p = p->next)
			npods++;
		if (npods != a->trim_npods) {
			a->trim_npods = npods;
			a->trim_at_ms = node__now_ms() + 1000;
		} else if (a->trim_at_ms && node__now_ms() >= a->trim_at_ms) {
			a->trim_at_ms = 0;
			malloc_trim(0);
		}
	}
	return NULL;
}

static void agent_free(struct node_agent *a)
{
	node_services_stop(a);
	node_logsrv_stop(a->logsrv);
	node_writer_stop(a->writer); /* tries what is still queued once */
	node_satokens_stop(a->satokens);
	node_objcache_stop(a->objs);
	free(a->ca_pem);
	struct informer *infs[] = {a->pods, a->nodes, a->svcs};
	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++)
		informer_stop(infs[i]); /* all at once: each takes up to a second to notice */
	for (size_t i = 0; i < sizeof(infs) / sizeof(infs[0]); i++)
		informer_free(infs[i]);
	while (a->list) {
		struct apod *p = a->list;
		a->list = p->next;
		node__pod_free(p);
	}
	node_rt_free(a->rt);
	json_decref(a->exec_tab);
	pthread_mutex_destroy(&a->exec_mu);
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

bool node_agent_proxy_mode_valid(const char *s)
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
		if (sscanf(line, "%63s %lx %lx %lx", ifn, &dst, &gw, &flags) == 4 && dst == 0 &&
		    (flags & 1)) {
			snprintf(dev, len, "%s", ifn);
			found = true;
		}
	fclose(f);
	return found;
}

int node_agent_default_node(char *name, size_t nlen, char *ip, size_t iplen, char *err, size_t errlen)
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
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
			    (pass == 0 && strcmp(i->ifa_name, dev)))
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

int node_agent_start(const struct node_agent_opts *o, struct node_agent **out, char *err, size_t errlen)
{
	char *ip = NULL, *ip6 = NULL;
	if (!o->node_name || !*o->node_name || !o->node_ip || parse_node_ips(o->node_ip, &ip, &ip6) < 0) {
		snprintf(err, errlen, "a node name and a node IP address (or \"IPv4,IPv6\") are required");
		return -EINVAL;
	}
	struct node_agent *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->exec_mu, NULL);
	a->efd = a->sfd = -1;
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
	a->host_resolv = node__read_file("/etc/resolv.conf");
	node__host_info(a);
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
	char *npki = xasprintf("%s/pki", a->data_dir);
	node_identity_take(&a->cl, &a->cfg, a->node_name, npki); /* issue 20: the node's own credential */
	free(npki);
	a->writer = node_writer_start(&a->cfg, err, errlen);
	if (!a->writer) {
		rc = -EAGAIN;
		goto fail;
	}
	a->satokens = node_satokens_start(&a->cfg, worker_changed, a, err, errlen);
	a->objs = a->satokens ? node_objcache_start(&a->cfg, worker_changed, a, err, errlen) : NULL;
	if (!a->objs) {
		rc = -EAGAIN;
		goto fail;
	}
	a->ca_pem = a->cfg.ca_pem    ? xstrndup(a->cfg.ca_pem, a->cfg.ca_pem_len)
		    : a->cfg.ca_file ? node__read_file(a->cfg.ca_file)
				     : NULL;
	if (a->kubelet_port >= 0) {
		/* Logs are a convenience: a node whose port is taken still runs its pods. */
		char *pki = xasprintf("%s/pki", a->data_dir), lerr[256] = "";
		if (node_cert_logsrv_start(a->cl, o->cfg, a->node_name, a->node_ip, a->node_ip6,
					   a->kubelet_port, a->log_dir, pki, &a->logsrv, lerr,
					   sizeof(lerr)) < 0)
			log_warn("agent: no log endpoint (kubectl logs will not work for this node): %s",
				 lerr);
		else
			node_logsrv_set_exec(a->logsrv, node__exec_lookup, a);
		free(pki);
	}
	if ((rc = node__node_register(a, err, errlen)) < 0)
		goto fail;
	char *q = client_escape(a->node_name);
	char *path = xasprintf("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", q);
	free(q);
	struct informer_handlers hp = {
	    .on_add = pod_add, .on_update = pod_update, .on_delete = pod_add, .on_synced = pods_changed};
	struct informer_handlers hn = {
	    .on_add = node_add, .on_update = node_update, .on_delete = node_add, .on_synced = nodes_changed};
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
	/* Pods the runtime re-adopted are known before the first reconcile, so a pod the
	 * API deleted while we were down is stopped and torn down there. */
	char **uids = node_rt_pod_list(a->rt);
	for (size_t i = 0; uids && uids[i]; i++) {
		if (!node__pod_find(a, uids[i]))
			node__pod_new(a, uids[i])->hold_ms = node__now_ms() + 5000;
		free(uids[i]);
	}
	free(uids);
	a->next_hb_ms = node__now_ms() + (int64_t)a->heartbeat_s * 1000;
	atomic_store(&a->dirty_nodes, 1);
	node__nodes_reconcile(a);
	if ((rc = node_services_start(a, o, err, errlen)) < 0)
		goto fail;
	if ((rc = pthread_create(&a->th, NULL, agent_main, a)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "starting the agent thread: %s", strerror(-rc));
		goto fail;
	}
	a->th_started = true;
	log_info("agent: node %s (%s) registered; log endpoint %s:%d; proxy mode %s%s", a->node_name,
		 a->node_ip, a->node_ip, a->logsrv ? node_logsrv_port(a->logsrv) : 0,
		 o->proxy_mode ? o->proxy_mode : "nftables", a->proxy ? "" : " (not running)");
	*out = a;
	return 0;
fail:
	agent_free(a);
	return rc;
}

void node_agent_stop(struct node_agent *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, 1);
	wake(a);
	if (a->th_started)
		pthread_join(a->th, NULL);
	node_services_stop(a);
	/* What the loop queued goes out first, so a queued Ready heartbeat cannot land after
	 * the NotReady below. */
	node_writer_stop(a->writer);
	a->writer = NULL;
	node__node_report(a, false, "KubeletNotReady", "svcplane agent stopped", true);
	agent_free(a);
}

int node_agent_cleanup(const char *data_dir, int grace_s, char *err, size_t errlen)
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
	int64_t deadline = node__now_ms() + (int64_t)(grace_s > 0 ? grace_s : 0) * 1000 + 5000;
	for (;;) {
		node_rt_sync(rt, NULL);
		bool all = true;
		for (size_t i = 0; uids && uids[i]; i++)
			all = all && node_rt_pod_stopped(rt, uids[i]);
		if (all || node__now_ms() > deadline)
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
		node__pod_names(&p);
		struct node_agent tmp = {.nl = nl, .ipam_dir = ipam};
		node__podnet_teardown(&tmp, &p);
		free(uids[i]);
	}
	free(uids);
	node_volumes_cleanup(data_dir, NULL, NULL);
	/* Our masquerade table, routes and bridge. */
	char merr[256];
	if (node_masq_cleanup(merr, sizeof(merr)) < 0)
		log_warn("agent cleanup: %s", merr);
	if (proxy_cleanup(merr, sizeof(merr)) < 0)
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
