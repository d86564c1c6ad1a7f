/* main.c - the svcplane binary: flag parsing and wiring of the roles; the only place that
 * may exit(). `svcplane server` runs the API server on the embedded store. */
#include <errno.h>
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
#include "dns/server.h"
#include "node/agent.h"
#include "api/object.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/ctl.h"
#include "cmd/flagtab.h"
#include "store/store.h"

#define SVCPLANE_VERSION "0.1.0"

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

/* The flags the server's embedded agent and `svcplane agent` share, into cf->ao. */
static void node_conf(struct cmd_conf *cf)
{
	if (cf->dns_ttl >= 0)
		cf->ao.dns_ttl = (unsigned)cf->dns_ttl, cf->ao.dns_ttl_set = true;
	cf->ao.dns_upstreams = (const char *const *)cf->dns_upstreams;
	cf->ao.cluster_domain = cf->cluster_domain;
}

static int cmd_server(int argc, char **argv)
{
	struct cmd_conf cf = {
	    .o = {.data_dir = "/var/lib/svcplane",
		  .bind_address = "127.0.0.1",
		  .secure_port = 6443,
		  .service_cluster_ip_range = "10.96.0.0/12",
		  .service_node_port_range = "30000-32767",
		  .cluster_cidr = "10.244.0.0/16"},
	    .cluster_domain = "cluster.local",
	    .leader_elect = true,
	    .le_ms = {15000, 10000, 2000},
	    .dns_ttl = -1,
	};
	int prc = flags_parse(&cmd_server_flags, argc, argv, &cf);
	if (prc >= 0) {
		flags_fini(&cmd_server_flags, &cf);
		return prc;
	}
	node_conf(&cf);
	cf.o.cluster_domain = cf.cluster_domain;
	struct apiserver_opts o = cf.o;
	struct node_agent_opts ao = cf.ao;
	const struct store_opts etcd = cf.etcd;
	const int64_t *le_ms = cf.le_ms;
	bool no_agent = cf.no_agent;
	if (cf.leader_elect) {
		char lerr[256];
		if (ctrl_elector_check(le_ms[0], le_ms[1], le_ms[2], lerr, sizeof(lerr)) < 0) {
			fprintf(stderr, "svcplane server: %s\n", lerr);
			flags_fini(&cmd_server_flags, &cf);
			return 2;
		}
	}
	/* Owner-only, also when it existed before with wider modes (docs/SECURITY.md). */
	if ((mkdir(o.data_dir, 0700) < 0 && errno != EEXIST) || chmod(o.data_dir, 0700) < 0) {
		fprintf(stderr, "svcplane server: --data-dir %s: %s\n", o.data_dir, strerror(errno));
		return 1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *url = cf.store_url ? xstrdup(cf.store_url) : xasprintf("sqlite://%s/state.db", o.data_dir);
	struct store_opts so = etcd;
	so.url = url;
	so.history_revisions = cf.history;
	struct store *st = NULL;
	char err[512] = "";
	struct store_encryption enc;
	if (cf.enc_config) {
		if (apiserver_encryption_load(cf.enc_config, &enc, err, sizeof(err)) < 0) {
			fprintf(stderr, "svcplane server: --encryption-provider-config: %s\n", err);
			free(url);
			return 2;
		}
		so.encryption = &enc;
	}
	int rc = store_open(&so, &st, err, sizeof(err));
	if (cf.enc_config)
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
	    .co = cf.co,
	    .no_controllers = cf.no_controllers,
	    .no_sched = cf.no_sched,
	    .io = {.lb = cf.ing_lb, .http_port = ao.ingress_http_port, .https_port = ao.ingress_https_port}};
	ctl.co.cluster_cidr = o.cluster_cidr;
	client_config_copy(&ctl.cc, &cc);
	struct ctrl_elector *el = NULL;
	if (rc == 0 && cf.leader_elect && !(cf.no_controllers && cf.no_sched)) {
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
	} else {
		printf("kubeconfig: %s\n", apiserver_kubeconfig_path(as));
		fflush(stdout);
		int sig = 0;
		sigwait(&set, &sig);
		log_info("signal %d: shutting down", sig);
		apiserver_endpoint_withdraw(as); /* clients move to the other servers first */
		node_agent_stop(ag);
	}
	ctrl_elector_stop(el); /* stops the controllers it runs, then gives the Lease up */
	ctrls_stop(&ctl);
	client_config_fini(&ctl.cc);
	apiserver_stop(as);
	store_close(st);
	free(agent_dir);
	free(url);
	flags_fini(&cmd_server_flags, &cf);
	return rc < 0 ? 1 : 0;
}

static int cmd_agent(int argc, char **argv)
{
	struct cmd_conf cf = {.ao = {.data_dir = "/var/lib/svcplane/agent"}, .dns_ttl = -1};
	int prc = flags_parse(&cmd_agent_flags, argc, argv, &cf);
	if (prc >= 0) {
		flags_fini(&cmd_agent_flags, &cf);
		return prc;
	}
	node_conf(&cf);
	struct node_agent_opts ao = cf.ao;
	const char *server = cf.server, *token_file = cf.token_file, *ca = cf.ca_file, *kc = cf.kubeconfig;
	bool cleanup = cf.cleanup;
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
	flags_fini(&cmd_agent_flags, &cf);
	return 0;
}

static int cmd_dns(int argc, char **argv)
{
	struct cmd_conf cf = {
	    .dns = {.port = 53}, .listen = "127.0.0.1", .cluster_domain = "cluster.local", .dns_ttl = -1};
	int prc = flags_parse(&cmd_dns_flags, argc, argv, &cf);
	if (prc >= 0) {
		flags_fini(&cmd_dns_flags, &cf);
		return prc;
	}
	struct dns_server_opts o = cf.dns;
	o.zone = cf.cluster_domain;
	if (cf.dns_ttl >= 0)
		o.ttl = (uint32_t)cf.dns_ttl, o.ttl_set = true;
	const char *kc = cf.kubeconfig, *listen = cf.listen;
	/* The rows checked both lists. */
	char **lv = flag_list_split(listen, 8), **uv = cf.dns_upstreams,
	     **av = cf.allow ? flag_list_split(cf.allow, 16) : NULL;
	struct client_config cc;
	client_config_init(&cc);
	char err[512] = "";
	if (client_config_load(kc, NULL, &cc, err, sizeof(err)) < 0) {
		fprintf(stderr, "svcplane dns: %s\n", err);
		client_config_fini(&cc);
		flag_list_free(lv), flag_list_free(uv), flag_list_free(av);
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
		flag_list_free(lv), flag_list_free(uv), flag_list_free(av);
		return 1;
	}
	printf("svcplane dns ready: %s port %d, zone %s\n", listen, o.port, o.zone);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: stopping the DNS server", sig);
	dns_server_stop(ds);
	flag_list_free(lv), flag_list_free(uv), flag_list_free(av);
	return 0;
}

static int cmd_store(int argc, char **argv)
{
	struct cmd_conf cf = {.from = {.etcd_compaction_interval_ms = -1},
			      .to = {.etcd_compaction_interval_ms = -1}};
	if (argc < 2 || strcmp(argv[1], "migrate")) {
		flags_usage(&cmd_store_flags, stderr);
		return 2;
	}
	int prc = flags_parse(&cmd_store_flags, argc - 1, argv + 1, &cf);
	if (prc >= 0)
		return prc;
	if (!cf.from.url || !cf.to.url) {
		fprintf(stderr, "svcplane store migrate: --from and --to are required\n");
		flags_usage(&cmd_store_flags, stderr);
		return 2;
	}
	struct store_opts from = cf.from, to = cf.to;
	bool force = cf.force;
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
