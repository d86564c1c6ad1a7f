/* flagtab.c - the flags of every long-running command, one row each (flagtab.h). The
 * order of the rows is the order of --help. */
#include "cmd/flagtab.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "dns/fwd.h"
#include "proxy/proxy.h"

#define OFF(f) offsetof(struct cmd_conf, f)
#define NODE (CMD_SERVER | CMD_AGENT)
#define DAEMONS (CMD_SERVER | CMD_AGENT | CMD_DNS)

/* A comma list of at most max items, each passing ok. */
static bool list_ok(const char *v, int max, bool (*ok)(const char *))
{
	char **l = flag_list_split(v, max);
	bool good = l != NULL;
	for (size_t i = 0; good && l[i]; i++)
		good = ok(l[i]);
	flag_list_free(l);
	return good;
}

static bool ips4(const char *v)
{
	return list_ok(v, 4, flag_is_ip);
}

static bool ips8(const char *v)
{
	return list_ok(v, 8, flag_is_ip);
}

static bool cidrs16(const char *v)
{
	return list_ok(v, 16, flag_is_cidr);
}

static bool nodeport_addresses(const char *v)
{
	struct cidr *np = NULL;
	int n = proxy_nodeport_addresses_parse(v, &np, NULL, 0);
	free(np);
	return n >= 0;
}

static bool dns_upstream(const char *v)
{
	struct sockaddr_storage ss;
	unsigned sl;
	return dns_upstream_parse(v, &ss, &sl) == 0;
}

static bool iface_name(const char *v)
{
	return *v && strlen(v) < 16 && !strpbrk(v, "/ ,");
}

static int set_verbose(void *conf, const char *v)
{
	log_set_level(LOG_DEBUG);
	return 0;
}

static int set_ingress_type(void *conf, const char *v)
{
	struct cmd_conf *c = conf;
	if (strcmp(v, "LoadBalancer") && strcmp(v, "NodeAddress"))
		return -1;
	c->ing_lb = !strcmp(v, "LoadBalancer");
	return 0;
}

/* kube-apiserver's --etcd-compaction-interval: 0 turns compaction off (-1 in the opts). */
static int set_compaction(void *conf, const char *v)
{
	struct cmd_conf *c = conf;
	int64_t ms;
	if (flag_duration_ms(v, &ms) < 0)
		return -1;
	c->etcd.etcd_compaction_interval_ms = ms ? ms : -1;
	return 0;
}

/* store migrate's TLS flags name one etcd at either end. */
static int set_both_ca(void *conf, const char *v)
{
	struct cmd_conf *c = conf;
	c->from.etcd_cafile = c->to.etcd_cafile = v;
	return 0;
}

static int set_both_cert(void *conf, const char *v)
{
	struct cmd_conf *c = conf;
	c->from.etcd_certfile = c->to.etcd_certfile = v;
	return 0;
}

static int set_both_key(void *conf, const char *v)
{
	struct cmd_conf *c = conf;
	c->from.etcd_keyfile = c->to.etcd_keyfile = v;
	return 0;
}

#define STR(n, m, k, f, h)                                                                                   \
	{                                                                                                    \
		.name = n, .meta = m, .cmds = k, .type = FLAG_STR, .off = OFF(f), .help = h                  \
	}
#define CHECKED(n, m, k, f, chk, w, h)                                                                       \
	{                                                                                                    \
		.name = n, .meta = m, .cmds = k, .type = FLAG_STR, .off = OFF(f), .check = chk, .what = w,   \
		.help = h                                                                                    \
	}
#define SWITCH(n, k, f, h)                                                                                   \
	{                                                                                                    \
		.name = n, .cmds = k, .type = FLAG_TRUE, .off = OFF(f), .help = h                            \
	}
#define INT(n, m, k, f, l, hi_, w, h)                                                                        \
	{                                                                                                    \
		.name = n, .meta = m, .cmds = k, .type = FLAG_INT, .off = OFF(f), .lo = l, .hi = hi_,        \
		.what = w, .help = h                                                                         \
	}
#define FN(n, m, k, fn, w, h)                                                                                \
	{                                                                                                    \
		.name = n, .meta = m, .cmds = k, .type = FLAG_FN, .set = fn, .what = w, .help = h            \
	}
/* kube-controller-manager's --leader-elect-* durations: positive. */
#define LEADER_DURATION(n, f, w, h)                                                                          \
	{                                                                                                    \
		.name = n, .meta = "D", .cmds = CMD_SERVER, .type = FLAG_DURATION, .off = OFF(f), .lo = 1,   \
		.what = w, .help = h                                                                         \
	}
#define PORT1 "a port number (1-65535)"
#define CIDR_PAIR "one CIDR or two (IPv4,IPv6)"

static const struct flag rows[] = {
    /* How the agent and `svcplane dns` reach the API. */
    STR("server", "URL[,URL...]", CMD_AGENT, server,
	"API server(s) of the cluster, with --token-file and --ca-file;\n"
	"on a failure the agent moves to the next and resumes its watches"),
    STR("token-file", "PATH", CMD_AGENT, token_file, "bearer token"),
    STR("ca-file", "PATH", CMD_AGENT, ca_file, "CA bundle of the API server"),
    STR("kubeconfig", "PATH", CMD_AGENT, kubeconfig, "instead of the three above"),
    STR("kubeconfig", "PATH", CMD_DNS, kubeconfig,
	"the API server to read Services, EndpointSlices, Pods from"),

    /* The API server. */
    STR("data-dir", "DIR", CMD_SERVER, o.data_dir, "state directory (default /var/lib/svcplane)"),
    CHECKED("bind-address", "IP", CMD_SERVER, o.bind_address, flag_is_ip, "an IP address",
	    "address to serve on (default 127.0.0.1)"),
    INT("secure-port", "N", CMD_SERVER, o.secure_port, 0, 65535, "a port number (0-65535)",
	"HTTPS port (default 6443; 0 picks a free port)"),
    SWITCH("insecure-http", CMD_SERVER, o.insecure_http, "serve plain HTTP instead of HTTPS (loopback only)"),
    STR("write-kubeconfig", "PATH", CMD_SERVER, o.kubeconfig,
	"admin kubeconfig to write (default DIR/kubeconfig)"),
    STR("token-file", "PATH", CMD_SERVER, o.token_file,
	"admin bearer token (default DIR/token, made at first start)"),
    STR("advertise-address", "IP", CMD_SERVER, o.advertise_address, "address written into the kubeconfig"),
    CHECKED("service-cluster-ip-range", "CIDR[,CIDR]", CMD_SERVER, o.service_cluster_ip_range,
	    flag_is_cidr_pair, CIDR_PAIR, "(default 10.96.0.0/12)"),
    CHECKED("service-node-port-range", "A-B", CMD_SERVER, o.service_node_port_range, flag_is_port_range,
	    "a range like 30000-32767", "(default 30000-32767)"),
    CHECKED("cluster-cidr", "CIDR[,CIDR]", CMD_SERVER, o.cluster_cidr, flag_is_cidr_pair, CIDR_PAIR,
	    "pod network (default 10.244.0.0/16)"),
    STR("datastore-endpoint", "URL", CMD_SERVER, store_url,
	"store URL: sqlite://PATH or etcd://HOST:PORT[,...]\n(default sqlite://DIR/state.db)"),
    {.name = "history-revisions",
     .meta = "N",
     .cmds = CMD_SERVER,
     .type = FLAG_LLONG,
     .off = OFF(history),
     .lo = 100,
     .hi = 1000000000,
     .help = "revisions kept for watch and reads (default 10000)"},
    STR("etcd-prefix", "P", CMD_SERVER, etcd.etcd_prefix, "etcd: prefix of every key (default /registry)"),
    STR("etcd-cafile", "F", CMD_SERVER, etcd.etcd_cafile, "etcd: CA of its server certificates (https)"),
    STR("etcd-certfile", "F", CMD_SERVER, etcd.etcd_certfile, "etcd: client certificate (https)"),
    STR("etcd-keyfile", "F", CMD_SERVER, etcd.etcd_keyfile, "etcd: client key (https)"),
    FN("etcd-compaction-interval", "D", CMD_SERVER, set_compaction, "a duration like 5m, 30s or 0",
       "etcd: compact history every D (5m; 0 = never)"),
    SWITCH("allow-service-external-ips", CMD_SERVER, o.allow_external_ips,
	   "accept spec.externalIPs (off by default: CVE-2020-8554)"),
    STR("loadbalancer-ip-pool", "CIDR[,CIDR]", CMD_SERVER, co.lb_pools,
	"addresses for LoadBalancer Services (none by default)"),
    STR("loadbalancer-class", "NAME", CMD_SERVER, co.lb_class,
	"also serve Services with this loadBalancerClass"),
    INT("max-endpoints-per-slice", "N", CMD_SERVER, co.max_endpoints_per_slice, 1, 1000, NULL,
	"(default 100)"),
    STR("audit-policy-file", "PATH", CMD_SERVER, o.audit_policy_file,
	"audit.k8s.io/v1 Policy (YAML or JSON)"),
    STR("audit-log-path", "PATH", CMD_SERVER, o.audit_log_path,
	"audit events as JSON lines (\"-\" = stderr)"),
    INT("audit-log-maxsize", "MB", CMD_SERVER, o.audit_log_maxsize_mb, 0, 100000, NULL,
	"rotate the audit log past this size (0 = never)"),
    INT("audit-log-maxbackup", "N", CMD_SERVER, o.audit_log_maxbackup, 0, 100000, NULL,
	"rotated audit logs kept (0 = all)"),
    STR("encryption-provider-config", "PATH", CMD_SERVER, enc_config,
	"EncryptionConfiguration: encrypt Secrets (etc.) at rest"),
    SWITCH("disable-controllers", CMD_SERVER, no_controllers,
	   "run no controllers (endpoints, slices, LB IPs, pod CIDRs,\nworkloads, GC, namespaces)"),
    INT("node-cidr-mask-size-ipv4", "N", CMD_SERVER, co.node_mask4, 8, 30, NULL,
	"pod CIDR per node (default 24)"),
    INT("node-cidr-mask-size-ipv6", "N", CMD_SERVER, co.node_mask6, 16, 126, NULL,
	"pod CIDR per node (default 64)"),
    SWITCH("disable-scheduler", CMD_SERVER, no_sched, "do not bind pods without spec.nodeName to nodes"),
    {.name = "leader-elect",
     .cmds = CMD_SERVER,
     .type = FLAG_BOOL,
     .off = OFF(leader_elect),
     .help = "run the controllers and the scheduler only while holding the\n"
	     "Lease kube-system/kube-controller-manager (default true)"},
    LEADER_DURATION("leader-elect-lease-duration", le_ms[0], "a positive duration (like 15s)",
		    "how long a standby waits after the last renewal (default 15s)"),
    LEADER_DURATION("leader-elect-renew-deadline", le_ms[1], "a positive duration (like 10s)",
		    "how long the leader keeps trying to renew (default 10s)"),
    LEADER_DURATION("leader-elect-retry-period", le_ms[2], "a positive duration (like 2s)",
		    "between tries to acquire or renew (default 2s)"),

    /* The node agent (`svcplane agent`, and the server's own unless --disable-agent). */
    STR("node-name", "NAME", NODE, ao.node_name, "this node's name (default: the host name)"),
    CHECKED("node-ip", "IP[,IP]", NODE, ao.node_ip, flag_is_ip_pair, "an IP address, or IPv4,IPv6",
	    "this node's InternalIP (default: the address of the default\n"
	    "route's interface; IPv4,IPv6 for dual stack)"),
    SWITCH("disable-agent", CMD_SERVER, no_agent,
	   "do not run the node agent for this host (it runs by default\n"
	   "when root: pods, bridge svcp0, routes, masquerade)"),
    STR("agent-data-dir", "DIR", CMD_SERVER, ao.data_dir, "the embedded agent's state (default DIR/agent)"),
    STR("data-dir", "DIR", CMD_AGENT, ao.data_dir,
	"state: pods, IPs, logs (default /var/lib/svcplane/agent)"),
    INT("kubelet-port", "N", NODE, ao.kubelet_port, 1, 65535, PORT1,
	"the log and exec endpoint the API server proxies to (default 10250)"),
    CHECKED("proxy-mode", "MODE", NODE, ao.proxy_mode, node_agent_proxy_mode_valid,
	    "one of nftables, iptables, userspace", "nftables (default), iptables or userspace"),
    CHECKED("nodeport-addresses", "CIDR[,CIDR]", NODE, ao.nodeport_addresses, nodeport_addresses,
	    "a list of CIDRs or IP addresses",
	    "serve node ports only on node addresses inside these\n(default: every address, and 127.0.0.1)"),
    CHECKED("cluster-cidr", "CIDR[,CIDR]", CMD_AGENT, ao.cluster_cidr, flag_is_cidr_pair, CIDR_PAIR,
	    "pod network: traffic to cluster IPs from outside it is\nmasqueraded (default: none)"),
    STR("cluster-domain", "DOMAIN", DAEMONS, cluster_domain, "(default cluster.local)"),
    CHECKED("cluster-dns", "IP", NODE, ao.cluster_dns, flag_is_ip, "an IP address",
	    "nameserver written into ClusterFirst pods' resolv.conf, served\n"
	    "by the agent's DNS (default: the kube-dns Service's cluster IP)"),

    /* Cluster DNS: the agent's, or `svcplane dns` alone. */
    CHECKED("listen", "IP[,IP]", CMD_DNS, listen, ips8, "a list of at most 8 IP addresses",
	    "addresses to serve on, UDP and TCP (default 127.0.0.1)"),
    INT("port", "N", CMD_DNS, dns.port, 1, 65535, PORT1, "(default 53)"),
    {.name = "dns-upstream",
     .meta = "IP[:PORT][,...]",
     .cmds = DAEMONS,
     .type = FLAG_LIST,
     .off = OFF(dns_upstreams),
     .hi = 8,
     .check = dns_upstream,
     .what = "a list of at most 8 IP[:PORT]",
     .help = "resolvers for other names (default: /etc/resolv.conf's)"},
    STR("resolv-conf", "PATH", CMD_DNS, dns.resolv_conf, "(default /etc/resolv.conf)"),
    CHECKED("dns-allow", "CIDR[,CIDR]", CMD_DNS, allow, cidrs16, "a list of at most 16 CIDRs",
	    "also answer these clients (beyond loopback, nodes, pod CIDRs)"),
    SWITCH("dns-allow-any", CMD_DNS, dns.allow_any, "answer every client (an open resolver)"),
    INT("workers", "N", CMD_DNS, dns.workers, 1, 32, NULL, "UDP threads (default: one per CPU)"),
    SWITCH("disable-dns", NODE, ao.dns_disable, "serve no cluster DNS on this node"),
    INT("dns-ttl", "N", DAEMONS, dns_ttl, 0, 3600, "a number of seconds from 0 to 3600",
	"TTL of cluster records and negative answers, 0-3600 (default 5)"),

    /* Ingress and LoadBalancer addresses on the node. */
    SWITCH("disable-ingress", NODE, ao.ingress_disable, "run no Ingress controller on this node"),
    CHECKED("ingress-address", "IP[,IP]", NODE, ao.ingress_addresses, ips4,
	    "a list of at most 4 IP addresses", "its addresses (default: the node IPs)"),
    INT("ingress-http-port", "N", NODE, ao.ingress_http_port, 1, 65535, PORT1, "(default 80)"),
    INT("ingress-https-port", "N", NODE, ao.ingress_https_port, 1, 65535, PORT1, "(default 443)"),
    FN("ingress-service-type", "TYPE", CMD_SERVER, set_ingress_type, "NodeAddress or LoadBalancer",
       "NodeAddress (default: Ingresses show the nodes' addresses) or\n"
       "LoadBalancer (an address from --loadbalancer-ip-pool, carried to\n"
       "the nodes' Ingress controllers by the Service proxy)"),
    INT("node-lease-duration", "N", NODE, ao.node_lease_duration_s, 1, 3600,
	"a number of seconds from 1 to 3600",
	"the node Lease (kube-node-lease), renewed every N/4 s; a\n"
	"LoadBalancer address moves N s after its node's last\n"
	"renewal (1-3600, default 4)"),
    CHECKED("loadbalancer-interface", "IFACE", NODE, ao.lb_interface, iface_name,
	    "an interface name (1-15 characters, one interface)",
	    "answer ARP/NDP for LoadBalancer addresses this node is\n"
	    "elected for on IFACE (default: the node IP's interface)"),
    SWITCH("cleanup", CMD_AGENT, cleanup, "stop every pod and remove the pod network, then exit"),

    /* store migrate */
    STR("from", "URL", CMD_STORE, from.url, "the source datastore (as --datastore-endpoint)"),
    STR("to", "URL", CMD_STORE, to.url, "the destination datastore"),
    SWITCH("force", CMD_STORE, force,
	   "overwrite a non-empty destination (its keys the source\nlacks are deleted)"),
    STR("from-etcd-prefix", "P", CMD_STORE, from.etcd_prefix,
	"etcd key prefix of the source (default /registry)"),
    STR("to-etcd-prefix", "P", CMD_STORE, to.etcd_prefix, "etcd key prefix of the destination"),
    FN("etcd-cafile", "F", CMD_STORE, set_both_ca, NULL, "https to etcd: its CA"),
    FN("etcd-certfile", "F", CMD_STORE, set_both_cert, NULL, "https to etcd: client certificate"),
    FN("etcd-keyfile", "F", CMD_STORE, set_both_key, NULL, "https to etcd: client key"),

    {.name = "verbose",
     .shortc = 'v',
     .cmds = DAEMONS,
     .type = FLAG_FN,
     .set = set_verbose,
     .help = "debug logging"},
    {0},
};

const struct flag_set cmd_server_flags = {"svcplane server", "svcplane server [flags]", CMD_SERVER, rows};
const struct flag_set cmd_agent_flags = {"svcplane agent", "svcplane agent [flags]", CMD_AGENT, rows};
const struct flag_set cmd_dns_flags = {"svcplane dns", "svcplane dns [flags]", CMD_DNS, rows};
const struct flag_set cmd_store_flags = {
    "svcplane store migrate",
    "svcplane store migrate --from URL --to URL [flags]\n"
    "copies every key and value of one datastore into another (sqlite:// or etcd://),\n"
    "then reads the copy back and compares; stop the servers first.",
    CMD_STORE, rows};
