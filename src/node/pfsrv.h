/* pfsrv.h - the agent's kubelet-style port-forward endpoint, served on the log port
 * (node/logsrv.h) to the API server, which relays pods/portforward to it:
 *
 *   GET|POST /portForward/{namespace}/{pod}
 *       Upgrade: SPDY/3.1 with X-Stream-Protocol-Version: portforward.k8s.io (kubectl
 *       1.27-1.30, and newer ones as a fallback), or Upgrade: websocket with the
 *       subprotocol SPDY/3.1+portforward.k8s.io (kubectl 1.31+: the same SPDY bytes
 *       carried in WebSocket binary messages).
 *
 * Per forwarded connection the client opens two SPDY streams with headers streamType
 * (error|data), port and requestID; once both are there, the agent connects to
 * localhost:port inside the pod's network namespace and moves bytes: data frames to the
 * socket, socket bytes to data frames; the socket's EOF is FIN on the data stream and
 * then on the error stream (kubectl waits for the latter); a connection that fails is
 * its message on the error stream. The client's FIN on the data stream half-closes the
 * socket. Many connections and ports share one session (one thread, one poll loop).
 */
#ifndef NODE_PFSRV_H
#define NODE_PFSRV_H

#include "node/execsrv.h"

/* Serves one port-forward request for ns/pod (already authorized); fn finds the pod's
 * process context (container ""), for its network namespace. Returns when it ends. */
void node_pf_serve(struct http_conn *c, struct http_req *r, const char *ns, const char *pod,
		   node_exec_lookup fn, void *ud);

/* For the fuzz target (tests/fuzz/fuzz_pfsess.c): runs p[0..n) through a port-forward
 * session's parsing of client bytes (SPDY frames, header blocks with port and requestid,
 * data; inside WebSocket messages when tunnel) without a connection or a pod: replies go
 * nowhere and each connection fails as to a pod that is gone. Returns 0, or -1 where the
 * session would end. */
int node_pf_feed(bool tunnel, const uint8_t *p, size_t n);

#endif
