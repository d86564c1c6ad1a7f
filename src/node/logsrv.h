/* logsrv.h - the agent's kubelet-style HTTPS endpoint for container logs.
 *
 * The API server's pods/log subresource proxies to it, as kube-apiserver proxies to the
 * kubelet's port 10250:
 *
 *   GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&tailLines=
 *       &limitBytes=&sinceSeconds=&sinceTime=&timestamps=
 *
 * Logs are the runtime's files <log_dir>/<namespace>_<pod>_<uid>/<container>/<n>.log
 * (node/runtime.h; n is the restart count). The current instance is the highest n,
 * previous=true the one before it; when several pod directories share the name (a pod
 * deleted and made again), the newest is used. follow=true streams (chunked) until the
 * client goes away or the pod's container restarts or the directory vanishes.
 *
 * The files are raw bytes with no time per line, so: tailLines counts '\n'-terminated
 * lines (an unterminated last one too); limitBytes counts from where the output starts;
 * sinceSeconds/sinceTime give the whole instance when its file was written at or after
 * the limit (mtime) and nothing of what it already holds otherwise (a follow then streams
 * only what comes next); timestamps=true is accepted and ignored (no times to give, and
 * none are invented). Errors are plain text, as kubelet's: 401 without the token, 404 for
 * an unknown path, pod or container, 400 for a bad query value and for previous=true
 * without an earlier instance (kubelet's `previous terminated container "c" in pod "p"
 * not found`).
 *
 * Requests need "Authorization: Bearer <token>" (the token the agent itself uses with the
 * API server, which is the token the server presents). Serving certificate: self-signed,
 * made with http/pki.h under pki_dir at first start.
 */
#ifndef NODE_LOGSRV_H
#define NODE_LOGSRV_H

#include <stddef.h>

#define NODE_LOGSRV_DEFAULT_PORT 10250

struct node_logsrv_opts {
	const char *bind_address; /* the node IP */
	int port;		  /* 0 = pick a free one (tests); the agent passes 10250 by default */
	const char *log_dir;	  /* <data-dir>/logs */
	const char *pki_dir;	  /* where the serving certificate is kept; created */
	const char *token;	  /* required bearer token; NULL or "" refuses every request */
	/* The serving certificate signed by the cluster CA (node/nodecert.h) and that CA:
	 * with them, a client certificate of the API server (CN kube-apiserver-kubelet-client,
	 * O system:masters, verified against client_ca_file) is accepted besides the token.
	 * NULL: a self-signed certificate made in pki_dir, the token alone. */
	const char *cert_file, *key_file, *client_ca_file;
};

struct node_logsrv;

/* Starts serving in background threads. Returns 0 with *out, or a negative errno with a
 * sentence in err (address in use, certificate failure). o's strings are copied. */
int node_logsrv_start(const struct node_logsrv_opts *o, struct node_logsrv **out, char *err, size_t errlen);
/* Serves /exec/{ns}/{pod}/{container} (node/execsrv.h) from now on, with fn finding a
 * container's process context (called from connection threads). */
#include "node/execsrv.h"
void node_logsrv_set_exec(struct node_logsrv *s, node_exec_lookup fn, void *ud);
/* The port actually bound. */
int node_logsrv_port(const struct node_logsrv *s);
/* Stops and frees; ends follow streams. NULL is a no-op. */
void node_logsrv_stop(struct node_logsrv *s);

#endif
