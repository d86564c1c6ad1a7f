/* apiserver.h - the Kubernetes-compatible API server: routes, verbs, discovery, watch.
 *
 * Serves the REST paths of the kinds in api/schema.h over the HTTP layer (http.h), keeps
 * objects in the store (store.h) as JSON without metadata.resourceVersion (filled from the
 * store's mod_rev on the way out), and answers errors as metav1 Status objects. Every
 * request but the health and version paths is authenticated (client certificate, admin
 * token, ServiceAccount token), authorized (Node authorizer, RBAC) and audited.
 */
#ifndef APISERVER_APISERVER_H
#define APISERVER_APISERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

struct apiserver_opts {
	const char *data_dir;
	const char *bind_address; /* default 127.0.0.1 */
	int secure_port;	  /* default 6443; 0 = pick a free port */
	bool insecure_http;	  /* plain HTTP (only allowed on loopback) */
	const char *kubeconfig;	  /* where to write the admin kubeconfig; NULL = <data-dir>/kubeconfig */
	const char *token_file;	  /* NULL = <data-dir>/token */
	const char *service_cluster_ip_range;
	const char *service_node_port_range;
	const char *cluster_cidr;
	const char *cluster_domain;
	const char *advertise_address; /* address written into the kubeconfig; default bind or 127.0.0.1 */
	bool allow_external_ips;       /* accept spec.externalIPs (off: CVE-2020-8554) */
	size_t max_body;	       /* 0 = 3 MiB */
	int max_conns;		       /* 0 = 4096 (fewer when the open-file limit is low) */
	const char *audit_policy_file; /* audit.k8s.io/v1 Policy (YAML or JSON) */
	const char *audit_log_path;    /* NULL = no audit log; "-" = stderr */
	int audit_log_maxsize_mb;      /* rotate past this many MB; 0 = never */
	int audit_log_maxbackup;       /* rotated files kept; 0 = all */
};

struct apiserver;

/* Reads kube's EncryptionConfiguration at path into the store's encryption rules (see
 * encconfig.c for what is supported). Returns 0, or a negative code with err. Blocks on
 * the file read. */
int apiserver_encryption_load(const char *path, struct store_encryption *out, char *err, size_t errlen);

/* Starts serving with the given store (borrowed; must outlive the server). Writes the
 * certificates, token and kubeconfig into the data dir. Returns 0 or a negative code with
 * a reason in err. */
int apiserver_start(const struct apiserver_opts *o, struct store *st, struct apiserver **out, char *err,
		    size_t errlen);
int apiserver_port(const struct apiserver *as);
const char *apiserver_kubeconfig_path(const struct apiserver *as);
/* Takes this server's address out of the kubernetes Service's Endpoints and EndpointSlice
 * (unless it is the last server) and stops renewing its record (mlease.h). Call it first
 * when shutting down, so clients move off before the slower stops; apiserver_stop does it
 * when it was not called. Blocks on store writes. */
void apiserver_endpoint_withdraw(struct apiserver *as);
void apiserver_stop(struct apiserver *as);

#endif
