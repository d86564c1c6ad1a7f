/* flagtab.h - every flag of `svcplane server`, `agent`, `dns` and `store migrate` in one
 * table (base/flags.h), and the options struct its rows set. A flag two commands share
 * (--node-ip of the server's embedded agent and of `svcplane agent`) is one row, so its
 * parsing, check, message and help cannot differ between them. */
#ifndef CMD_FLAGTAB_H
#define CMD_FLAGTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "apiserver/apiserver.h"
#include "base/flags.h"
#include "controller/manager.h"
#include "dns/server.h"
#include "node/agent.h"
#include "store/store.h"

enum { CMD_SERVER = 1, CMD_AGENT = 2, CMD_DNS = 4, CMD_STORE = 8 };

/* What the flags of one command set; each command fills its defaults, parses, then wires
 * the fields into the roles' own option structs. */
struct cmd_conf {
	struct apiserver_opts o;     /* server */
	struct store_opts etcd;	     /* server: --datastore-endpoint's etcd flags */
	struct ctrl_manager_opts co; /* server */
	struct node_agent_opts ao;   /* server (its embedded agent) and agent */
	struct dns_server_opts dns;  /* dns */
	struct store_opts from, to;  /* store migrate */
	const char *store_url, *enc_config, *server, *token_file, *ca_file, *kubeconfig, *listen, *allow,
	    *cluster_domain;
	long long history;
	int64_t le_ms[3]; /* leader election: lease duration, renew deadline, retry period */
	int dns_ttl;	  /* -1: not given */
	bool no_sched, no_agent, no_controllers, leader_elect, ing_lb, cleanup, force;
	char **dns_upstreams; /* heap (flags_fini) */
};

extern const struct flag_set cmd_server_flags, cmd_agent_flags, cmd_dns_flags, cmd_store_flags;

#endif
