/* netlink.h - a small synchronous rtnetlink client: links, addresses and routes of one
 * network namespace, for the node runtime (pod veths, the node bridge, host-gw routes).
 *
 * A handle owns one NETLINK_ROUTE socket. The socket belongs to the network namespace
 * it was opened in, for its whole life: node_nl_new() with a namespace descriptor
 * opens it on a dedicated thread that has joined that namespace (see netns.h), and
 * every later request through the handle acts there, from any thread of ours, with no
 * further switching. One handle per namespace you manage; a handle is not thread-safe.
 *
 * Each call sends one request and waits for its answer: changes carry NLM_F_ACK and
 * succeed only on the kernel's ACK; dumps are read to NLMSG_DONE (an interrupted dump,
 * NLM_F_DUMP_INTR, is retried up to three times). Replies are matched by sequence
 * number, so an answer that arrives after a timed-out request is skipped, not taken
 * for the next one. The socket has a receive timeout of NODE_NL_TIMEOUT_MS, so no call
 * blocks longer than that per reply. Bytes from the kernel are parsed with length
 * checks (libmnl's attribute validation); a malformed reply is -EBADMSG.
 *
 * Errors are 0 or a negative errno, as the kernel reports them (-EEXIST, -ENODEV,
 * -EADDRNOTAVAIL, -ESRCH for a missing route, ...). The sentence for humans of the
 * last failed call, with the kernel's extended-ACK text when it gave one, is in the
 * handle (node_nl_errmsg), like sqlite3_errmsg: the handle is the caller's, not a
 * global. Links are named by interface name in this namespace (IFNAMSIZ-1 bytes at
 * most; a longer name is -EINVAL before anything is sent).
 *
 * Why libmnl and not libnl-route: we need a dozen fixed request shapes, each ACK-
 * checked, and dumps parsed into our own structs. libmnl is a thin, allocation-free
 * layer over the wire format (message and attribute builders, validated attribute
 * parsing, the socket) whose requests map one to one onto `ip` commands and the
 * kernel's rtnetlink documentation; libnl-route adds an object cache, its own
 * reference counting and error space, and a larger dependency, none of which a
 * synchronous one-request-at-a-time client uses. The nftables side of the project
 * already uses the same library family (libnftnl sits on libmnl).
 */
#ifndef NODE_NETLINK_H
#define NODE_NETLINK_H

#include "base/cidr.h"

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest a call waits for one reply from the kernel. */
#define NODE_NL_TIMEOUT_MS 5000
/* Flag of the _add calls: create or replace, never -EEXIST (`ip ... replace`). */
#define NODE_NL_REPLACE 1u

struct node_nl;

/* Opens a handle on the namespace netns_fd (borrowed, only used during the call; -1
 * for the caller's own namespace). Returns 0 with *out the caller's (node_nl_free), or
 * -errno with a sentence in err (may be NULL). Blocks for a thread create and join
 * when netns_fd >= 0. */
int node_nl_new(int netns_fd, struct node_nl **out, char *err, size_t errlen);
/* Closes the socket and frees the handle; NULL is a no-op. */
void node_nl_free(struct node_nl *nl);
/* The sentence for the last failed call on nl, or "" after a success. Owned by nl,
 * valid until the next call. */
const char *node_nl_errmsg(const struct node_nl *nl);

/* ---- links ---- */

struct node_link {
	int index;
	char name[IFNAMSIZ];
	char kind[32];	/* IFLA_INFO_KIND: "veth", "bridge", ...; "" for none (lo, eth) */
	int master;	/* ifindex of the bridge it is enslaved to, 0 for none */
	unsigned flags; /* IFF_UP, IFF_LOWER_UP, ... */
	unsigned mtu;
	unsigned char mac[6]; /* zero when the link has no Ethernet address */
};

/* Creates a veth pair: name here, peer in the namespace peer_netns_fd (borrowed; -1
 * for this handle's namespace), both down. Creating the peer directly in its namespace
 * avoids a window where it exists here under a name that could clash. -EEXIST when
 * either name is taken in its namespace. */
int node_link_add_veth(struct node_nl *nl, const char *name, const char *peer, int peer_netns_fd);
/* Creates a bridge (down, no ports). -EEXIST when the name is taken. */
int node_link_add_bridge(struct node_nl *nl, const char *name);
/* Sets the link administratively up or down. */
int node_link_set_up(struct node_nl *nl, const char *name, bool up);
/* Hairpin mode of a bridge port (`bridge link set dev NAME hairpin on`): a frame may
 * leave by the port it came in, as a pod reaching itself through a Service needs when
 * bridged traffic passes through netfilter. */
int node_link_set_hairpin(struct node_nl *nl, const char *name, bool on);
/* Enslaves the link to bridge master; master NULL releases it (`nomaster`). */
int node_link_set_master(struct node_nl *nl, const char *name, const char *master);
/* Sets the MTU. */
int node_link_set_mtu(struct node_nl *nl, const char *name, unsigned mtu);
/* Sets the link's Ethernet address (`ip link set name address mac`). A bridge with an
 * address set this way keeps it; one left to itself takes its ports' lowest MAC and
 * changes it when that port goes. */
int node_link_set_mac(struct node_nl *nl, const char *name, const unsigned char mac[6]);
/* Moves the link to the namespace netns_fd (borrowed); it keeps its name and goes
 * down, and its addresses are lost, as the kernel does for any move. */
int node_link_set_netns(struct node_nl *nl, const char *name, int netns_fd);
/* Deletes the link (both ends for a veth). -ENODEV when there is none. */
int node_link_del(struct node_nl *nl, const char *name);
/* Returns the link's ifindex (> 0), or -ENODEV / another -errno. */
int node_link_index(struct node_nl *nl, const char *name);
/* Fills *out with the link's state. Returns 0 or -ENODEV / another -errno. */
int node_link_get(struct node_nl *nl, const char *name, struct node_link *out);
/* Dumps every link of the namespace. On success *out is a heap array of *n entries
 * (NULL when 0) that the caller frees with free(). */
int node_link_list(struct node_nl *nl, struct node_link **out, size_t *n);

/* ---- addresses ---- */

struct node_addr {
	int ifindex;
	struct ip_addr ip;
	int prefix;	/* prefix length of the on-link subnet */
	unsigned flags; /* IFA_F_* (IFA_F_TENTATIVE, IFA_F_NODAD, ...) */
};

/* Adds ip/prefix to link dev, the subnet becoming on-link (`ip addr add`). IPv6
 * addresses get IFA_F_NODAD: our links are point-to-point veths and private bridges
 * where the allocator guarantees uniqueness, and an address must be usable at once, not
 * after a second of duplicate detection. flags: 0 (-EEXIST when present) or
 * NODE_NL_REPLACE. -EINVAL for a prefix outside 0..32/0..128. */
int node_addr_add(struct node_nl *nl, const char *dev, const struct ip_addr *ip, int prefix, unsigned flags);
/* Removes ip/prefix from dev. -EADDRNOTAVAIL when it is not there. */
int node_addr_del(struct node_nl *nl, const char *dev, const struct ip_addr *ip, int prefix);
/* Dumps the addresses of family (4, 6, or 0 for both) on every link; *out as for
 * node_link_list. */
int node_addr_list(struct node_nl *nl, int family, struct node_addr **out, size_t *n);

/* ---- neighbours ---- */

/* Deletes the neighbour (ARP or NDP) entry for ip on link dev (`ip neigh del ip dev
 * dev`), so the next packet to ip resolves its MAC afresh: a pod IP handed to a new pod
 * must not keep the old pod's MAC. -ENOENT when there is no entry. */
int node_neigh_del(struct node_nl *nl, const char *dev, const struct ip_addr *ip);

/* ---- routes (main table only) ---- */

struct node_route {
	struct cidr dst;	/* destination; bits 0 is the default route */
	struct ip_addr gw;	/* next hop; family 0 for none (the route is on-link via oif) */
	int oif;		/* output link's ifindex; 0 to let the kernel pick it from gw */
	unsigned char protocol; /* RTPROT_*: on add 0 means RTPROT_STATIC; as listed */
	unsigned char scope;	/* as listed (RT_SCOPE_*); ignored on add and del */
	unsigned char type;	/* as listed (RTN_UNICAST, RTN_LOCAL, ...); add makes unicast */
	unsigned metric;	/* RTA_PRIORITY; 0 for the kernel's default */
};

/* Adds a unicast route to the main table: dst via gw, or dst on-link on oif (scope
 * link for IPv4), or both. At least one of gw and oif is needed and gw's family must
 * be dst's (-EINVAL). flags: 0 (-EEXIST when present) or NODE_NL_REPLACE. */
int node_route_add(struct node_nl *nl, const struct node_route *r, unsigned flags);
/* Deletes the route of the main table that matches dst, and gw, oif, metric and
 * protocol where they are set (non-zero). -ESRCH when none matches. */
int node_route_del(struct node_nl *nl, const struct node_route *r);
/* Dumps the routes of the main table for family (4, 6, or 0 for both); *out as for
 * node_link_list. Multipath routes are listed with no gw and oif 0. */
int node_route_list(struct node_nl *nl, int family, struct node_route **out, size_t *n);

#endif
