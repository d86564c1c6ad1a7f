/* podctx.h - the node agent's shared state, below its parts: the agent record, the pod
 * and probe records, and the few helpers every part needs (clock, names, lookups).
 * Internal to the agent (src/node/agent.c and the parts it wires); not an API.
 *
 * Why a file of its own: the agent's parts (podnet.c the pod network, prober.c the
 * probes, status.c what is reported to the API, pods.c the pod lifecycle) all read and
 * change these records; keeping them here lets each part include this header and call
 * down, never back up into agent.c, which is only the loop and the wiring:
 *
 *      agent.c (loop, informers, start/stop, node services)
 *         |-> pods.c -> podnet.c, prober.c, status.c
 *         |-> podnet.c, prober.c, status.c
 *                  \-> podctx.c (records, clock, names) -> writer.c (API writes)
 *
 * Threads: every field below is owned by the agent thread, except those marked
 * (atomic) that informer threads set, and the writer, which has its own thread and lock.
 * Functions named node__* are shared between the parts (STYLE.md's subsys__name).
 */
#ifndef NODE_PODCTX_H
#define NODE_PODCTX_H

#include <jansson.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"
#include "base/vec.h"
#include "client/client.h"
#include "node/agent.h"
#include "node/probe.h"

struct informer;
struct node_logsrv;
struct node_nl;
struct node_rt;
struct node_writer;
struct node_satokens;
struct node_objcache;

/* One probe of one container (prober.c). */
struct aprobe {
	char *cname;
	enum node_probe_kind kind;
	struct node_probe_spec spec;
	struct node_probe_sm sm;
	struct node_probe_run *run;
	int64_t run_start;
	int run_id;
	bool got_result; /* a check of the current run has finished */
	/* The Unhealthy event last written for this probe, for kubelet-style aggregation:
	 * the same message again bumps its count (at most one write per AGENT_EVENT_MIN_MS).
	 * ev_obj is the event as first posted, re-created if it was deleted meanwhile. */
	char *ev_name, *ev_msg;
	json_t *ev_obj;
	int ev_count, ev_pending;
	int64_t ev_ms;
};

/* One pod bound to this node. */
struct apod {
	char uid[64];
	char *ns, *name;
	json_t *pod; /* latest from the informer; NULL for a leftover found at start-up */
	bool seen, gone, stopping, running, net_ok;
	bool host_net; /* spec.hostNetwork: the node's netns, the node's IPs */
	char ip[IP_STRLEN];
	char ip6[IP_STRLEN]; /* the pod's IPv6 address when the node has an IPv6 podCIDR, else "" */
	char netns[96];
	char veth[IFNAMSIZ];
	int netns_fd;
	char *net_err; /* why the network is not set up (a status message) */
	int64_t retry_ms;
	json_t *svc_env;
	json_t *env_sources; /* ConfigMaps, Secrets the pod reads (node/envsrc.h), or NULL */
	char *env_fp;	     /* fingerprint of env_sources given to the runtime */
	json_t *vol_plan;    /* the pod's volumes as last written (node/volumes.h), or NULL */
	char *vol_fp;	     /* fingerprint of vol_plan */
	char *vol_dir;	     /* <data-dir>/volumes/<uid> once set up, or NULL */
	char *mount_err;     /* the FailedMount message last recorded as an event, or NULL */
	json_t *last_status; /* what we last wrote */
	char start_time[40];
	int64_t hold_ms;   /* adopted: no status writes before the first readiness results */
	int64_t net_up_ms; /* when the pod network was set up (for announcements) */
	int announced;	   /* announcements sent so far (podnet.c) */
	bool deleted;	   /* the final DELETE is queued */
	VEC(struct aprobe) probes;
	struct apod *next;
};

struct node_agent {
	struct client_config cfg;
	struct client *cl; /* synchronous API calls: start-up and shutdown only */
	/* Every API write while the loop runs (pod statuses, events, heartbeats, deletes)
	 * goes through the writer's thread and connection (node/writer.h). */
	struct node_writer *writer;
	struct node_satokens *satokens; /* pods' ServiceAccount tokens (node/satokens.h) */
	char *ca_pem;			/* the cluster CA, the pods' ca.crt; NULL when unknown */
	char *node_ip6;			/* the IPv6 InternalIP (given or derived), NULL when none */
	char *node_name, *node_ip, *data_dir, *state_dir, *log_dir, *ipam_dir, *cluster_domain, *cluster_dns;
	int heartbeat_s;
	struct informer *pods, *nodes, *svcs;
	struct node_objcache *objs; /* ConfigMaps, Secrets pods use, one by one (node/objcache.h);
				     * secrets stay in memory */
	struct node_rt *rt;
	struct node_nl *nl;
	pthread_t th;
	bool th_started;
	int efd, sfd;
	atomic_int stop;		    /* (atomic) */
	atomic_int dirty_pods, dirty_nodes; /* (atomic) set by informer threads */
	struct apod *list;
	/* the node network (podnet.c) */
	bool have_cidr, bridge_ok;
	struct cidr pod_cidr;
	struct ip_addr gw;
	bool have_cidr6; /* the node's IPv6 podCIDR: pods get a second address from it */
	struct cidr pod_cidr6;
	struct ip_addr gw6;
	char *masq_script; /* the masquerade table last applied (node/masq.c) */
	/* status (status.c) */
	int64_t next_hb_ms;
	char kernel[128], os_image[128];
	struct node_logsrv *logsrv; /* the kubelet-style log endpoint; NULL when it failed */
	struct proxy *proxy;	    /* the Service proxy (proxy/proxy.h), started last */
	struct ing_proxy *ingress;  /* the Ingress controller (ingress/proxy.h), or NULL */
	struct dns_server *dns;	    /* cluster DNS for this node's pods (dns/server.h), or NULL */
	struct node_lb *lb;	    /* node Lease and LoadBalancer announcement (node/lbannounce.h) */
	int kubelet_port;
	/* exec (execctx.c): running containers' process contexts, published by the agent
	 * thread for exec sessions on log-server threads; under exec_mu. */
	pthread_mutex_t exec_mu;
	json_t *exec_tab; /* "ns/pod/container" -> {pid, run, cwd, env[]} */
	/* pods (pods.c) */
	char *host_resolv;
	bool cleaned_leftovers;
	/* the loop (agent.c) */
	size_t trim_npods;  /* pods at the last malloc_trim check */
	int64_t trim_at_ms; /* when to trim (0: nothing pending) */
};

/* Publishes the running containers' process contexts for exec (agent thread), and the
 * lookup exec sessions call (node/execsrv.h's node_exec_lookup; ud is the agent). */
void node__exec_publish(struct node_agent *a);
struct node_exec_ctx;
int node__exec_lookup(void *ud, const char *ns, const char *pod, const char *container,
		      struct node_exec_ctx *out);

/* Retry delay of a pod whose network or start failed (ms). */
#define AGENT_NET_RETRY_MS 2000
/* At most one write per probe's Unhealthy event in this long (ms). */
#define AGENT_EVENT_MIN_MS 5000

/* CLOCK_MONOTONIC in ms. */
int64_t node__now_ms(void);
/* A small file's text (1 MiB at most), or NULL; the caller frees it. */
char *node__read_file(const char *path);

/* The record of pod uid, or NULL. */
struct apod *node__pod_find(struct node_agent *a, const char *uid);
/* A new record for uid at the head of a->list, with its netns and veth names. */
struct apod *node__pod_new(struct node_agent *a, const char *uid);
/* Frees a record (not unlinked here), its probes and its netns fd. */
void node__pod_free(struct apod *p);
/* Fills p->netns ("svcp-pod-<uid>") and p->veth (node_agent_veth_name; "" when the uid has no
 * usable name). */
void node__pod_names(struct apod *p);
/* Replaces p->net_err (msg_take may be NULL). */
void node__set_net_err(struct apod *p, char *msg_take);
/* Frees the pod's probe records (ending checks in flight). */
void node__probes_free(struct apod *p);

/* One synchronous API request (start-up and shutdown only; never from the loop): body
 * (may be NULL) as JSON. Returns the HTTP status or a negative errno (logged); *resp (may
 * be NULL) gets the parsed body. Blocks up to the client's timeout. */
long node__api_do(struct node_agent *a, const char *method, const char *path, const char *ctype,
		  const json_t *body, json_t **resp);
/* Queues a write for the writer thread (node/writer.h): key, method, path (taken) and
 * body (taken, may be NULL). Never blocks on I/O. */
void node__write(struct node_agent *a, const char *key, const char *method, char *path_take,
		 const char *ctype, json_t *body_take);
/* Queues the POST of event ev_take (its name is ours, from api_event_new). */
void node__event_post(struct node_agent *a, json_t *ev_take);

#endif
