/* main.c - the svcplane binary: flag parsing and wiring of the roles; the only place that
 * may exit(). `svcplane server` runs the API server on the embedded store. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apiserver/apiserver.h"
#include "base/cidr.h"
#include "ingress/status.h"
#include "client/client.h"
#include "controller/elector.h"
#include "controller/manager.h"
#include "controller/namespace.h"
#include "controller/wlmanager.h"
#include "controller/scheduler.h"
#include "dns/fwd.h"
#include "dns/server.h"
#include <sys/socket.h>
#include "node/agent.h"
#include "proxy/proxy.h"
#include "api/object.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/ctl.h"
#include "store/store.h"

#define SVCPLANE_VERSION "0.1.0"

static void usage_server(FILE *f)
{
	fprintf(
	    f,
	    "usage: svcplane server [flags]\n"
	    "  --data-dir DIR                    state directory (default /var/lib/svcplane)\n"
	    "  --bind-address IP                 address to serve on (default 127.0.0.1)\n"
	    "  --secure-port N                   HTTPS port (default 6443; 0 picks a free port)\n"
	    "  --insecure-http                   serve plain HTTP instead of HTTPS (loopback only)\n"
	    "  --write-kubeconfig PATH           admin kubeconfig to write (default DIR/kubeconfig)\n"
	    "  --token-file PATH                 admin bearer token (default DIR/token, made at first start)\n"
	    "  --advertise-address IP            address written into the kubeconfig\n"
	    "  --service-cluster-ip-range CIDR[,CIDR]  (default 10.96.0.0/12)\n"
	    "  --service-node-port-range A-B     (default 30000-32767)\n"
	    "  --cluster-cidr CIDR[,CIDR]        pod network (default 10.244.0.0/16)\n"
	    "  --cluster-domain DOMAIN           (default cluster.local)\n"
	    "  --datastore-endpoint URL          store URL (default sqlite://DIR/state.db)\n"
	    "  --history-revisions N             revisions kept for watch and reads (default 10000)\n"
	    "  --etcd-prefix P                   etcd: prefix of every key (default /registry)\n"
	    "  --etcd-cafile F                   etcd: CA of its server certificates (https)\n"
	    "  --etcd-certfile F --etcd-keyfile F  etcd: client certificate and key (https)\n"
	    "  --etcd-compaction-interval D      etcd: compact history every D (5m; 0 = never)\n"
	    "  --allow-service-external-ips      accept spec.externalIPs (off by default: CVE-2020-8554)\n"
	    "  --loadbalancer-ip-pool CIDR[,CIDR]  addresses for LoadBalancer Services (none by default)\n"
	    "  --loadbalancer-class NAME         also serve Services with this loadBalancerClass\n"
	    "  --max-endpoints-per-slice N       (default 100)\n"
	    "  --audit-policy-file PATH          audit.k8s.io/v1 Policy (YAML or JSON)\n"
	    "  --audit-log-path PATH             audit events as JSON lines (\"-\" = stderr)\n"
	    "  --audit-log-maxsize MB            rotate the audit log past this size (0 = never)\n"
	    "  --audit-log-maxbackup N           rotated audit logs kept (0 = all)\n"
	    "  --encryption-provider-config PATH EncryptionConfiguration: encrypt Secrets (etc.) at rest\n"
	    "  --disable-controllers             run no controllers (endpoints, slices, LB IPs, pod CIDRs, workloads, GC, namespaces)\n"
	    "  --node-cidr-mask-size-ipv4 N      pod CIDR per node (default 24; -ipv6 default 64)\n"
	    "  --disable-scheduler               do not bind pods without spec.nodeName to nodes\n"
	    "  --leader-elect[=BOOL]             run the controllers and the scheduler only while holding the\n"
	    "                                    Lease kube-system/kube-controller-manager (default true)\n"
	    "  --leader-elect-lease-duration D   how long a standby waits after the last renewal (default 15s)\n"
	    "  --leader-elect-renew-deadline D   how long the leader keeps trying to renew (default 10s)\n"
	    "  --leader-elect-retry-period D     between tries to acquire or renew (default 2s)\n"
	    "  --node-name NAME                  the embedded agent's node (default: the host name)\n"
	    "  --node-ip IP[,IP]                 its InternalIP (default: the address of the default route's\n"
	    "                                    interface; IPv4,IPv6 for dual stack)\n"
	    "  --disable-agent                   do not run the node agent for this host (it runs by default\n"
	    "                                    when root: pods, bridge svcp0, routes, masquerade)\n"
	    "  --kubelet-port N                  the agent's log endpoint (default 10250)\n"
	    "  --proxy-mode MODE                 nftables (default), iptables or userspace\n"
	    "  --nodeport-addresses CIDR[,CIDR]  serve node ports only on node addresses inside these\n"
	    "                                    (default: every address, and 127.0.0.1)\n"
	    "  --agent-data-dir DIR              the embedded agent's state (default DIR/agent)\n"
	    "  --cluster-dns IP                  nameserver written into ClusterFirst pods' resolv.conf, served by\n"
	    "                                    the agent's DNS (default: the 10th address of the Service range)\n"
	    "  --dns-upstream IP[:PORT][,...]    the agent's DNS: resolvers for other names (default: resolv.conf's)\n"
	    "  --disable-dns                     serve no cluster DNS on this node\n"
	    "  --disable-ingress                 run no Ingress controller on this node\n"
	    "  --ingress-address IP[,IP]         its addresses (default: the node IPs)\n"
	    "  --ingress-http-port N             (default 80; --ingress-https-port N: default 443)\n"
	    "  --dns-ttl N                       TTL of cluster records, 0-3600 (default 5)\n"
	    "  --node-lease-duration N           the node Lease (kube-node-lease), renewed every N/4 s; a\n"
	    "                                    LoadBalancer address moves N s after its node's last\n"
	    "                                    renewal (1-3600, default 4)\n"
	    "  --loadbalancer-interface IFACE    answer ARP/NDP for LoadBalancer addresses this node is\n"
	    "                                    elected for on IFACE (default: the node IP's interface)\n"
	    "  --ingress-service-type TYPE       NodeAddress (default: Ingresses show the nodes' addresses) or\n"
	    "                                    LoadBalancer (an address from --loadbalancer-ip-pool, carried to\n"
	    "                                    the nodes' Ingress controllers by the Service proxy)\n"
	    "  -v, --verbose                     debug logging\n");
}

/* One CIDR, or two of different families ("IPv4,IPv6"). */
/* A Go-style duration of the flags ("5m", "30s", "1h30m", "500ms", "0") into *ms. */
static int parse_duration_ms(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	int64_t total = 0;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (end == s || n < 0 || errno || n > 1000000000LL)
			return -EINVAL;
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].unit);
			if (!strncmp(end, units[i].unit, ul) && !(ul == 1 && end[1] == 's')) {
				total += n * units[i].ms;
				s = end + ul;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
	}
	*ms = total;
	return 0;
}

static bool valid_cidr_list(const char *s)
{
	char *copy = xstrdup(s), *save = NULL, err[128];
	struct cidr c[3];
	int n = 0;
	bool ok = true;
	for (char *p = strtok_r(copy, ",", &save); p && ok; p = strtok_r(NULL, ",", &save))
		ok = n < 2 && cidr_parse(p, &c[n++], err, sizeof(err)) == 0;
	free(copy);
	return ok && n >= 1 && (n == 1 || c[0].net.family != c[1].net.family);
}

/* --node-ip: one address, or an IPv4 and an IPv6 address separated by a comma. */
static bool valid_node_ips(const char *s)
{
	struct ip_addr a, b;
	const char *comma = strchr(s, ',');
	if (!comma)
		return ip_parse(s, &a) == 0;
	char *first = xstrndup(s, (size_t)(comma - s));
	bool ok = ip_parse(first, &a) == 0 && ip_parse(comma + 1, &b) == 0 && a.family != b.family;
	free(first);
	return ok;
}

static bool valid_port_range(const char *s)
{
	int a, b;
	char extra;
	return sscanf(s, "%d-%d%c", &a, &b, &extra) == 2 && a >= 1 && b <= 65535 && a <= b;
}

/* Splits a comma list into a NULL-terminated array of at most max strings (heap; free
 * with free_list). Returns NULL when an item is empty or there are too many. */
static char **split_list(const char *s, int max)
{
	char **v = xcalloc((size_t)max + 1, sizeof(char *));
	int n = 0;
	const char *p = s;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == 0 || n == max) {
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return NULL;
		}
		v[n++] = xstrndup(p, l);
		if (!c)
			break;
		p = c + 1;
	}
	return v;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The work of one server that only one server of a cluster may do at a time: the
 * controllers and the scheduler (and the Ingress status writer). Started at once with
 * --leader-elect=false, else while this server holds the Lease. */
struct ctrls {
	struct ctrl_manager_opts co;
	struct client_config cc;
	struct ing_status_opts io;
	bool no_controllers, no_sched;
	struct ctrl_manager *cm;
	struct ctrl_workloads *wl;
	struct ctrl_namespace *nsc;
	struct sched *sc;
	struct ing_status *ist;
};

static void ctrls_stop(struct ctrls *c)
{
	ing_status_stop(c->ist);
	sched_stop(c->sc);
	ctrl_namespace_stop(c->nsc);
	ctrl_workloads_stop(c->wl);
	ctrl_manager_stop(c->cm);
	c->ist = NULL, c->sc = NULL, c->nsc = NULL, c->wl = NULL, c->cm = NULL;
}

/* The controller manager's Lease holder: "<hostname>_<id>", id a UUID kept in
 * DATA_DIR/server-id, so a server restarted on its data dir (after a crash, or the one
 * server of a SQLite cluster) renews its own Lease at once instead of waiting it out as a
 * stranger, while two servers (two data dirs) never share a name. Heap string. */
static char *server_identity(const char *data_dir)
{
	char host[256] = "localhost", *id = NULL;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	char *path = xasprintf("%s/server-id", data_dir);
	if (file_read(path, 64, &id, NULL) == 0)
		id[strcspn(id, "\n")] = 0;
	if (!id || strlen(id) < 8) {
		char uuid[40];
		free(id);
		api_uuid(uuid, sizeof(uuid));
		id = xstrdup(uuid);
		if (file_write_atomic(path, uuid, strlen(uuid), 0600) < 0)
			log_warn("server: cannot keep %s: a restart will wait out its own Lease", path);
	}
	char *out = xasprintf("%s_%s", host, id);
	free(id);
	free(path);
	return out;
}

static int ctrls_start(struct ctrls *c, char *err, size_t errlen)
{
	int rc = 0;
	c->co.cfg = &c->cc;
	c->io.cfg = &c->cc;
	if (!c->no_controllers)
		rc = ctrl_manager_start(&c->co, &c->cm, err, errlen);
	if (rc == 0 && !c->no_controllers)
		rc = ctrl_workloads_start(&c->cc, &c->wl, err, errlen);
	if (rc == 0 && !c->no_controllers)
		rc = ctrl_namespace_start(&c->cc, &c->nsc, err, errlen);
	if (rc == 0 && !c->no_sched)
		rc = sched_start(&c->cc, &c->sc, err, errlen);
	/* Ingress status (ADDRESS) and events: one writer for the cluster, beside the
	 * controllers; the agents only serve the traffic. */
	if (rc == 0 && !c->no_controllers)
		rc = ing_status_start(&c->io, &c->ist, err, errlen);
	if (rc < 0)
		ctrls_stop(c);
	return rc;
}

/* The elector's callbacks (its runner thread). A leader that cannot start its
 * controllers exits, as kube-controller-manager does, so a standby takes over. */
static void ctrls_on_start(void *ud)
{
	char err[512] = "";
	if (ctrls_start(ud, err, sizeof(err)) < 0) {
		log_error("starting the controllers: %s", err);
		exit(1);
	}
	log_info("controllers started (leading)");
}

static void ctrls_on_stop(void *ud)
{
	ctrls_stop(ud);
	log_info("controllers stopped");
}

/* The node agent's flags that both `server` and `agent` take (by long name), validated the
 * same way. Returns 0, 1 when flag is not one of them, or -1 after printing the error. */
static int agent_flag(const char *cmd, const char *flag, const char *v, struct node_agent_opts *ao)
{
	if (!strcmp(flag, "kubelet-port")) {
		char *end;
		long p = strtol(v, &end, 10);
		if (*end || !*v || p < 1 || p > 65535) {
			fprintf(stderr, "svcplane %s: --kubelet-port: %s is not a port number (1-65535)\n",
				cmd, v);
			return -1;
		}
		ao->kubelet_port = (int)p;
	} else if (!strcmp(flag, "proxy-mode")) {
		if (!node_agent_proxy_mode_valid(v)) {
			fprintf(stderr,
				"svcplane %s: --proxy-mode: %s is not one of nftables, iptables, userspace\n",
				cmd, v);
			return -1;
		}
		ao->proxy_mode = v;
	} else if (!strcmp(flag, "nodeport-addresses")) {
		struct cidr *np = NULL;
		char e[256];
		int n = proxy_nodeport_addresses_parse(v, &np, e, sizeof(e));
		free(np);
		if (n < 0) {
			fprintf(stderr, "svcplane %s: --nodeport-addresses: %s\n", cmd, e);
			return -1;
		}
		ao->nodeport_addresses = v;
	} else if (!strcmp(flag, "cluster-cidr")) {
		if (!valid_cidr_list(v)) {
			fprintf(stderr,
				"svcplane %s: --cluster-cidr: %s is not one CIDR or two (IPv4,IPv6)\n", cmd,
				v);
			return -1;
		}
		ao->cluster_cidr = v;
	} else if (!strcmp(flag, "node-ip")) {
		if (!valid_node_ips(v)) {
			fprintf(stderr, "svcplane %s: --node-ip: %s is not an IP address, or IPv4,IPv6\n",
				cmd, v);
			return -1;
		}
		ao->node_ip = v;
	} else if (!strcmp(flag, "node-lease-duration")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (*end || !*v || t < 1 || t > 3600) {
			fprintf(
			    stderr,
			    "svcplane %s: --node-lease-duration: %s is not a number of seconds from 1 to 3600\n",
			    cmd, v);
			return -1;
		}
		ao->node_lease_duration_s = (int)t;
	} else if (!strcmp(flag, "loadbalancer-interface")) {
		if (!*v || strlen(v) >= 16 || strchr(v, '/') || strchr(v, ' ') || strchr(v, ',')) {
			fprintf(
			    stderr,
			    "svcplane %s: --loadbalancer-interface: %s is not an interface name (1-15 characters, "
			    "one interface)\n",
			    cmd, v);
			return -1;
		}
		ao->lb_interface = v;
	} else if (!strcmp(flag, "ingress-http-port") || !strcmp(flag, "ingress-https-port")) {
		char *end;
		long p = strtol(v, &end, 10);
		if (*end || !*v || p < 1 || p > 65535) {
			fprintf(stderr, "svcplane %s: --%s: %s is not a port number (1-65535)\n", cmd, flag,
				v);
			return -1;
		}
		if (!strcmp(flag, "ingress-http-port"))
			ao->ingress_http_port = (int)p;
		else
			ao->ingress_https_port = (int)p;
	} else if (!strcmp(flag, "ingress-address")) {
		char **l = split_list(v, 4);
		bool ok = l != NULL;
		struct ip_addr ip;
		for (size_t i = 0; ok && l[i]; i++)
			ok = ip_parse(l[i], &ip) == 0;
		free_list(l);
		if (!ok) {
			fprintf(
			    stderr,
			    "svcplane %s: --ingress-address: %s is not a list of at most 4 IP addresses\n",
			    cmd, v);
			return -1;
		}
		ao->ingress_addresses = v;
	} else if (!strcmp(flag, "dns-ttl")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (*end || !*v || t < 0 || t > 3600) {
			fprintf(stderr,
				"svcplane %s: --dns-ttl: %s is not a number of seconds from 0 to 3600\n", cmd,
				v);
			return -1;
		}
		ao->dns_ttl = (unsigned)t;
		ao->dns_ttl_set = true;
	} else if (!strcmp(flag, "dns-upstream")) {
		char **l = split_list(v, 8);
		struct sockaddr_storage ss;
		unsigned sl;
		bool ok = l != NULL;
		for (size_t i = 0; ok && l[i]; i++)
			ok = dns_upstream_parse(l[i], &ss, &sl) == 0;
		if (!ok) {
			fprintf(stderr,
				"svcplane %s: --dns-upstream: %s is not a list of at most 8 IP[:PORT]\n", cmd,
				v);
			free_list(l);
			return -1;
		}
		free_list((char **)ao->dns_upstreams);
		ao->dns_upstreams = (const char *const *)l;
	} else if (!strcmp(flag, "cluster-dns")) {
		struct ip_addr a;
		if (ip_parse(v, &a) < 0) {
			fprintf(stderr, "svcplane %s: --cluster-dns: %s is not an IP address\n", cmd, v);
			return -1;
		}
		ao->cluster_dns = v;
	} else {
		return 1;
	}
	return 0;
}

static int cmd_server(int argc, char **argv)
{
	struct apiserver_opts o = {
	    .data_dir = "/var/lib/svcplane",
	    .bind_address = "127.0.0.1",
	    .secure_port = 6443,
	    .service_cluster_ip_range = "10.96.0.0/12",
	    .service_node_port_range = "30000-32767",
	    .cluster_cidr = "10.244.0.0/16",
	    .cluster_domain = "cluster.local",
	};
	const char *store_url = NULL;
	long long history = 0;
	struct store_opts etcd = {0}; /* the --etcd-* flags */
	enum {
		O_DATA = 256,
		O_BIND,
		O_PORT,
		O_INSECURE,
		O_KUBECONFIG,
		O_TOKEN,
		O_ADV,
		O_SCIR,
		O_NPR,
		O_CCIDR,
		O_DOMAIN,
		O_STORE,
		O_HIST,
		O_ETCD_PREFIX,
		O_ETCD_CA,
		O_ETCD_CERT,
		O_ETCD_KEY,
		O_ETCD_COMPACT,
		O_EXTIPS,
		O_LBPOOL,
		O_MAXEPS,
		O_MASK4,
		O_MASK6,
		O_LBCLASS,
		O_NOCTRL,
		O_NOSCHED,
		O_NODENAME,
		O_NODEIP,
		O_NOAGENT,
		O_AGENTDIR,
		O_CDNS,
		O_KPORT,
		O_PMODE,
		O_NPADDR,
		O_DNSUP,
		O_NODNS,
		O_DNSTTL,
		O_LEASE,
		O_LBIF,
		O_NOING,
		O_INGADDR,
		O_INGHTTP,
		O_INGHTTPS,
		O_INGTYPE,
		O_AUDPOL,
		O_AUDPATH,
		O_AUDSIZE,
		O_AUDBACK,
		O_ENCCONF,
		O_LE,
		O_LEDUR,
		O_LERENEW,
		O_LERETRY
	};
	const char *enc_config = NULL;
	bool no_sched = false, no_agent = false;
	struct node_agent_opts ao = {0};
	bool no_controllers = false;
	struct ctrl_manager_opts co = {0};
	bool leader_elect = true;
	int64_t le_ms[3] = {15000, 10000, 2000}; /* lease duration, renew deadline, retry period */
	static const struct option opts[] = {
	    {"data-dir", required_argument, 0, O_DATA},
	    {"bind-address", required_argument, 0, O_BIND},
	    {"secure-port", required_argument, 0, O_PORT},
	    {"insecure-http", no_argument, 0, O_INSECURE},
	    {"write-kubeconfig", required_argument, 0, O_KUBECONFIG},
	    {"token-file", required_argument, 0, O_TOKEN},
	    {"advertise-address", required_argument, 0, O_ADV},
	    {"service-cluster-ip-range", required_argument, 0, O_SCIR},
	    {"service-node-port-range", required_argument, 0, O_NPR},
	    {"cluster-cidr", required_argument, 0, O_CCIDR},
	    {"cluster-domain", required_argument, 0, O_DOMAIN},
	    {"datastore-endpoint", required_argument, 0, O_STORE},
	    {"history-revisions", required_argument, 0, O_HIST},
	    {"etcd-prefix", required_argument, 0, O_ETCD_PREFIX},
	    {"etcd-cafile", required_argument, 0, O_ETCD_CA},
	    {"etcd-certfile", required_argument, 0, O_ETCD_CERT},
	    {"etcd-keyfile", required_argument, 0, O_ETCD_KEY},
	    {"etcd-compaction-interval", required_argument, 0, O_ETCD_COMPACT},
	    {"allow-service-external-ips", no_argument, 0, O_EXTIPS},
	    {"loadbalancer-ip-pool", required_argument, 0, O_LBPOOL},
	    {"disable-controllers", no_argument, 0, O_NOCTRL},
	    {"loadbalancer-class", required_argument, 0, O_LBCLASS},
	    {"max-endpoints-per-slice", required_argument, 0, O_MAXEPS},
	    {"node-cidr-mask-size-ipv4", required_argument, 0, O_MASK4},
	    {"node-cidr-mask-size-ipv6", required_argument, 0, O_MASK6},
	    {"disable-scheduler", no_argument, 0, O_NOSCHED},
	    {"node-name", required_argument, 0, O_NODENAME},
	    {"node-ip", required_argument, 0, O_NODEIP},
	    {"disable-agent", no_argument, 0, O_NOAGENT},
	    {"agent-data-dir", required_argument, 0, O_AGENTDIR},
	    {"cluster-dns", required_argument, 0, O_CDNS},
	    {"kubelet-port", required_argument, 0, O_KPORT},
	    {"proxy-mode", required_argument, 0, O_PMODE},
	    {"nodeport-addresses", required_argument, 0, O_NPADDR},
	    {"dns-upstream", required_argument, 0, O_DNSUP},
	    {"disable-dns", no_argument, 0, O_NODNS},
	    {"dns-ttl", required_argument, 0, O_DNSTTL},
	    {"node-lease-duration", required_argument, 0, O_LEASE},
	    {"loadbalancer-interface", required_argument, 0, O_LBIF},
	    {"disable-ingress", no_argument, 0, O_NOING},
	    {"ingress-address", required_argument, 0, O_INGADDR},
	    {"ingress-http-port", required_argument, 0, O_INGHTTP},
	    {"ingress-https-port", required_argument, 0, O_INGHTTPS},
	    {"ingress-service-type", required_argument, 0, O_INGTYPE},
	    {"audit-policy-file", required_argument, 0, O_AUDPOL},
	    {"audit-log-path", required_argument, 0, O_AUDPATH},
	    {"audit-log-maxsize", required_argument, 0, O_AUDSIZE},
	    {"audit-log-maxbackup", required_argument, 0, O_AUDBACK},
	    {"encryption-provider-config", required_argument, 0, O_ENCCONF},
	    {"leader-elect", optional_argument, 0, O_LE},
	    {"leader-elect-lease-duration", required_argument, 0, O_LEDUR},
	    {"leader-elect-renew-deadline", required_argument, 0, O_LERENEW},
	    {"leader-elect-retry-period", required_argument, 0, O_LERETRY},
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	bool ing_lb = false;
	int c, li = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, &li)) != -1) {
		char *end;
		/* The agent's flags (but --cluster-cidr, the controllers' here). */
		int af =
		    c != O_CCIDR && li >= 0 && optarg ? agent_flag("server", opts[li].name, optarg, &ao) : 1;
		li = -1;
		if (af < 0)
			return 2;
		if (af == 0)
			continue;
		if (c == O_AUDSIZE || c == O_AUDBACK) {
			long v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 100000) {
				fprintf(stderr, "svcplane server: %s: %s must be a number from 0 to 100000\n",
					argv[optind - 1], optarg);
				return 2;
			}
			*(c == O_AUDSIZE ? &o.audit_log_maxsize_mb : &o.audit_log_maxbackup) = (int)v;
			continue;
		}
		if (c == O_ENCCONF) {
			enc_config = optarg;
			continue;
		}
		if (c == O_LE) {
			if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false")) {
				fprintf(stderr, "svcplane server: --leader-elect: %s is not true or false\n",
					optarg);
				return 2;
			}
			leader_elect = !optarg || !strcmp(optarg, "true");
			continue;
		}
		if (c == O_LEDUR || c == O_LERENEW || c == O_LERETRY) {
			int64_t v = 0;
			if (parse_duration_ms(optarg, &v) < 0 || v <= 0) {
				fprintf(
				    stderr,
				    "svcplane server: --leader-elect-%s: %s is not a positive duration (like 15s)\n",
				    c == O_LEDUR     ? "lease-duration"
				    : c == O_LERENEW ? "renew-deadline"
						     : "retry-period",
				    optarg);
				return 2;
			}
			le_ms[c == O_LEDUR ? 0 : c == O_LERENEW ? 1 : 2] = v;
			continue;
		}
		if (c == O_AUDPOL || c == O_AUDPATH) {
			*(c == O_AUDPOL ? &o.audit_policy_file : &o.audit_log_path) = optarg;
			continue;
		}
		switch (c) {
		case O_INGTYPE:
			if (strcmp(optarg, "LoadBalancer") && strcmp(optarg, "NodeAddress")) {
				fprintf(
				    stderr,
				    "svcplane server: --ingress-service-type: %s is not NodeAddress or LoadBalancer\n",
				    optarg);
				return 2;
			}
			ing_lb = !strcmp(optarg, "LoadBalancer");
			break;
		case O_NOING:
			ao.ingress_disable = true;
			break;
		case O_NODNS:
			ao.dns_disable = true;
			break;
		case O_NOSCHED:
			no_sched = true;
			break;
		case O_NODENAME:
			ao.node_name = optarg;
			break;
		case O_NOAGENT:
			no_agent = true;
			break;
		case O_AGENTDIR:
			ao.data_dir = optarg;
			break;
		case O_DATA:
			o.data_dir = optarg;
			break;
		case O_BIND:
			o.bind_address = optarg;
			break;
		case O_PORT:
			o.secure_port = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || o.secure_port < 0 || o.secure_port > 65535) {
				fprintf(stderr,
					"svcplane server: --secure-port: %s is not a port number (0-65535)\n",
					optarg);
				return 2;
			}
			break;
		case O_INSECURE:
			o.insecure_http = true;
			break;
		case O_KUBECONFIG:
			o.kubeconfig = optarg;
			break;
		case O_TOKEN:
			o.token_file = optarg;
			break;
		case O_ADV:
			o.advertise_address = optarg;
			break;
		case O_SCIR:
			o.service_cluster_ip_range = optarg;
			break;
		case O_NPR:
			o.service_node_port_range = optarg;
			break;
		case O_CCIDR:
			o.cluster_cidr = optarg;
			break;
		case O_DOMAIN:
			o.cluster_domain = optarg;
			break;
		case O_STORE:
			store_url = optarg;
			break;
		case O_ETCD_PREFIX:
			etcd.etcd_prefix = optarg;
			break;
		case O_ETCD_CA:
			etcd.etcd_cafile = optarg;
			break;
		case O_ETCD_CERT:
			etcd.etcd_certfile = optarg;
			break;
		case O_ETCD_KEY:
			etcd.etcd_keyfile = optarg;
			break;
		case O_ETCD_COMPACT:
			if (parse_duration_ms(optarg, &etcd.etcd_compaction_interval_ms) < 0) {
				fprintf(stderr,
					"svcplane server: --etcd-compaction-interval: %s is not a duration "
					"like 5m, 30s or 0\n",
					optarg);
				return 2;
			}
			if (etcd.etcd_compaction_interval_ms == 0)
				etcd.etcd_compaction_interval_ms = -1; /* 0 = never */
			break;
		case O_HIST:
			history = strtoll(optarg, &end, 10);
			if (*end || history < 100) {
				fprintf(stderr,
					"svcplane server: --history-revisions: %s must be a number >= 100\n",
					optarg);
				return 2;
			}
			break;
		case O_EXTIPS:
			o.allow_external_ips = true;
			break;
		case O_LBPOOL:
			co.lb_pools = optarg;
			break;
		case O_NOCTRL:
			no_controllers = true;
			break;
		case O_LBCLASS:
			co.lb_class = optarg;
			break;
		case O_MAXEPS:
		case O_MASK4:
		case O_MASK6: {
			long v = strtol(optarg, &end, 10);
			int lo = c == O_MAXEPS	? 1
				 : c == O_MASK4 ? 8
						: 16,
			    hi = c == O_MAXEPS	? 1000
				 : c == O_MASK4 ? 30
						: 126;
			if (*end || !*optarg || v < lo || v > hi) {
				fprintf(stderr, "svcplane server: %s: %s must be a number from %d to %d\n",
					argv[optind - 1], optarg, lo, hi);
				return 2;
			}
			if (c == O_MAXEPS)
				co.max_endpoints_per_slice = (int)v;
			else if (c == O_MASK4)
				co.node_mask4 = (int)v;
			else
				co.node_mask6 = (int)v;
			break;
		}
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_server(stdout);
			return 0;
		default:
			usage_server(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane server: unexpected argument %s\n", argv[optind]);
		usage_server(stderr);
		return 2;
	}
	if (leader_elect) {
		char lerr[256];
		if (ctrl_elector_check(le_ms[0], le_ms[1], le_ms[2], lerr, sizeof(lerr)) < 0) {
			fprintf(stderr, "svcplane server: %s\n", lerr);
			return 2;
		}
	}
	unsigned char ab[16];
	if (inet_pton(AF_INET, o.bind_address, ab) != 1 && inet_pton(AF_INET6, o.bind_address, ab) != 1) {
		fprintf(stderr, "svcplane server: --bind-address: %s is not an IP address\n", o.bind_address);
		return 2;
	}
	if (!valid_cidr_list(o.service_cluster_ip_range)) {
		fprintf(
		    stderr,
		    "svcplane server: --service-cluster-ip-range: %s is not one CIDR or two (IPv4,IPv6)\n",
		    o.service_cluster_ip_range);
		return 2;
	}
	if (!valid_cidr_list(o.cluster_cidr)) {
		fprintf(stderr, "svcplane server: --cluster-cidr: %s is not one CIDR or two (IPv4,IPv6)\n",
			o.cluster_cidr);
		return 2;
	}
	if (!valid_port_range(o.service_node_port_range)) {
		fprintf(stderr,
			"svcplane server: --service-node-port-range: %s is not a range like 30000-32767\n",
			o.service_node_port_range);
		return 2;
	}
	/* Owner-only, also when it existed before with wider modes (docs/SECURITY.md). */
	if ((mkdir(o.data_dir, 0700) < 0 && errno != EEXIST) || chmod(o.data_dir, 0700) < 0) {
		fprintf(stderr, "svcplane server: --data-dir %s: %s\n", o.data_dir, strerror(errno));
		return 1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *url = store_url ? xstrdup(store_url) : xasprintf("sqlite://%s/state.db", o.data_dir);
	struct store_opts so = etcd;
	so.url = url;
	so.history_revisions = history;
	struct store *st = NULL;
	char err[512] = "";
	struct store_encryption enc;
	if (enc_config) {
		if (apiserver_encryption_load(enc_config, &enc, err, sizeof(err)) < 0) {
			fprintf(stderr, "svcplane server: --encryption-provider-config: %s\n", err);
			free(url);
			return 2;
		}
		so.encryption = &enc;
	}
	int rc = store_open(&so, &st, err, sizeof(err));
	if (enc_config)
		OPENSSL_cleanse(&enc, sizeof(enc));
	if (rc < 0) {
		fprintf(stderr, "svcplane server: opening store %s: %s\n", url, err);
		free(url);
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* SIGCHLD too, before any thread exists: the embedded agent reads it from a signalfd. */
	sigset_t blocked = set;
	sigaddset(&blocked, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct apiserver *as = NULL;
	rc = apiserver_start(&o, st, &as, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "svcplane server: %s\n", err);
		store_close(st);
		free(url);
		return 1;
	}
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	bool v6 = strchr(o.bind_address, ':') != NULL;
	printf("svcplane server ready in %.1f ms: %s://%s%s%s:%d (store %s)\n", ms,
	       o.insecure_http ? "http" : "https", v6 ? "[" : "", o.bind_address, v6 ? "]" : "",
	       apiserver_port(as), url);
	/* The controllers reach the API like any client: through the admin kubeconfig. */
	struct client_config cc;
	client_config_init(&cc);
	rc = client_config_load(apiserver_kubeconfig_path(as), NULL, &cc, err, sizeof(err));
	struct ctrls ctl = {
	    .co = co,
	    .no_controllers = no_controllers,
	    .no_sched = no_sched,
	    .io = {.lb = ing_lb, .http_port = ao.ingress_http_port, .https_port = ao.ingress_https_port}};
	ctl.co.cluster_cidr = o.cluster_cidr;
	client_config_copy(&ctl.cc, &cc);
	struct ctrl_elector *el = NULL;
	if (rc == 0 && leader_elect && !(no_controllers && no_sched)) {
		char *holder = server_identity(o.data_dir);
		struct ctrl_elector_opts eo = {.cfg = &cc,
					       .identity = holder,
					       .lease_namespace = "kube-system",
					       .lease_name = "kube-controller-manager",
					       .lease_ms = le_ms[0],
					       .renew_deadline_ms = le_ms[1],
					       .retry_ms = le_ms[2],
					       .on_start = ctrls_on_start,
					       .on_stop = ctrls_on_stop,
					       .ud = &ctl};
		rc = ctrl_elector_start(&eo, &el, err, sizeof(err));
		free(holder); /* copied */
	} else if (rc == 0) {
		rc = ctrls_start(&ctl, err, sizeof(err));
	}
	/* The agent for this host's own node (as k3s's server): on by default. It needs root
	 * (namespaces, bridge, routes, nftables); without, the server runs alone and says so. */
	struct node_agent *ag = NULL;
	char *agent_dir = NULL;
	char dname[256], dip[64];
	if (rc == 0 && !no_agent && geteuid() != 0) {
		log_warn(
		    "not running as root: no node agent for this host (pass --disable-agent to silence this)");
		no_agent = true;
	}
	if (rc == 0 && !no_agent && (!ao.node_name || !ao.node_ip)) {
		rc = node_agent_default_node(dname, sizeof(dname), dip, sizeof(dip), err, sizeof(err));
		if (!ao.node_name)
			ao.node_name = dname;
		if (!ao.node_ip)
			ao.node_ip = dip;
	}
	/* ClusterFirst pods need no flag: the kube-dns Service's address, the range's 10th. */
	char cdns[IP_STRLEN];
	if (rc == 0 && !no_agent && !ao.cluster_dns) {
		struct cidr r0;
		char *first = xstrndup(o.service_cluster_ip_range, strcspn(o.service_cluster_ip_range, ","));
		struct ip_addr tenth;
		if (cidr_parse(first, &r0, NULL, 0) == 0 && cidr_nth(&r0, 10, &tenth) == 0)
			ao.cluster_dns = ip_format(&tenth, cdns, sizeof(cdns));
		free(first);
	}
	if (rc == 0 && !no_agent) {
		agent_dir = ao.data_dir ? NULL : xasprintf("%s/agent", o.data_dir);
		ao.cfg = &cc;
		if (agent_dir)
			ao.data_dir = agent_dir;
		ao.cluster_domain = o.cluster_domain;
		ao.cluster_cidr = o.cluster_cidr;
		rc = node_agent_start(&ao, &ag, err, sizeof(err));
	}
	client_config_fini(&cc);
	if (rc < 0) {
		fprintf(stderr, "svcplane server: %s\n", err);
		ctrl_elector_stop(el);
		ctrls_stop(&ctl);
		client_config_fini(&ctl.cc);
		apiserver_stop(as);
		store_close(st);
		free(agent_dir);
		free(url);
		return 1;
	}
	printf("kubeconfig: %s\n", apiserver_kubeconfig_path(as));
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: shutting down", sig);
	node_agent_stop(ag);
	ctrl_elector_stop(el); /* stops the controllers it runs, then gives the Lease up */
	ctrls_stop(&ctl);
	client_config_fini(&ctl.cc);
	apiserver_stop(as);
	store_close(st);
	free(agent_dir);
	free(url);
	free_list((char **)ao.dns_upstreams);
	return 0;
}

static void usage_agent(FILE *f)
{
	fprintf(
	    f,
	    "usage: svcplane agent [flags]\n"
	    "  --server URL[,URL...]             API server(s) of the cluster, with --token-file and --ca-file;\n"
	    "                                    on a failure the agent moves to the next and resumes its watches\n"
	    "  --token-file PATH                 bearer token\n"
	    "  --ca-file PATH                    CA bundle of the API server\n"
	    "  --kubeconfig PATH                 instead of the three above\n"
	    "  --node-name NAME                  this node's name (default: the host name)\n"
	    "  --node-ip IP[,IP]                 this node's InternalIP (default: the address of the default\n"
	    "                                    route's interface; IPv4,IPv6 for dual stack)\n"
	    "  --kubelet-port N                  the log endpoint the API server proxies to (default 10250)\n"
	    "  --proxy-mode MODE                 nftables (default), iptables or userspace\n"
	    "  --nodeport-addresses CIDR[,CIDR]  serve node ports only on node addresses inside these\n"
	    "                                    (default: every address, and 127.0.0.1)\n"
	    "  --cluster-cidr CIDR[,CIDR]        pod network: traffic to cluster IPs from outside it is\n"
	    "                                    masqueraded (default: none)\n"
	    "  --data-dir DIR                    state: pods, IPs, logs (default /var/lib/svcplane/agent)\n"
	    "  --cluster-domain DOMAIN           (default cluster.local)\n"
	    "  --cluster-dns IP                  nameserver for ClusterFirst pods, served by this agent\n"
	    "                                    (default: the kube-dns Service's cluster IP)\n"
	    "  --dns-upstream IP[:PORT][,...]    resolvers for other names (default: /etc/resolv.conf's)\n"
	    "  --disable-dns                     serve no cluster DNS on this node\n"
	    "  --disable-ingress                 run no Ingress controller on this node\n"
	    "  --ingress-address IP[,IP]         its addresses (default: the node IPs)\n"
	    "  --ingress-http-port N             (default 80; --ingress-https-port N: default 443)\n"
	    "  --dns-ttl N                       TTL of cluster records, 0-3600 (default 5)\n"
	    "  --node-lease-duration N           the node Lease (kube-node-lease), renewed every N/4 s; a\n"
	    "                                    LoadBalancer address moves N s after its node's last\n"
	    "                                    renewal (1-3600, default 4)\n"
	    "  --loadbalancer-interface IFACE    answer ARP/NDP for LoadBalancer addresses this node is\n"
	    "                                    elected for on IFACE (default: the node IP's interface)\n"
	    "  --cleanup                         stop every pod and remove the pod network, then exit\n"
	    "  -v, --verbose                     debug logging\n");
}

static int cmd_agent(int argc, char **argv)
{
	enum {
		O_SERVER = 256,
		O_TOKEN,
		O_CA,
		O_KC,
		O_NAME,
		O_IP,
		O_DATA,
		O_DOMAIN,
		O_DNS,
		O_CLEANUP,
		O_KPORT,
		O_PMODE,
		O_NPADDR,
		O_CCIDR,
		O_DNSUP,
		O_NODNS,
		O_DNSTTL,
		O_LEASE,
		O_LBIF,
		O_NOING,
		O_INGADDR,
		O_INGHTTP,
		O_INGHTTPS
	};
	static const struct option opts[] = {
	    {"server", required_argument, 0, O_SERVER},
	    {"token-file", required_argument, 0, O_TOKEN},
	    {"ca-file", required_argument, 0, O_CA},
	    {"kubeconfig", required_argument, 0, O_KC},
	    {"node-name", required_argument, 0, O_NAME},
	    {"node-ip", required_argument, 0, O_IP},
	    {"data-dir", required_argument, 0, O_DATA},
	    {"cluster-domain", required_argument, 0, O_DOMAIN},
	    {"cluster-dns", required_argument, 0, O_DNS},
	    {"cleanup", no_argument, 0, O_CLEANUP},
	    {"kubelet-port", required_argument, 0, O_KPORT},
	    {"proxy-mode", required_argument, 0, O_PMODE},
	    {"nodeport-addresses", required_argument, 0, O_NPADDR},
	    {"cluster-cidr", required_argument, 0, O_CCIDR},
	    {"dns-upstream", required_argument, 0, O_DNSUP},
	    {"disable-dns", no_argument, 0, O_NODNS},
	    {"dns-ttl", required_argument, 0, O_DNSTTL},
	    {"node-lease-duration", required_argument, 0, O_LEASE},
	    {"loadbalancer-interface", required_argument, 0, O_LBIF},
	    {"disable-ingress", no_argument, 0, O_NOING},
	    {"ingress-address", required_argument, 0, O_INGADDR},
	    {"ingress-http-port", required_argument, 0, O_INGHTTP},
	    {"ingress-https-port", required_argument, 0, O_INGHTTPS},
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *server = NULL, *token_file = NULL, *ca = NULL, *kc = NULL;
	bool cleanup = false;
	struct node_agent_opts ao = {.data_dir = "/var/lib/svcplane/agent"};
	int c, li = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, &li)) != -1) {
		int af = li >= 0 && optarg ? agent_flag("agent", opts[li].name, optarg, &ao) : 1;
		li = -1;
		if (af < 0)
			return 2;
		if (af == 0)
			continue;
		switch (c) {
		case O_NOING:
			ao.ingress_disable = true;
			break;
		case O_NODNS:
			ao.dns_disable = true;
			break;
		case O_SERVER:
			server = optarg;
			break;
		case O_TOKEN:
			token_file = optarg;
			break;
		case O_CA:
			ca = optarg;
			break;
		case O_KC:
			kc = optarg;
			break;
		case O_NAME:
			ao.node_name = optarg;
			break;
		case O_DATA:
			ao.data_dir = optarg;
			break;
		case O_DOMAIN:
			ao.cluster_domain = optarg;
			break;
		case O_CLEANUP:
			cleanup = true;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_agent(stdout);
			return 0;
		default:
			usage_agent(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane agent: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	char err[512] = "";
	if (cleanup) {
		if (node_agent_cleanup(ao.data_dir, 5, err, sizeof(err)) < 0) {
			fprintf(stderr, "svcplane agent: cleanup: %s\n", err);
			return 1;
		}
		return 0;
	}
	char dname[256], dip[64];
	if ((!ao.node_name || !ao.node_ip) &&
	    node_agent_default_node(dname, sizeof(dname), dip, sizeof(dip), err, sizeof(err)) < 0) {
		fprintf(stderr, "svcplane agent: %s\n", err);
		return 2;
	}
	if (!ao.node_name)
		ao.node_name = dname;
	if (!ao.node_ip)
		ao.node_ip = dip;
	struct client_config cc;
	client_config_init(&cc);
	if (server) {
		if (!token_file) {
			fprintf(stderr, "svcplane agent: --server needs --token-file\n");
			return 2;
		}
		FILE *f = fopen(token_file, "re");
		char tok[4096] = "";
		if (!f || !fgets(tok, sizeof(tok), f)) {
			fprintf(stderr, "svcplane agent: --token-file %s: %s\n", token_file,
				f ? "empty" : strerror(errno));
			if (f)
				fclose(f);
			return 1;
		}
		fclose(f);
		tok[strcspn(tok, "\r\n")] = 0;
		cc.server = xstrdup(server);
		cc.token = xstrdup(tok);
		cc.ca_file = ca ? xstrdup(ca) : NULL;
		cc.namespace_ = xstrdup("default");
	} else if (client_config_load(kc, NULL, &cc, err, sizeof(err)) < 0) {
		fprintf(stderr, "svcplane agent: %s\n", err);
		client_config_fini(&cc);
		return 1;
	}
	sigset_t set, blocked;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	blocked = set;
	sigaddset(&blocked, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPIPE, SIG_IGN);
	ao.cfg = &cc;
	struct node_agent *ag = NULL;
	int rc = node_agent_start(&ao, &ag, err, sizeof(err));
	client_config_fini(&cc);
	if (rc < 0) {
		fprintf(stderr, "svcplane agent: %s\n", err);
		return 1;
	}
	printf("svcplane agent ready: node %s (%s)\n", ao.node_name, ao.node_ip);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: marking node %s NotReady and stopping (pods keep running)", sig, ao.node_name);
	node_agent_stop(ag);
	free_list((char **)ao.dns_upstreams);
	return 0;
}

static void usage_dns(FILE *f)
{
	fprintf(
	    f,
	    "usage: svcplane dns [flags]\n"
	    "  --kubeconfig PATH                 the API server to read Services, EndpointSlices, Pods from\n"
	    "  --listen IP[,IP]                  addresses to serve on, UDP and TCP (default 127.0.0.1)\n"
	    "  --port N                          (default 53)\n"
	    "  --cluster-domain DOMAIN           (default cluster.local)\n"
	    "  --dns-ttl N                       TTL of cluster records and negative answers, 0-3600 (default 5)\n"
	    "  --dns-upstream IP[:PORT][,...]    resolvers for other names (default: the resolv.conf's)\n"
	    "  --resolv-conf PATH                (default /etc/resolv.conf)\n"
	    "  --dns-allow CIDR[,CIDR]           also answer these clients (beyond loopback, nodes, pod CIDRs)\n"
	    "  --dns-allow-any                   answer every client (an open resolver)\n"
	    "  --workers N                       UDP threads (default: one per CPU)\n"
	    "  -v, --verbose                     debug logging\n");
}

/* Checks a comma list with a parser; prints the error. */
static bool valid_list(const char *flag, const char *v, int max, bool cidrs)
{
	char **l = split_list(v, max);
	bool ok = l != NULL;
	for (size_t i = 0; ok && l[i]; i++) {
		char err[128];
		struct cidr c;
		struct ip_addr a;
		ok = cidrs ? cidr_parse(l[i], &c, err, sizeof(err)) == 0 : ip_parse(l[i], &a) == 0;
	}
	free_list(l);
	if (!ok)
		fprintf(stderr, "svcplane dns: --%s: %s is not a list of at most %d %s\n", flag, v, max,
			cidrs ? "CIDRs" : "IP addresses");
	return ok;
}

static int cmd_dns(int argc, char **argv)
{
	enum { O_KC = 256, O_LISTEN, O_PORT, O_DOMAIN, O_TTL, O_UP, O_RESOLV, O_ALLOW, O_ANY, O_WORKERS };
	static const struct option opts[] = {
	    {"kubeconfig", required_argument, 0, O_KC},
	    {"listen", required_argument, 0, O_LISTEN},
	    {"port", required_argument, 0, O_PORT},
	    {"cluster-domain", required_argument, 0, O_DOMAIN},
	    {"dns-ttl", required_argument, 0, O_TTL},
	    {"dns-upstream", required_argument, 0, O_UP},
	    {"resolv-conf", required_argument, 0, O_RESOLV},
	    {"dns-allow", required_argument, 0, O_ALLOW},
	    {"dns-allow-any", no_argument, 0, O_ANY},
	    {"workers", required_argument, 0, O_WORKERS},
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *kc = NULL, *listen = "127.0.0.1", *up = NULL, *allow = NULL;
	struct dns_server_opts o = {.zone = "cluster.local", .port = 53};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end;
		long v;
		switch (c) {
		case O_KC:
			kc = optarg;
			break;
		case O_LISTEN:
			listen = optarg;
			break;
		case O_DOMAIN:
			o.zone = optarg;
			break;
		case O_UP:
			up = optarg;
			break;
		case O_RESOLV:
			o.resolv_conf = optarg;
			break;
		case O_ALLOW:
			allow = optarg;
			break;
		case O_ANY:
			o.allow_any = true;
			break;
		case O_PORT:
		case O_TTL:
		case O_WORKERS:
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < (c == O_TTL ? 0 : 1) ||
			    v > (c == O_PORT  ? 65535
				 : c == O_TTL ? 3600
					      : 32)) {
				fprintf(stderr, "svcplane dns: --%s: %s is out of range (%s)\n",
					c == O_PORT  ? "port"
					: c == O_TTL ? "dns-ttl"
						     : "workers",
					optarg,
					c == O_PORT  ? "1-65535"
					: c == O_TTL ? "0-3600"
						     : "1-32");
				return 2;
			}
			if (c == O_PORT)
				o.port = (int)v;
			else if (c == O_TTL)
				o.ttl = (uint32_t)v, o.ttl_set = true;
			else
				o.workers = (int)v;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage_dns(stdout);
			return 0;
		default:
			usage_dns(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane dns: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!valid_list("listen", listen, 8, false) || (allow && !valid_list("dns-allow", allow, 16, true)))
		return 2;
	char **lv = split_list(listen, 8), **uv = up ? split_list(up, 8) : NULL,
	     **av = allow ? split_list(allow, 16) : NULL;
	if (up && !uv) {
		fprintf(stderr, "svcplane dns: --dns-upstream: %s is not a list of at most 8 upstreams\n",
			up);
		free_list(lv);
		free_list(av);
		return 2;
	}
	struct client_config cc;
	client_config_init(&cc);
	char err[512] = "";
	if (client_config_load(kc, NULL, &cc, err, sizeof(err)) < 0) {
		fprintf(stderr, "svcplane dns: %s\n", err);
		client_config_fini(&cc);
		free_list(lv), free_list(uv), free_list(av);
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.cfg = &cc;
	o.listen = (const char *const *)lv;
	o.upstreams = (const char *const *)uv;
	o.allow = (const char *const *)av;
	struct dns_server *ds = NULL;
	int rc = dns_server_start(&o, &ds, err, sizeof(err));
	client_config_fini(&cc);
	if (rc < 0) {
		fprintf(stderr, "svcplane dns: %s\n", err);
		free_list(lv), free_list(uv), free_list(av);
		return 1;
	}
	printf("svcplane dns ready: %s port %d, zone %s\n", listen, o.port, o.zone);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: stopping the DNS server", sig);
	dns_server_stop(ds);
	free_list(lv), free_list(uv), free_list(av);
	return 0;
}

static void usage_store(FILE *f)
{
	fprintf(f, "usage: svcplane store migrate --from URL --to URL [flags]\n"
		   "copies every key and value of one datastore into another (sqlite:// or etcd://),\n"
		   "then reads the copy back and compares; stop the servers first.\n"
		   "  --from URL, --to URL              the datastores (as --datastore-endpoint)\n"
		   "  --force                           overwrite a non-empty destination (its keys\n"
		   "                                    the source lacks are deleted)\n"
		   "  --from-etcd-prefix P, --to-etcd-prefix P   etcd key prefixes (default /registry)\n"
		   "  --etcd-cafile F --etcd-certfile F --etcd-keyfile F   https to etcd\n");
}

static int cmd_store(int argc, char **argv)
{
	enum { O_FROM = 1, O_TO, O_FORCE, O_FROM_PREFIX, O_TO_PREFIX, O_CA, O_CERT, O_KEY, O_HELP };
	static const struct option opts[] = {
	    {"from", required_argument, 0, O_FROM},
	    {"to", required_argument, 0, O_TO},
	    {"force", no_argument, 0, O_FORCE},
	    {"from-etcd-prefix", required_argument, 0, O_FROM_PREFIX},
	    {"to-etcd-prefix", required_argument, 0, O_TO_PREFIX},
	    {"etcd-cafile", required_argument, 0, O_CA},
	    {"etcd-certfile", required_argument, 0, O_CERT},
	    {"etcd-keyfile", required_argument, 0, O_KEY},
	    {"help", no_argument, 0, O_HELP},
	    {0, 0, 0, 0},
	};
	struct store_opts from = {.etcd_compaction_interval_ms = -1}, to = from;
	bool force = false;
	int c;

	if (argc < 2 || strcmp(argv[1], "migrate")) {
		usage_store(stderr);
		return 2;
	}
	argc--, argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_FROM:
			from.url = optarg;
			break;
		case O_TO:
			to.url = optarg;
			break;
		case O_FORCE:
			force = true;
			break;
		case O_FROM_PREFIX:
			from.etcd_prefix = optarg;
			break;
		case O_TO_PREFIX:
			to.etcd_prefix = optarg;
			break;
		case O_CA:
			from.etcd_cafile = to.etcd_cafile = optarg;
			break;
		case O_CERT:
			from.etcd_certfile = to.etcd_certfile = optarg;
			break;
		case O_KEY:
			from.etcd_keyfile = to.etcd_keyfile = optarg;
			break;
		case O_HELP:
			usage_store(stdout);
			return 0;
		default:
			usage_store(stderr);
			return 2;
		}
	}
	if (!from.url || !to.url || optind < argc) {
		fprintf(stderr, "svcplane store migrate: --from and --to are required\n");
		usage_store(stderr);
		return 2;
	}
	struct store *src = NULL, *dst = NULL;
	char err[512];
	size_t copied = 0;
	int rc = store_open(&from, &src, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "svcplane store migrate: --from: %s\n", err);
		return 1;
	}
	rc = store_open(&to, &dst, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "svcplane store migrate: --to: %s\n", err);
		store_close(src);
		return 1;
	}
	rc = store_migrate(src, dst, force, &copied, err, sizeof(err));
	store_close(dst);
	store_close(src);
	if (rc < 0) {
		fprintf(stderr, "svcplane store migrate: %s\n", err);
		return 1;
	}
	printf("migrated %zu keys from %s to %s (read back and compared)\n", copied, from.url, to.url);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svcplane <command> [flags]\n"
		   "commands:\n"
		   "  server     API server, store and controllers\n"
		   "  agent      node agent: registers the node, runs its pods\n"
		   "  ctl        command-line client (get, apply, delete, describe)\n"
		   "  dns        the cluster DNS server alone, fed by the API\n"
		   "  store      store migrate: copy a datastore into another (sqlite <-> etcd)\n"
		   "  version    print the version\n"
		   "run `svcplane <command> --help` for the flags of a command\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "server"))
		return cmd_server(argc - 1, argv + 1);
	if (!strcmp(cmd, "agent"))
		return cmd_agent(argc - 1, argv + 1);
	if (!strcmp(cmd, "dns"))
		return cmd_dns(argc - 1, argv + 1);
	if (!strcmp(cmd, "ctl"))
		return cli_ctl_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "store"))
		return cmd_store(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("svcplane %s (Kubernetes API v1.33)\n", SVCPLANE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "svcplane: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
