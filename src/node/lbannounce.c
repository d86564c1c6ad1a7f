/* lbannounce.c - node Lease renewal and layer-2 announcement of LoadBalancer addresses
 * (see lbannounce.h for the loop). Decisions are node/lbelect.c's, frames node/lbpkt.c's;
 * this file is the I/O: informers, the writer, packet sockets, the clock, metrics.
 */
#include "node/lbannounce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/cidr.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/prom.h"
#include "client/informer.h"
#include "node/lbelect.h"
#include "node/lbpkt.h"
#include "node/probe.h"
#include "node/writer.h"

#define MAX_OWNED 256
#define MAX_POLL_MS 1000
/* Gratuitous ARP / unsolicited NA after a takeover, at these offsets (ms). */
static const int garp_at_ms[] = {0, 200, 500, 1000, 2000};
#define NGARP ((int)(sizeof(garp_at_ms) / sizeof(garp_at_ms[0])))

struct owned {
	struct ip_addr ip;
	char text[IP_STRLEN];
	char *svc; /* "ns/name" */
	int64_t since_ms;
	int garp_sent;
	unsigned long long requests, responses, gratuitous;
};

struct node_lb {
	struct client_config cfg;
	char *node_name, *iface;
	int64_t lease_ms;
	struct node_writer *writer;
	struct informer *svcs, *nodes, *slices, *leases;
	pthread_t th;
	bool th_started;
	int efd, arp_fd, nd_fd, mc_fd, ifindex;
	unsigned char mac[6];
	atomic_int stop, dirty;
	/* Lease sightings: name -> {"t": monotonic ms of the last renewal seen, "d": ms};
	 * written by the leases informer thread, read by the announcer, under mu. */
	pthread_mutex_t mu;
	json_t *seen;
	/* The announcer thread's own. */
	struct owned owned[MAX_OWNED];
	size_t nowned;
};

/* ---- metrics (process-wide: one agent per process) ---- */

static struct {
	pthread_mutex_t mu;
	bool on;
	char node[256], iface[IFNAMSIZ];
	json_t *announced; /* array of {ip, service, requests, responses, gratuitous} */
	unsigned long long takeovers, losses;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void metrics_publish(struct node_lb *l)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < l->nowned; i++) {
		const struct owned *o = &l->owned[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I}", "ip", o->text, "service",
						     o->svc, "requests", (json_int_t)o->requests, "responses",
						     (json_int_t)o->responses, "gratuitous",
						     (json_int_t)o->gratuitous));
	}
	pthread_mutex_lock(&M.mu);
	json_decref(M.announced);
	M.announced = arr;
	pthread_mutex_unlock(&M.mu);
}

void node_lb_metrics_write(struct buf *b)
{
	pthread_mutex_lock(&M.mu);
	if (!M.on) {
		pthread_mutex_unlock(&M.mu);
		return;
	}
	static const char *const counters[][3] = {
	    {"requests", "svcplane_lb_layer2_requests_received_total",
	     "ARP requests and Neighbour Solicitations received for an announced address"},
	    {"responses", "svcplane_lb_layer2_responses_sent_total",
	     "ARP replies and Neighbour Advertisements sent"},
	    {"gratuitous", "svcplane_lb_layer2_gratuitous_sent_total",
	     "Gratuitous ARP / unsolicited NA sent on takeover"},
	};
	size_t i;
	json_t *a;
	prom_head(b, "svcplane_lb_announced", "gauge",
		  "LoadBalancer addresses this node announces (1 per address)");
	json_array_foreach(M.announced, i, a) buf_printf(
	    b,
	    "svcplane_lb_announced{ip=\"%s\",node=\"%s\",interface=\"%s\",protocol=\"layer2\",service=\"%s\"} 1\n",
	    api_str(a, "ip"), M.node, M.iface, api_str(a, "service"));
	for (size_t c = 0; c < 3; c++) {
		prom_head(b, counters[c][1], "counter", counters[c][2]);
		json_array_foreach(M.announced, i, a)
		    buf_printf(b, "%s{ip=\"%s\"} %lld\n", counters[c][1], api_str(a, "ip"),
			       (long long)json_integer_value(json_object_get(a, counters[c][0])));
	}
	prom_sample(b, "svcplane_lb_takeovers_total", "counter",
		    "LoadBalancer addresses this node began to announce", (double)M.takeovers);
	prom_sample(b, "svcplane_lb_losses_total", "counter",
		    "LoadBalancer addresses this node stopped announcing", (double)M.losses);
	pthread_mutex_unlock(&M.mu);
}

/* ---- clock ---- */

/* CLOCK_MONOTONIC in ms: the probes' clock. */
static int64_t mono_ms(void)
{
	return clock_mono_ms();
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- informer handlers (informer threads) ---- */

static void wake(struct node_lb *l)
{
	uint64_t one = 1;
	if (write(l->efd, &one, sizeof(one)) < 0) {
		/* saturated: the thread is waking anyway */
	}
}

static void changed(void *ud)
{
	struct node_lb *l = ud;
	atomic_store(&l->dirty, 1);
	wake(l);
}

static void obj_add(void *ud, const json_t *o)
{
	(void)o;
	changed(ud);
}

static void obj_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	(void)o;
	changed(ud);
}

/* Services and EndpointSlices: only a change that can move an address wakes the
 * announcer. A cluster of 10,000 Services changes some slice a hundred times a second,
 * and an evaluation lists every Service and slice (it cost the agent a core at that
 * rate): a Service counts when it is a LoadBalancer before or after the change, a slice
 * when its Service is one with externalTrafficPolicy Local (its endpoints choose the
 * eligible nodes). A slice seen before its Service needs nothing: the Service's own
 * event comes and the evaluation reads the slices then. */
static void svc_changed(void *ud, const json_t *old, const json_t *o)
{
	if (node_lb_service_counts(old, NULL) || node_lb_service_counts(o, NULL))
		changed(ud);
}

static void svc_add(void *ud, const json_t *o)
{
	svc_changed(ud, NULL, o);
}

static void svc_update(void *ud, const json_t *old, const json_t *o)
{
	svc_changed(ud, old, o);
}

static void slice_add(void *ud, const json_t *o)
{
	struct node_lb *l = ud;
	const char *ns = api_str(o, "metadata.namespace");
	const char *name =
	    json_string_value(json_object_get(api_get(o, "metadata.labels"), "kubernetes.io/service-name"));
	if (!ns || !name)
		return;
	json_t *svc = informer_get(l->svcs, ns, name);
	const char *etp = api_str(svc, "spec.externalTrafficPolicy");
	if (node_lb_service_counts(svc, NULL) && etp && !strcmp(etp, "Local"))
		changed(l);
	json_decref(svc);
}

static void slice_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old; /* a slice keeps its Service */
	slice_add(ud, o);
}

/* A Lease renewed: the announcer needs to know only when it brings a node back to
 * life (an expiry it finds by itself, from the times recorded here). */
static void lease_seen(struct node_lb *l, const json_t *old, const json_t *o)
{
	const char *name = api_str(o, "metadata.name");
	if (!name)
		return;
	int64_t now = mono_ms(), d = node_lb_lease_duration_ms(o, l->lease_ms);
	const char *r0 = old ? api_str(old, "spec.renewTime") : NULL, *r1 = api_str(o, "spec.renewTime");
	pthread_mutex_lock(&l->mu);
	json_t *prev = json_object_get(l->seen, name);
	int64_t pt = prev ? json_integer_value(json_object_get(prev, "t")) : INT64_MIN / 2;
	int64_t pd = prev ? json_integer_value(json_object_get(prev, "d")) : 0;
	int64_t t = pt;
	if (!prev)
		t = node_lb_lease_first_seen(o, now, wall_ms());
	else if (r1 && (!r0 || strcmp(r0, r1)))
		t = now;
	bool revived = !(prev && pt + pd > now) && t + d > now;
	json_object_set_new(l->seen, name, json_pack("{s:I, s:I}", "t", (json_int_t)t, "d", (json_int_t)d));
	pthread_mutex_unlock(&l->mu);
	if (revived || !prev)
		changed(l);
}

static void lease_add(void *ud, const json_t *o)
{
	lease_seen(ud, NULL, o);
}

static void lease_update(void *ud, const json_t *old, const json_t *o)
{
	lease_seen(ud, old, o);
}

static void lease_delete(void *ud, const json_t *o)
{
	struct node_lb *l = ud;
	const char *name = api_str(o, "metadata.name");
	pthread_mutex_lock(&l->mu);
	if (name)
		json_object_del(l->seen, name);
	pthread_mutex_unlock(&l->mu);
	changed(l);
}

/* ---- the Lease ---- */

static void lease_renew(struct node_lb *l)
{
	char now[48], *q = client_escape(l->node_name);
	api_now_micro(now, sizeof(now));
	int dur = (int)(l->lease_ms / 1000);
	json_t *spec = json_pack("{s:s, s:i, s:s}", "holderIdentity", l->node_name, "leaseDurationSeconds",
				 dur, "renewTime", now);
	json_t *create = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", "coordination.k8s.io/v1",
				   "kind", "Lease", "metadata", "name", l->node_name, "namespace",
				   NODE_LEASE_NAMESPACE, "spec", spec);
	json_t *node = informer_get(l->nodes, "", l->node_name);
	const char *uid = api_str(node, "metadata.uid");
	if (uid) /* as kubelet: the Node owns its Lease */
		json_object_set_new(json_object_get(create, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "Node",
					      "name", l->node_name, "uid", uid));
	json_decref(node);
	struct node_write w = {
	    .key = "lease",
	    .method = "PATCH",
	    .ctype = "application/merge-patch+json",
	    .path =
		xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", NODE_LEASE_NAMESPACE, q),
	    .body = json_pack("{s:o}", "spec", spec),
	    .create_path =
		xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", NODE_LEASE_NAMESPACE),
	    .create_body = create,
	};
	node_writer_put(l->writer, &w);
	free(q);
}

/* ---- packet sockets ---- */

static int packet_socket(int ifindex, unsigned proto)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons((uint16_t)proto));
	if (fd < 0)
		return -errno;
	if (proto == ETH_P_IPV6) {
		/* Only ICMPv6 Neighbour Solicitations without extension headers reach us. */
		static struct sock_filter code[] = {
		    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 20}, {BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 58},
		    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 54}, {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 135},
		    {BPF_RET | BPF_K, 0, 0, 0x40000},	  {BPF_RET | BPF_K, 0, 0, 0},
		};
		struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	struct sockaddr_ll sa = {
	    .sll_family = AF_PACKET, .sll_protocol = htons((uint16_t)proto), .sll_ifindex = ifindex};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The interface holding address ip (text) into out, or -ENODEV. */
static int iface_of(const char *ip, char *out, size_t len)
{
	struct ip_addr want;
	struct ifaddrs *ifs = NULL;
	int rc = -ENODEV;
	if (!ip || ip_parse(ip, &want) < 0 || getifaddrs(&ifs) < 0)
		return -ENODEV;
	for (struct ifaddrs *i = ifs; i && rc < 0; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (want.family == 4 && i->ifa_addr->sa_family == AF_INET &&
		    !memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, want.b, 4))
			rc = 0;
		else if (want.family == 6 && i->ifa_addr->sa_family == AF_INET6 &&
			 !memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, want.b, 16))
			rc = 0;
		if (rc == 0)
			snprintf(out, len, "%s", i->ifa_name);
	}
	freeifaddrs(ifs);
	return rc;
}

static int sockets_open(struct node_lb *l, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	if (strlen(l->iface) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "interface name %s is too long", l->iface);
		return -EINVAL;
	}
	strcpy(ifr.ifr_name, l->iface);
	l->ifindex = (int)if_nametoindex(l->iface);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	if (l->ifindex <= 0 || fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0 || ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
		snprintf(err, errlen, "interface %s: %s", l->iface, rc < 0 ? strerror(-rc) : "not Ethernet");
		return rc < 0 ? rc : -EINVAL;
	}
	memcpy(l->mac, ifr.ifr_hwaddr.sa_data, 6);
	if ((l->arp_fd = packet_socket(l->ifindex, ETH_P_ARP)) < 0) {
		rc = l->arp_fd;
		snprintf(err, errlen, "packet socket on %s: %s", l->iface, strerror(-rc));
		return rc;
	}
	/* IPv6 is optional (a kernel or interface without it announces IPv4 only). */
	l->nd_fd = packet_socket(l->ifindex, ETH_P_IPV6);
	l->mc_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return 0;
}

/* Joins (or leaves) the solicited-node group of an owned IPv6 address, so that the
 * interface's filter and MLD-snooping switches let its solicitations reach us. */
static void solicited_group(struct node_lb *l, const struct ip_addr *ip, bool join)
{
	if (l->mc_fd < 0 || ip->family != 6)
		return;
	struct ipv6_mreq m = {.ipv6mr_interface = (unsigned)l->ifindex};
	static const unsigned char pfx[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
	memcpy(m.ipv6mr_multiaddr.s6_addr, pfx, 13);
	memcpy(m.ipv6mr_multiaddr.s6_addr + 13, ip->b + 13, 3);
	if (setsockopt(l->mc_fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof(m)) <
		0 &&
	    errno != EADDRINUSE && errno != EADDRNOTAVAIL && errno != EINVAL)
		log_warn("lb: %s the solicited-node group of %s on %s: %s", join ? "joining" : "leaving",
			 "an address", l->iface, strerror(errno));
}

static void frame_send(struct node_lb *l, int fd, const unsigned char *f, size_t n)
{
	if (fd < 0)
		return;
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = l->ifindex, .sll_halen = 6};
	memcpy(to.sll_addr, f, 6);
	if (sendto(fd, f, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_debug("lb: send on %s: %s", l->iface, strerror(errno));
}

static struct owned *owned_find(struct node_lb *l, const struct ip_addr *ip)
{
	size_t n = ip->family == 4 ? 4 : 16;
	for (size_t i = 0; i < l->nowned; i++)
		if (l->owned[i].ip.family == ip->family && !memcmp(l->owned[i].ip.b, ip->b, n))
			return &l->owned[i];
	return NULL;
}

static bool owned_pred(const struct ip_addr *ip, void *ud)
{
	struct owned *o = owned_find(ud, ip);
	if (o)
		o->requests++;
	return o != NULL;
}

/* Reads what waits on fd and answers requests for owned addresses. */
static void drain(struct node_lb *l, int fd)
{
	unsigned char f[1600], out[NODE_LB_PKT_MAX];
	for (int budget = 256; fd >= 0 && budget > 0; budget--) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		struct ip_addr t;
		size_t m = node_lb_pkt_answer(f, (size_t)n, l->mac, owned_pred, l, out, &t);
		if (!m)
			continue;
		frame_send(l, fd, out, m);
		struct owned *o = owned_find(l, &t);
		if (o)
			o->responses++;
	}
}

/* ---- ownership ---- */

static void gratuitous(struct node_lb *l, struct owned *o)
{
	unsigned char f[NODE_LB_PKT_MAX];
	if (o->ip.family == 4)
		frame_send(l, l->arp_fd, f, node_lb_pkt_garp(f, l->mac, &o->ip));
	else
		frame_send(l, l->nd_fd, f, node_lb_pkt_unsolicited_na(f, l->mac, &o->ip));
	o->gratuitous++;
	o->garp_sent++;
}

static void event_assigned(struct node_lb *l, const char *svc_key, json_t *svcs)
{
	size_t i;
	json_t *s;
	json_array_foreach(svcs, i, s)
	{
		char key[600];
		snprintf(key, sizeof(key), "%s/%s", api_str(s, "metadata.namespace") ?: "",
			 api_str(s, "metadata.name") ?: "");
		if (strcmp(key, svc_key))
			continue;
		char *msg = xasprintf("announcing from node \"%s\" with protocol \"layer2\"", l->node_name);
		json_t *ev = api_event_new(s, "Service", NULL, "svcplane-lb-speaker", l->node_name, "Normal",
					   "nodeAssigned", msg);
		free(msg);
		char wkey[700];
		snprintf(wkey, sizeof(wkey), "event/%s", api_str(ev, "metadata.name") ?: "");
		struct node_write w = {
		    .key = wkey,
		    .method = "POST",
		    .path = xasprintf("/api/v1/namespaces/%s/events", api_str(ev, "metadata.namespace")),
		    .body = ev};
		node_writer_put(l->writer, &w);
		return;
	}
}

/* The names of nodes whose Lease is fresh at now, and when the next one expires. */
static json_t *alive_nodes(struct node_lb *l, int64_t now, int64_t *next_expiry)
{
	json_t *out = json_array(), *v;
	const char *name;
	*next_expiry = now + MAX_POLL_MS;
	pthread_mutex_lock(&l->mu);
	json_object_foreach(l->seen, name, v)
	{
		int64_t until =
		    json_integer_value(json_object_get(v, "t")) + json_integer_value(json_object_get(v, "d"));
		if (until <= now)
			continue;
		json_array_append_new(out, json_string(name));
		if (until < *next_expiry)
			*next_expiry = until;
	}
	pthread_mutex_unlock(&l->mu);
	return out;
}

/* Recomputes the owners and applies the difference to the owned table. */
static void evaluate(struct node_lb *l, int64_t now, int64_t *next_eval)
{
	json_t *alive = alive_nodes(l, now, next_eval);
	json_t *svcs = informer_list(l->svcs, NULL), *nodes = informer_list(l->nodes, NULL);
	json_t *slices = informer_list(l->slices, NULL);
	json_t *assign = node_lb_assign(svcs, nodes, slices, alive, NULL);
	bool changed_any = false;
	/* Losses first: stop answering at once. */
	for (size_t i = 0; i < l->nowned;) {
		struct owned *o = &l->owned[i];
		json_t *a = json_object_get(assign, o->text);
		const char *owner = api_str(a, "node"), *svc = api_str(a, "service");
		if (owner && !strcmp(owner, l->node_name) && svc && !strcmp(svc, o->svc)) {
			i++;
			continue;
		}
		log_info("lb: %s (%s) no longer announced from %s (owner now %s)", o->text, o->svc,
			 l->node_name, owner ? owner : "none");
		solicited_group(l, &o->ip, false);
		free(o->svc);
		*o = l->owned[--l->nowned];
		pthread_mutex_lock(&M.mu);
		M.losses++;
		pthread_mutex_unlock(&M.mu);
		changed_any = true;
	}
	const char *ip;
	json_t *a;
	json_object_foreach(assign, ip, a)
	{
		const char *owner = api_str(a, "node");
		struct ip_addr addr;
		if (!owner || strcmp(owner, l->node_name) || ip_parse(ip, &addr) < 0 || owned_find(l, &addr))
			continue;
		if (l->nowned == MAX_OWNED) {
			log_warn("lb: more than %d addresses to announce; %s is not", MAX_OWNED, ip);
			continue;
		}
		if (addr.family == 6 && l->nd_fd < 0) {
			log_warn("lb: %s not announced: no IPv6 packet socket on %s", ip, l->iface);
			continue;
		}
		struct owned *o = &l->owned[l->nowned++];
		*o = (struct owned){.ip = addr, .svc = xstrdup(api_str(a, "service")), .since_ms = now};
		ip_format(&addr, o->text, sizeof(o->text));
		solicited_group(l, &addr, true);
		log_info("lb: announcing %s (%s) from %s on %s", o->text, o->svc, l->node_name, l->iface);
		event_assigned(l, o->svc, svcs);
		pthread_mutex_lock(&M.mu);
		M.takeovers++;
		pthread_mutex_unlock(&M.mu);
		changed_any = true;
	}
	if (changed_any)
		metrics_publish(l);
	json_decref(assign);
	json_decref(slices);
	json_decref(nodes);
	json_decref(svcs);
	json_decref(alive);
}

/* ---- the thread ---- */

static void *lb_main(void *arg)
{
	struct node_lb *l = arg;
	int64_t next_renew = 0, next_eval = 0, renew_every = l->lease_ms / 4 > 100 ? l->lease_ms / 4 : 100;
	int64_t next_pub = 0;
	while (!atomic_load(&l->stop)) {
		int64_t now = mono_ms();
		if (now >= next_renew) {
			lease_renew(l);
			next_renew = now + renew_every;
		}
		if (atomic_exchange(&l->dirty, 0) || now >= next_eval)
			evaluate(l, now, &next_eval);
		int64_t next = next_renew < next_eval ? next_renew : next_eval;
		for (size_t i = 0; i < l->nowned; i++) {
			struct owned *o = &l->owned[i];
			while (o->garp_sent < NGARP && now >= o->since_ms + garp_at_ms[o->garp_sent])
				gratuitous(l, o);
			if (o->garp_sent < NGARP && o->since_ms + garp_at_ms[o->garp_sent] < next)
				next = o->since_ms + garp_at_ms[o->garp_sent];
		}
		if (now >= next_pub) { /* counters move between takeovers too */
			metrics_publish(l);
			next_pub = now + 1000;
		}
		int timeout = next <= now ? 0 : next - now > MAX_POLL_MS ? MAX_POLL_MS : (int)(next - now);
		struct pollfd fds[3] = {{.fd = l->efd, .events = POLLIN},
					{.fd = l->arp_fd, .events = POLLIN},
					{.fd = l->nd_fd, .events = POLLIN}};
		if (poll(fds, 3, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			if (read(l->efd, &v, sizeof(v)) < 0) {
				/* the dirty flag carries the news */
			}
		}
		if (fds[1].revents & POLLIN)
			drain(l, l->arp_fd);
		if (fds[2].revents & POLLIN)
			drain(l, l->nd_fd);
	}
	return NULL;
}

static void lb_free(struct node_lb *l)
{
	struct informer *infs[] = {l->svcs, l->nodes, l->slices, l->leases};
	for (size_t i = 0; i < 4; i++)
		informer_stop(infs[i]);
	for (size_t i = 0; i < 4; i++)
		informer_free(infs[i]);
	node_writer_stop(l->writer);
	for (size_t i = 0; i < l->nowned; i++)
		free(l->owned[i].svc);
	int fds[] = {l->efd, l->arp_fd, l->nd_fd, l->mc_fd};
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	json_decref(l->seen);
	pthread_mutex_destroy(&l->mu);
	client_config_fini(&l->cfg);
	free(l->node_name);
	free(l->iface);
	free(l);
}

int node_lb_start(const struct node_lb_opts *o, struct node_lb **out, char *err, size_t errlen)
{
	if (!o->node_name || !*o->node_name) {
		snprintf(err, errlen, "a node name is required");
		return -EINVAL;
	}
	struct node_lb *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->efd = l->arp_fd = l->nd_fd = l->mc_fd = -1;
	client_config_copy(&l->cfg, o->cfg);
	l->node_name = xstrdup(o->node_name);
	l->lease_ms =
	    (int64_t)(o->lease_duration_s > 0 ? o->lease_duration_s : NODE_LEASE_DURATION_DEFAULT_S) * 1000;
	l->seen = json_object();
	int rc;
	if ((l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (!(l->writer = node_writer_start(&l->cfg, err, errlen))) {
		rc = -EAGAIN;
		goto fail;
	}
	if (!o->no_announce) {
		char dev[IFNAMSIZ] = "", serr[256] = "";
		if (o->iface)
			snprintf(dev, sizeof(dev), "%s", o->iface);
		else if (iface_of(o->node_ip, dev, sizeof(dev)) < 0)
			snprintf(serr, sizeof(serr), "no interface holds the node IP %s",
				 o->node_ip ? o->node_ip : "");
		l->iface = xstrdup(dev);
		if (!serr[0])
			sockets_open(l, serr, sizeof(serr));
		if (serr[0] || l->arp_fd < 0) {
			log_warn("lb: this node will not announce LoadBalancer addresses: %s", serr);
			int *fds[] = {&l->arp_fd, &l->nd_fd, &l->mc_fd};
			for (size_t i = 0; i < 3; i++)
				if (*fds[i] >= 0) {
					close(*fds[i]);
					*fds[i] = -1;
				}
		}
	}
	if (!l->iface)
		l->iface = xstrdup("");
	struct informer_handlers h = {
	    .on_add = obj_add, .on_update = obj_update, .on_delete = obj_add, .on_synced = changed};
	struct informer_handlers hl = {
	    .on_add = lease_add, .on_update = lease_update, .on_delete = lease_delete, .on_synced = changed};
	struct informer_handlers hs = {
	    .on_add = svc_add, .on_update = svc_update, .on_delete = svc_add, .on_synced = changed};
	struct informer_handlers he = {
	    .on_add = slice_add, .on_update = slice_update, .on_delete = slice_add, .on_synced = changed};
	l->svcs = informer_new(&l->cfg, "/api/v1/services", &hs, l);
	l->nodes = informer_new(&l->cfg, "/api/v1/nodes", &h, l);
	l->slices = informer_new(&l->cfg, "/apis/discovery.k8s.io/v1/endpointslices", &he, l);
	informer_set_transform(l->slices, api_endpointslice_compact, API_ENDPOINTSLICE_COMPACT_TAG);
	l->leases = informer_new(
	    &l->cfg, "/apis/coordination.k8s.io/v1/namespaces/" NODE_LEASE_NAMESPACE "/leases", &hl, l);
	struct informer *all[] = {l->svcs, l->nodes, l->slices, l->leases};
	for (size_t i = 0; i < 4; i++)
		informer_start(all[i]);
	for (size_t i = 0; i < 4; i++)
		if (!informer_wait_synced(all[i], 10000)) {
			rc = -ETIMEDOUT;
			snprintf(err, errlen, "LoadBalancer announcer: informers did not sync within 10 s");
			goto fail;
		}
	pthread_mutex_lock(&M.mu);
	M.on = l->arp_fd >= 0;
	snprintf(M.node, sizeof(M.node), "%s", l->node_name);
	snprintf(M.iface, sizeof(M.iface), "%s", l->iface);
	pthread_mutex_unlock(&M.mu);
	if ((rc = pthread_create(&l->th, NULL, lb_main, l)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "starting the LoadBalancer announcer: %s", strerror(-rc));
		goto fail;
	}
	l->th_started = true;
	if (l->arp_fd >= 0)
		log_info("lb: node %s announces LoadBalancer addresses on %s (Lease %lld s)", l->node_name,
			 l->iface, (long long)(l->lease_ms / 1000));
	*out = l;
	return 0;
fail:
	lb_free(l);
	return rc;
}

void node_lb_stop(struct node_lb *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, 1);
	wake(l);
	if (l->th_started)
		pthread_join(l->th, NULL);
	pthread_mutex_lock(&M.mu);
	M.on = false;
	json_decref(M.announced);
	M.announced = NULL;
	pthread_mutex_unlock(&M.mu);
	lb_free(l);
}
