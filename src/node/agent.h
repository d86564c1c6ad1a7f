/* agent.h - the node agent (kubelet's networking part): registers the Node, wires pods
 * bound to it into the pod network and runs them with the node runtime, probes them,
 * writes their status, and routes to the other nodes' pod CIDRs (host-gw).
 *
 * One thread owns everything that changes the node (runtime, netlink, probes); informers
 * only mark state dirty and wake it through an eventfd. Every API write while the loop
 * runs (pod statuses, events, the Node heartbeat, the final pod DELETE) goes to a writer
 * thread with its own connection (node/writer.h), through a queue holding the newest
 * write per key, so the loop never waits on the API server while probes are in flight.
 * The code is split at its seams (see podctx.h): pods.c, podnet.c, prober.c, status.c,
 * writer.c below this loop. The loop:
 *
 *   poll(signalfd SIGCHLD, eventfd, probe fds; timeout = earliest of runtime, probe,
 *        heartbeat and retry deadlines, at most 1 s)
 *     -> routes to other nodes (when the nodes informer changed)
 *     -> pods: set up new ones (netns, veth, IP, files, env, node_rt_pod_run), stop and
 *        tear down deleted or vanished ones (the API server deletes a pod without
 *        finalizers at once, so "gone from the informer" is a deletion too)
 *     -> node_rt_sync, probes, pod statuses queued (only when the status changed), pod
 *        interface announcements due
 *     -> Node heartbeat every 10 s (queued)
 *
 * Pod network: bridge "svcp0" in the agent's netns holding the podCIDR's first
 * address; per pod a named netns "svcp-pod-<uid>" with eth0, the peer "svcp<8 hex of the
 * uid>" on the bridge, an address from podipam.h, and a default route via the bridge.
 * When the Node also has an IPv6 podCIDR (spec.podCIDRs), the same is done for IPv6:
 * the bridge gets that CIDR's first address, each pod a second address (status.podIPs
 * lists both, IPv4 first) and a default IPv6 route; host-gw routes to the other nodes'
 * IPv6 podCIDRs go via their IPv6 InternalIP (a second InternalIP in status.addresses,
 * as a dual-stack kubelet publishes).
 * Masquerade (node/masq.c) is IPv4 only.
 * Routes to other nodes carry protocol NODE_AGENT_RTPROT, so a restarted agent finds and
 * corrects its own routes and never touches others'.
 *
 * Restart: the runtime re-adopts the processes recorded under <data-dir>/pods; once the
 * pods informer has synced, pods the API no longer has are stopped and torn down, and
 * pod IPs, netns and veths that belong to no pod are removed.
 *
 * The caller must block SIGCHLD in every thread before any thread is created (the
 * agent's signalfd reads it), and must not reap children with waitpid(-1).
 */
#ifndef NODE_AGENT_H
#define NODE_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "client/client.h"

/* rtm_protocol of our host-gw routes (an unassigned value of rtnetlink.h). */
#define NODE_AGENT_RTPROT 83
#define NODE_AGENT_BRIDGE "svcp0"
#define NODE_AGENT_NETNS_PREFIX "svcp-pod-"
#define NODE_AGENT_VERSION "v1.33.0-svcplane"
#define NODE_AGENT_RUNTIME_VERSION "svcplane://0.1.0"

struct node_agent_opts {
	const struct client_config *cfg;  /* how to reach the API (copied) */
	const char *node_name;		  /* required */
	const char *node_ip;		  /* required: the InternalIP and host-gw next hop; "IPv4,IPv6"
					   * (either order) gives the IPv6 one too, else it is the
					   * global IPv6 address of the interface holding the IPv4 */
	const char *data_dir;		  /* state (pods, ipam, logs); created */
	const char *cluster_domain;	  /* default "cluster.local" */
	const char *cluster_dns;	  /* nameserver for ClusterFirst pods; NULL = the kube-dns
					   * Service's cluster IP (none when it has none) */
	int heartbeat_s;		  /* default 10 */
	int kubelet_port;		  /* the log endpoint's port (node/logsrv.h): 0 = 10250,
					   * -1 = none */
	const char *const *dns_upstreams; /* cluster DNS: resolvers for other names (NULL-terminated);
					   * NULL = the nameservers of /etc/resolv.conf */
	bool dns_disable;		  /* serve no cluster DNS on this node */
	bool dns_ttl_set;		  /* dns_ttl given (else 5 s, CoreDNS's default) */
	unsigned dns_ttl;		  /* TTL of cluster records and negative answers, 0..3600 */
	const char *proxy_mode;		  /* nftables (default), iptables or userspace: the
					   * Service proxy's mode (validated; the proxy is a
					   * separate part, see docs/DESIGN.md) */
	const char *cluster_cidr;	  /* pod network "CIDR[,CIDR]": the proxy masquerades
					   * traffic to cluster IPs from outside it; NULL = never */
	const char *nodeport_addresses;	  /* --nodeport-addresses (CIDRs); NULL = every address */
	const char *proxy_local_dns;	  /* node-local DNS address (kube-dns IP on lo): the proxy
					   * leaves its port 53 to the node (NOTRACK); NULL = none */
	int node_lease_duration_s;	  /* the node Lease (node/lbannounce.h); 0 = default 4 */
	const char *lb_interface;	  /* where LoadBalancer addresses are announced (ARP/NDP);
					   * NULL = the node IP's interface */
	bool ingress_disable;		  /* run no Ingress controller (ingress/proxy.h) here */
	int ingress_http_port;		  /* its HTTP port: 0 = 80 */
	int ingress_https_port;		  /* its HTTPS port: 0 = 443 */
	const char *ingress_addresses;	  /* "IP[,IP]" it listens on; NULL = the node IPs */
};

struct node_agent;

/* Registers the Node (create, or adopt an existing one), starts the informers and waits
 * for their first lists (10 s at most), re-adopts the runtime state and starts the agent
 * thread. Unless dns_disable, it also serves cluster DNS (dns/server.h) on UDP and TCP
 * port 53 of the cluster DNS IP (added to "lo") and of the node IP; a node where that
 * fails (port taken) logs why and runs without. Blocks for the API round trips. Returns 0 with *out, or a
 * negative errno with the reason in err. */
int node_agent_start(const struct node_agent_opts *o, struct node_agent **out, char *err, size_t errlen);

/* Stops the thread, marks the Node NotReady, and frees everything. Pods keep running
 * (a new agent re-adopts them). NULL is a no-op. Blocks up to about a second plus one
 * API request. */
void node_agent_stop(struct node_agent *a);

/* `svcplane agent --cleanup`: stops every pod recorded under data_dir (SIGKILL after
 * grace_s), then deletes pod netns, veths, IP files, our host-gw routes and the bridge.
 * Needs no API server. Returns 0 or the first -errno, with a sentence in err. */
int node_agent_cleanup(const char *data_dir, int grace_s, char *err, size_t errlen);

/* kubelet's defaults for a node that names neither itself nor its address: the host name
 * (lowercased) into name, and into ip the first IPv4 address of the interface of the
 * default route (else of any up, non-loopback interface). Returns 0, or -ENOENT with a
 * sentence in err. */
int node_agent_default_node(char *name, size_t nlen, char *ip, size_t iplen, char *err, size_t errlen);
/* Whether s is a proxy mode the agent accepts (nftables, iptables, userspace). */
bool node_agent_proxy_mode_valid(const char *s);

/* Pure helpers, exposed for tests. */
/* "svcp" + the first 8 hex digits of uid into out (IFNAMSIZ bytes). -EINVAL when uid
 * has fewer than 8 hex digits. */
int node_agent_veth_name(const char *uid, char *out, size_t len);
/* kubelet's pod conditions for the given facts, keeping each lastTransitionTime from
 * prev (an array of PodCondition, may be NULL) when its status did not change; now is
 * the RFC 3339 time to use otherwise. Returns a new array. */
json_t *node_agent_pod_conditions(const json_t *prev, bool initialized, bool containers_ready,
				  const char *now);
/* Whether a Node counts as Ready: condition Ready with status "True". */
bool node_agent_node_ready(const json_t *node);

#endif
