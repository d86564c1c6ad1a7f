/* nodecert.h - the agent's serving certificate for its log endpoint, signed by the
 * cluster CA through the API server, and the log endpoint started with it.
 *
 * The agent makes its own key (never sent anywhere), asks the API server to sign a
 * certificate for its node's name and addresses (POST /svcplane/v1/nodes/<name>/
 * serving-certificate, see apiserver/certs.c), and serves its log endpoint with it,
 * accepting the API server's client certificate (verified against the cluster CA) or the
 * admin token. Without a signed certificate there is no log endpoint: the API server
 * verifies what it dials and would refuse a self-signed one anyway (fail closed).
 */
#ifndef NODE_NODECERT_H
#define NODE_NODECERT_H

#include "client/client.h"
#include "node/logsrv.h"

/* Obtains <pki_dir>/kubelet.crt (+ kubelet.key, made when missing, 0600) for node_name
 * and the addresses in addrs (NULL-terminated), and writes the cluster CA of cfg (its
 * certificate-authority data or file) to <pki_dir>/client-ca.crt. Blocks on one API call.
 * Returns 0, or a negative code with a sentence in err. */
int node_cert_obtain(struct client *cl, const struct client_config *cfg, const char *node_name,
		     const char *const *addrs, const char *pki_dir, char *err, size_t errlen);

/* The node's own client certificate towards the API (CN system:node:<name>, O
 * system:nodes, clientAuth), file base name in the pki directory. */
#define NODE_CLIENT_CERT "kubelet-client"
/* Asks the API server (through cl, holding the join credential or the node's current
 * certificate) to sign <pki_dir>/kubelet-client.crt for <pki_dir>/kubelet-client.key
 * (made when missing); both 0600. Blocks on one API call. Returns 0, -ENOENT when the
 * server has no such signer, or another negative code with err. */
int node_client_cert_obtain(struct client *cl, const char *node_name, const char *pki_dir, char *err,
			    size_t errlen);

/* Joins as the node: node_client_cert_obtain with *cl (the join credential), then makes
 * cfg use that certificate instead of the token and replaces *cl by a client for it. On
 * failure (logged) cfg and *cl stay as they were and a negative code is returned. */
int node_identity_take(struct client **cl, struct client_config *cfg, const char *node_name,
		       const char *pki_dir);

/* node_cert_obtain for the node's name and IPs (ip6 may be NULL), then node_logsrv_start
 * with the result on ip:port. Returns 0 with *out, or a negative code with err (no
 * endpoint started). */
int node_cert_logsrv_start(struct client *cl, const struct client_config *cfg, const char *node_name,
			   const char *ip, const char *ip6, int port, const char *log_dir,
			   const char *pki_dir, struct node_logsrv **out, char *err, size_t errlen);

#endif
