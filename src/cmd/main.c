/* main.c - the svcplane binary: flag parsing and wiring of the roles; the only place that
 * may exit(). `svcplane server` runs the API server on the embedded store. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apiserver/apiserver.h"
#include "base/cidr.h"
#include "client/client.h"
#include "controller/manager.h"
#include "controller/wlmanager.h"
#include "controller/scheduler.h"
#include "node/agent.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/ctl.h"
#include "store/store.h"

#define SVCPLANE_VERSION "0.1.0"

static void usage_server(FILE *f)
{
	fprintf(f,
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
		"  --allow-service-external-ips      accept spec.externalIPs (off by default: CVE-2020-8554)\n"
		"  --loadbalancer-ip-pool CIDR[,CIDR]  addresses for LoadBalancer Services (none by default)\n"
		"  --loadbalancer-class NAME         also serve Services with this loadBalancerClass\n"
		"  --max-endpoints-per-slice N       (default 100)\n"
		"  --disable-controllers             run no controllers (endpoints, slices, LB IPs, pod CIDRs, workloads, GC)\n"
		"  --node-cidr-mask-size-ipv4 N      pod CIDR per node (default 24; -ipv6 default 64)\n"
		"  --disable-scheduler               do not bind pods without spec.nodeName to nodes\n"
		"  --node-name NAME                  the embedded agent's node (default: the host name)\n"
		"  --node-ip IP[,IP]                 its InternalIP (default: the address of the default route's\n"
		"                                    interface; IPv4,IPv6 for dual stack)\n"
		"  --disable-agent                   do not run the node agent for this host (it runs by default\n"
		"                                    when root: pods, bridge svcp0, routes, masquerade)\n"
		"  --kubelet-port N                  the agent's log endpoint (default 10250)\n"
		"  --proxy-mode MODE                 nftables (default), iptables or userspace\n"
		"  --agent-data-dir DIR              the embedded agent's state (default DIR/agent)\n"
		"  --cluster-dns IP                  nameserver written into ClusterFirst pods' resolv.conf\n"
		"  -v, --verbose                     debug logging\n");
}

/* One CIDR, or two of different families ("IPv4,IPv6"). */
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

/* The node agent's flags that both `server` and `agent` take, validated the same way.
 * Returns 0, or -1 after printing the error. */
static int agent_flag(const char *cmd, const char *flag, const char *v, struct agent_opts *ao)
{
	if (!strcmp(flag, "kubelet-port")) {
		char *end;
		long p = strtol(v, &end, 10);
		if (*end || !*v || p < 1 || p > 65535) {
			fprintf(stderr, "svcplane %s: --kubelet-port: %s is not a port number (1-65535)\n", cmd, v);
			return -1;
		}
		ao->kubelet_port = (int)p;
	} else if (!strcmp(flag, "proxy-mode")) {
		if (!agent_proxy_mode_valid(v)) {
			fprintf(stderr, "svcplane %s: --proxy-mode: %s is not one of nftables, iptables, userspace\n", cmd, v);
			return -1;
		}
		ao->proxy_mode = v;
	} else if (!strcmp(flag, "node-ip")) {
		if (!valid_node_ips(v)) {
			fprintf(stderr, "svcplane %s: --node-ip: %s is not an IP address, or IPv4,IPv6\n", cmd, v);
			return -1;
		}
		ao->node_ip = v;
	} else {
		struct ip_addr a;
		if (ip_parse(v, &a) < 0) {
			fprintf(stderr, "svcplane %s: --cluster-dns: %s is not an IP address\n", cmd, v);
			return -1;
		}
		ao->cluster_dns = v;
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
	enum { O_DATA = 256, O_BIND, O_PORT, O_INSECURE, O_KUBECONFIG, O_TOKEN, O_ADV, O_SCIR, O_NPR, O_CCIDR, O_DOMAIN,
	       O_STORE, O_HIST, O_EXTIPS, O_LBPOOL, O_MAXEPS, O_MASK4, O_MASK6, O_LBCLASS, O_NOCTRL,
	       O_NOSCHED, O_NODENAME, O_NODEIP, O_NOAGENT, O_AGENTDIR, O_CDNS, O_KPORT, O_PMODE };
	bool no_sched = false, no_agent = false;
	struct agent_opts ao = {0};
	bool no_controllers = false;
	struct ctrl_manager_opts co = {0};
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
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end;
		if (c == O_KPORT || c == O_PMODE || c == O_NODEIP || c == O_CDNS) {
			if (agent_flag("server", c == O_KPORT ? "kubelet-port" : c == O_PMODE ? "proxy-mode" : c == O_NODEIP ? "node-ip" : "cluster-dns", optarg, &ao) < 0)
				return 2;
			continue;
		}
		switch (c) {
		case O_NOSCHED: no_sched = true; break;
		case O_NODENAME: ao.node_name = optarg; break;
		case O_NOAGENT: no_agent = true; break;
		case O_AGENTDIR: ao.data_dir = optarg; break;
		case O_DATA: o.data_dir = optarg; break;
		case O_BIND: o.bind_address = optarg; break;
		case O_PORT:
			o.secure_port = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || o.secure_port < 0 || o.secure_port > 65535) {
				fprintf(stderr, "svcplane server: --secure-port: %s is not a port number (0-65535)\n", optarg);
				return 2;
			}
			break;
		case O_INSECURE: o.insecure_http = true; break;
		case O_KUBECONFIG: o.kubeconfig = optarg; break;
		case O_TOKEN: o.token_file = optarg; break;
		case O_ADV: o.advertise_address = optarg; break;
		case O_SCIR: o.service_cluster_ip_range = optarg; break;
		case O_NPR: o.service_node_port_range = optarg; break;
		case O_CCIDR: o.cluster_cidr = optarg; break;
		case O_DOMAIN: o.cluster_domain = optarg; break;
		case O_STORE: store_url = optarg; break;
		case O_HIST:
			history = strtoll(optarg, &end, 10);
			if (*end || history < 100) {
				fprintf(stderr, "svcplane server: --history-revisions: %s must be a number >= 100\n", optarg);
				return 2;
			}
			break;
		case O_EXTIPS: o.allow_external_ips = true; break;
		case O_LBPOOL: co.lb_pools = optarg; break;
		case O_NOCTRL: no_controllers = true; break;
		case O_LBCLASS: co.lb_class = optarg; break;
		case O_MAXEPS:
		case O_MASK4:
		case O_MASK6: {
			long v = strtol(optarg, &end, 10);
			int lo = c == O_MAXEPS ? 1 : c == O_MASK4 ? 8 : 16, hi = c == O_MAXEPS ? 1000 : c == O_MASK4 ? 30 : 126;
			if (*end || !*optarg || v < lo || v > hi) {
				fprintf(stderr, "svcplane server: %s: %s must be a number from %d to %d\n", argv[optind - 1], optarg, lo, hi);
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
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage_server(stdout); return 0;
		default: usage_server(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane server: unexpected argument %s\n", argv[optind]);
		usage_server(stderr);
		return 2;
	}
	unsigned char ab[16];
	if (inet_pton(AF_INET, o.bind_address, ab) != 1 && inet_pton(AF_INET6, o.bind_address, ab) != 1) {
		fprintf(stderr, "svcplane server: --bind-address: %s is not an IP address\n", o.bind_address);
		return 2;
	}
	if (!valid_cidr_list(o.service_cluster_ip_range)) {
		fprintf(stderr, "svcplane server: --service-cluster-ip-range: %s is not one CIDR or two (IPv4,IPv6)\n",
			o.service_cluster_ip_range);
		return 2;
	}
	if (!valid_cidr_list(o.cluster_cidr)) {
		fprintf(stderr, "svcplane server: --cluster-cidr: %s is not one CIDR or two (IPv4,IPv6)\n", o.cluster_cidr);
		return 2;
	}
	if (!valid_port_range(o.service_node_port_range)) {
		fprintf(stderr, "svcplane server: --service-node-port-range: %s is not a range like 30000-32767\n",
			o.service_node_port_range);
		return 2;
	}
	if (mkdir(o.data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "svcplane server: --data-dir %s: %s\n", o.data_dir, strerror(errno));
		return 1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *url = store_url ? xstrdup(store_url) : xasprintf("sqlite://%s/state.db", o.data_dir);
	struct store_opts so = {.url = url, .history_revisions = history};
	struct store *st = NULL;
	char err[512] = "";
	int rc = store_open(&so, &st, err, sizeof(err));
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
	printf("svcplane server ready in %.1f ms: %s://%s%s%s:%d (store %s)\n", ms, o.insecure_http ? "http" : "https",
	       v6 ? "[" : "", o.bind_address, v6 ? "]" : "", apiserver_port(as), url);
	/* The controllers reach the API like any client: through the admin kubeconfig. */
	struct client_config cc;
	client_config_init(&cc);
	rc = client_config_load(apiserver_kubeconfig_path(as), NULL, &cc, err, sizeof(err));
	struct ctrl_manager *cm = NULL;
	if (rc == 0 && !no_controllers) {
		co.cfg = &cc;
		co.cluster_cidr = o.cluster_cidr;
		rc = ctrl_manager_start(&co, &cm, err, sizeof(err));
	}
	struct ctrl_workloads *wl = NULL;
	if (rc == 0 && !no_controllers)
		rc = ctrl_workloads_start(&cc, &wl, err, sizeof(err));
	struct sched *sc = NULL;
	if (rc == 0 && !no_sched)
		rc = sched_start(&cc, &sc, err, sizeof(err));
	/* The agent for this host's own node (as k3s's server): on by default. It needs root
	 * (namespaces, bridge, routes, nftables); without, the server runs alone and says so. */
	struct agent *ag = NULL;
	char *agent_dir = NULL;
	char dname[256], dip[64];
	if (rc == 0 && !no_agent && geteuid() != 0) {
		log_warn("not running as root: no node agent for this host (pass --disable-agent to silence this)");
		no_agent = true;
	}
	if (rc == 0 && !no_agent && (!ao.node_name || !ao.node_ip)) {
		rc = agent_default_node(dname, sizeof(dname), dip, sizeof(dip), err, sizeof(err));
		if (!ao.node_name)
			ao.node_name = dname;
		if (!ao.node_ip)
			ao.node_ip = dip;
	}
	if (rc == 0 && !no_agent) {
		agent_dir = ao.data_dir ? NULL : xasprintf("%s/agent", o.data_dir);
		ao.cfg = &cc;
		if (agent_dir)
			ao.data_dir = agent_dir;
		ao.cluster_domain = o.cluster_domain;
		rc = agent_start(&ao, &ag, err, sizeof(err));
	}
	client_config_fini(&cc);
	if (rc < 0) {
		fprintf(stderr, "svcplane server: %s\n", err);
		sched_stop(sc);
		ctrl_workloads_stop(wl);
		ctrl_manager_stop(cm);
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
	agent_stop(ag);
	sched_stop(sc);
	ctrl_workloads_stop(wl);
	ctrl_manager_stop(cm);
	apiserver_stop(as);
	store_close(st);
	free(agent_dir);
	free(url);
	return 0;
}

static void usage_agent(FILE *f)
{
	fprintf(f,
		"usage: svcplane agent [flags]\n"
		"  --server URL                      API server (with --token-file and --ca-file)\n"
		"  --token-file PATH                 bearer token\n"
		"  --ca-file PATH                    CA bundle of the API server\n"
		"  --kubeconfig PATH                 instead of the three above\n"
		"  --node-name NAME                  this node's name (default: the host name)\n"
		"  --node-ip IP[,IP]                 this node's InternalIP (default: the address of the default\n"
		"                                    route's interface; IPv4,IPv6 for dual stack)\n"
		"  --kubelet-port N                  the log endpoint the API server proxies to (default 10250)\n"
		"  --proxy-mode MODE                 nftables (default), iptables or userspace\n"
		"  --data-dir DIR                    state: pods, IPs, logs (default /var/lib/svcplane/agent)\n"
		"  --cluster-domain DOMAIN           (default cluster.local)\n"
		"  --cluster-dns IP                  nameserver for ClusterFirst pods\n"
		"  --cleanup                         stop every pod and remove the pod network, then exit\n"
		"  -v, --verbose                     debug logging\n");
}

static int cmd_agent(int argc, char **argv)
{
	enum { O_SERVER = 256, O_TOKEN, O_CA, O_KC, O_NAME, O_IP, O_DATA, O_DOMAIN, O_DNS, O_CLEANUP, O_KPORT, O_PMODE };
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
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *server = NULL, *token_file = NULL, *ca = NULL, *kc = NULL;
	bool cleanup = false;
	struct agent_opts ao = {.data_dir = "/var/lib/svcplane/agent"};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (c == O_KPORT || c == O_PMODE || c == O_IP || c == O_DNS) {
			if (agent_flag("agent", c == O_KPORT ? "kubelet-port" : c == O_PMODE ? "proxy-mode" : c == O_IP ? "node-ip" : "cluster-dns", optarg, &ao) < 0)
				return 2;
			continue;
		}
		switch (c) {
		case O_SERVER: server = optarg; break;
		case O_TOKEN: token_file = optarg; break;
		case O_CA: ca = optarg; break;
		case O_KC: kc = optarg; break;
		case O_NAME: ao.node_name = optarg; break;
		case O_DATA: ao.data_dir = optarg; break;
		case O_DOMAIN: ao.cluster_domain = optarg; break;
		case O_CLEANUP: cleanup = true; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage_agent(stdout); return 0;
		default: usage_agent(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane agent: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	char err[512] = "";
	if (cleanup) {
		if (agent_cleanup(ao.data_dir, 5, err, sizeof(err)) < 0) {
			fprintf(stderr, "svcplane agent: cleanup: %s\n", err);
			return 1;
		}
		return 0;
	}
	char dname[256], dip[64];
	if ((!ao.node_name || !ao.node_ip) && agent_default_node(dname, sizeof(dname), dip, sizeof(dip), err, sizeof(err)) < 0) {
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
			fprintf(stderr, "svcplane agent: --token-file %s: %s\n", token_file, f ? "empty" : strerror(errno));
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
	struct agent *ag = NULL;
	int rc = agent_start(&ao, &ag, err, sizeof(err));
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
	agent_stop(ag);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svcplane <command> [flags]\n"
		   "commands:\n"
		   "  server     API server, store and controllers\n"
		   "  agent      node agent: registers the node, runs its pods\n"
		   "  ctl        command-line client (get, apply, delete, describe)\n"
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
	if (!strcmp(cmd, "ctl"))
		return cli_ctl_main(argc - 1, argv + 1);
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
