/* podnet.c - the node agent's network part (see podnet.h): the bridge, routes and
 * masquerade that follow the Node objects, and each pod's netns, veth and addresses.
 *
 * A pod IP is reused as soon as its pod is gone, so the pod network keeps neighbour
 * tables honest: teardown deletes the node's entries for the pod's IPs, setup deletes
 * them again (a teardown missed while the agent was down) and the new interface
 * announces itself (ANNOUNCE_AFTER_MS) so other pods on the bridge drop the old MAC.
 */
#include "node/podnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "node/announce.h"
#include "node/masq.h"
#include "node/netlink.h"
#include "node/netns.h"
#include "node/podipam.h"
#include "node/sysctl.h"

/* A new pod interface announces itself (node/announce.h) at setup and again after these
 * delays (ms), by when the veth's carrier has reached the bridge for sure. */
static const int64_t ANNOUNCE_AFTER_MS[] = {0, 300, 1000, 3000};
#define ANNOUNCE_N ((int)(sizeof(ANNOUNCE_AFTER_MS) / sizeof(ANNOUNCE_AFTER_MS[0])))

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

static int bridge_setup(struct node_agent *a)
{
	int rc = node_link_add_bridge(a->nl, NODE_AGENT_BRIDGE);
	if (rc < 0 && rc != -EEXIST)
		goto fail;
	/* A fixed MAC, the same after a restart: a bridge left to itself takes its ports'
	 * lowest MAC and changes it when that pod goes, which flushes the node's neighbours
	 * and leaves every other pod sending to the gateway's old MAC (a black hole until
	 * their entries expire). Locally administered, from a hash of the node name. */
	unsigned char mac[6] = {0x02};
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *c = a->node_name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	mac[1] = 0x5c; /* "svcp" */
	memcpy(mac + 2, &h, 4);
	if ((rc = node_link_set_mac(a->nl, NODE_AGENT_BRIDGE, mac)) < 0)
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
static void learn_cidr(struct node_agent *a, int fam, const struct cidr *c)
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
void node__nodes_reconcile(struct node_agent *a)
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
				want[nw++] =
				    (struct node_route){.dst = c, .gw = gw, .protocol = NODE_AGENT_RTPROT};
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
			keep = !ip_cmp(&want[w].dst.net, &have[h].dst.net) &&
			       want[w].dst.bits == have[h].dst.bits && !ip_cmp(&want[w].gw, &have[h].gw);
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
			log_warn("agent: route to %s: %s", cidr_format(&want[w].dst, b, sizeof(b)),
				 node_nl_errmsg(a->nl));
		}
	}
}

/* Deletes the node's neighbour entries (bridge) for the pod's addresses, both families:
 * after teardown a reused IP must resolve to the new pod's MAC, not the dead one's. */
static void podnet_forget_neigh(struct node_agent *a, const struct apod *p)
{
	const char *ips[] = {p->ip, p->ip6};
	for (size_t i = 0; i < 2 && a->nl; i++) {
		struct ip_addr ip;
		if (!ips[i][0] || ip_parse(ips[i], &ip) < 0)
			continue;
		int rc = node_neigh_del(a->nl, NODE_AGENT_BRIDGE, &ip);
		if (rc < 0 && rc != -ENOENT && rc != -ENODEV)
			log_warn("agent: %s", node_nl_errmsg(a->nl));
	}
}

struct sysctl_job {
	bool ip6;
};

/* On a thread inside the pod's netns: the kernel announces eth0's addresses whenever the
 * link comes up or changes its MAC. */
static int announce_sysctls(void *arg)
{
	const struct sysctl_job *j = arg;
	int rc = node_sysctl_write(-1, "net/ipv4/conf/eth0/arp_notify", "1");
	if (rc == 0 && j->ip6) {
		rc = node_sysctl_write(-1, "net/ipv6/conf/eth0/ndisc_notify", "1");
		if (rc == -ENOENT) /* IPv6 disabled on the host */
			rc = 0;
	}
	return rc;
}

/* Sends the pod's due announcements (gratuitous ARP, unsolicited NA); returns when the
 * next one is due, INT64_MAX when done. */
int64_t node__pod_announce(struct node_agent *a, struct apod *p, int64_t now)
{
	if (!p->net_ok || p->host_net || p->netns_fd < 0 || p->announced >= ANNOUNCE_N)
		return INT64_MAX;
	if (now < p->net_up_ms + ANNOUNCE_AFTER_MS[p->announced])
		return p->net_up_ms + ANNOUNCE_AFTER_MS[p->announced];
	struct ip_addr ip4, ip6;
	bool h4 = ip_parse(p->ip, &ip4) == 0, h6 = p->ip6[0] && ip_parse(p->ip6, &ip6) == 0;
	int rc = node_announce(p->netns_fd, "eth0", h4 ? &ip4 : NULL, h6 ? &ip6 : NULL);
	/* ENETDOWN/ENXIO before the carrier is up are expected: the next round goes out. */
	if (rc < 0 && rc != -ENETDOWN && rc != -ENXIO && p->announced == ANNOUNCE_N - 1)
		log_warn("agent: pod %s/%s: announcing %s: %s", p->ns, p->name, p->ip, strerror(-rc));
	p->announced++;
	return p->announced < ANNOUNCE_N ? p->net_up_ms + ANNOUNCE_AFTER_MS[p->announced] : INT64_MAX;
}

/* Creates (or finds again, after a restart) the pod's netns, veth, address and route.
 * Idempotent. On failure the reason is in p->net_err. */
int node__podnet_setup(struct node_agent *a, struct apod *p)
{
	char err[256] = "", b[CIDR_STRLEN];
	struct ip_addr ip;
	struct node_nl *pnl = NULL;
	if (!p->veth[0]) {
		node__set_net_err(p, xasprintf("pod uid %s is not usable as a name", p->uid));
		return -EINVAL;
	}
	int rc = node_ipam_get(a->ipam_dir, &a->pod_cidr, p->uid, &ip);
	if (rc == -ENOSPC) {
		node__set_net_err(p, xasprintf("podCIDR %s exhausted: no free IP address for the pod",
					       cidr_format(&a->pod_cidr, b, sizeof(b))));
		return rc;
	}
	if (rc < 0) {
		node__set_net_err(p, xasprintf("allocating a pod IP: %s", strerror(-rc)));
		return rc;
	}
	ip_format(&ip, p->ip, sizeof(p->ip));
	struct ip_addr ip6;
	if (a->have_cidr6) {
		rc = node_ipam_get(a->ipam_dir, &a->pod_cidr6, p->uid, &ip6);
		if (rc < 0) {
			node__set_net_err(
			    p, rc == -ENOSPC
				   ? xasprintf("podCIDR %s exhausted: no free IP address for the pod",
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
		node__set_net_err(p, xasprintf("creating netns %s: %s", p->netns, err));
		return rc;
	}
	if (p->netns_fd < 0)
		p->netns_fd = node_netns_open(p->netns);
	if (p->netns_fd < 0) {
		rc = p->netns_fd;
		node__set_net_err(p, xasprintf("opening netns %s: %s", p->netns, strerror(-rc)));
		return rc;
	}
	rc = node_link_add_veth(a->nl, p->veth, "eth0", p->netns_fd);
	if (rc < 0 && rc != -EEXIST)
		goto nlfail;
	if ((rc = node_link_set_master(a->nl, p->veth, NODE_AGENT_BRIDGE)) < 0 ||
	    (rc = node_link_set_hairpin(a->nl, p->veth, true)) < 0 ||
	    (rc = node_link_set_up(a->nl, p->veth, true)) < 0)
		goto nlfail;
	rc = node_nl_new(p->netns_fd, &pnl, err, sizeof(err));
	if (rc < 0) {
		node__set_net_err(p, xasprintf("netlink in %s: %s", p->netns, err));
		return rc;
	}
	/* Addresses before the link goes up, so the kernel's own announcement (arp_notify,
	 * ndisc_notify) carries them; routes after, as they need the link up. */
	struct sysctl_job sj = {.ip6 = a->have_cidr6};
	if ((rc = node_netns_run(p->netns_fd, announce_sysctls, &sj)) < 0)
		log_warn("agent: pod %s/%s: arp_notify/ndisc_notify: %s", p->ns, p->name, strerror(-rc));
	struct node_route def = {.gw = a->gw};
	def.dst.net.family = 4;
	struct node_route def6 = {.gw = a->gw6};
	def6.dst.net.family = 6;
	if ((rc = node_link_set_up(pnl, "lo", true)) < 0 ||
	    (rc = node_addr_add(pnl, "eth0", &ip, a->pod_cidr.bits, NODE_NL_REPLACE)) < 0 ||
	    /* node_addr_add sets IFA_F_NODAD, so the address is usable at once. */
	    (a->have_cidr6 &&
	     (rc = node_addr_add(pnl, "eth0", &ip6, a->pod_cidr6.bits, NODE_NL_REPLACE)) < 0) ||
	    (rc = node_link_set_up(pnl, "eth0", true)) < 0 ||
	    (rc = node_route_add(pnl, &def, NODE_NL_REPLACE)) < 0 ||
	    (a->have_cidr6 && (rc = node_route_add(pnl, &def6, NODE_NL_REPLACE)) < 0)) {
		node__set_net_err(p, xasprintf("pod network in %s: %s", p->netns, node_nl_errmsg(pnl)));
		node_nl_free(pnl);
		return rc;
	}
	/* The IP may have been another pod's moments ago: forget that pod's MAC here, and
	 * tell the other pods on the bridge (node__pod_announce). */
	podnet_forget_neigh(a, p);
	p->net_up_ms = node__now_ms();
	p->announced = 0;
	node_nl_free(pnl);
	node__set_net_err(p, NULL);
	p->net_ok = true;
	return 0;
nlfail:
	node__set_net_err(p, xasprintf("veth %s: %s", p->veth, node_nl_errmsg(a->nl)));
	return rc;
}

/* Removes everything of the pod's network; each step tolerates what is already gone. */
void node__podnet_teardown(struct node_agent *a, struct apod *p)
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
	podnet_forget_neigh(a, p);
	node_ipam_release(a->ipam_dir, p->uid);
	p->net_ok = false;
}
