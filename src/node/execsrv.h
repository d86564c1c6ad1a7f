/* execsrv.h - the agent's kubelet-style exec endpoint, served on the log port
 * (node/logsrv.h) to the API server, which proxies pods/exec to it:
 *
 *   GET /exec/{namespace}/{pod}/{container}?command=..&command=..&stdin=&stdout=&stderr=&tty=
 *       Upgrade: websocket, Sec-WebSocket-Protocol: v5.channel.k8s.io | v4.channel.k8s.io
 *
 * The command runs in the container's network, mount and UTS namespaces (setns on a pidfd
 * of its main process), with the environment and working directory the runtime exec'd the
 * container with, in its own session; with tty=true on a pty (resize on channel 4).
 * Channels as kubelet's remotecommand: 0 stdin, 1 stdout, 2 stderr, 3 status (a
 * metav1.Status JSON: Success, or NonZeroExitCode with an ExitCode cause, or InternalError
 * when the command cannot start), 4 resize; v5's close signal (255, ch) on channel 0 is
 * EOF on the command's stdin. When the client goes away the command's process group is
 * killed. SPDY/3.1 (v4.channel.k8s.io) carries the same channels as streams named by their
 * streamType header (kubectl 1.27-1.29). GET /attach/{ns}/{pod}/{container} is the same
 * session attached to the container's stdin FIFO and log (stdin: true containers); for a
 * tty: true container (a pty held by its shim, node/runtime.c) resize messages go to the
 * shim as "W H" lines on the resize FIFO beside the stdin one.
 *
 * Threading: a session runs on the httpd connection thread that got the request; the
 * lookup callback is called from it and must be thread-safe.
 */
#ifndef NODE_EXECSRV_H
#define NODE_EXECSRV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct http_conn;
struct http_req;
struct spdy_frame;
struct ws_frame;

/* A running container's process context (copies; free with node_exec_ctx_fini). */
struct node_exec_ctx {
	pid_t pid;
	char **env; /* NULL-terminated "NAME=value" */
	char *cwd;
};
void node_exec_ctx_fini(struct node_exec_ctx *x);

/* Fills *out for a running container ("": any of the pod's): 0, -ENOENT (unknown) or
 * -ESRCH (not running). */
typedef int (*node_exec_lookup)(void *ud, const char *ns, const char *pod, const char *container,
				struct node_exec_ctx *out);

/* Serves one exec request for ns/pod/container (already authorized); answers it in every
 * case and returns when the session ends. attach_dir non-NULL: an attach instead (no
 * command): input goes to the container's stdin FIFO in attach_dir (its log directory),
 * output is the container's log followed from its current end, and the session ends when
 * the container does or the client goes (the container is never stopped by it). */
void node_exec_serve(struct http_conn *c, struct http_req *r, const char *ns, const char *pod,
		     const char *container, node_exec_lookup fn, void *ud, const char *attach_dir);

/* For the streaming servers (exec and attach here, port-forward in pfsrv.c): whether the
 * comma-separated list (a Sec-WebSocket-Protocol header; NULL = none) offers want. */
bool node__ws_offered(const char *list, const char *want);

/* The whole SPDY frame at the front of rx (payload at most max bytes) into *f: returns its
 * payload, or NULL with *rc 0 (not all there yet) or -1 (a protocol error). */
const uint8_t *node__spdy_next(const struct buf *rx, uint32_t max, struct spdy_frame *f, int *rc);

/* A SPDY PING's answer (the same id, read from its payload pl) appended to out. */
void node__spdy_pong(struct buf *out, const uint8_t *pl);

/* The whole WebSocket frame from the client at the front of rx (payload at most max bytes)
 * into *f: returns its payload, or NULL with *rc 0 (not all there yet) or -1 (an error). */
uint8_t *node__ws_next(struct buf *rx, uint64_t max, struct ws_frame *f, int *rc);

/* Switches c with a 101: to SPDY/3.1 with X-Stream-Protocol-Version proto, or, when key
 * (the client's Sec-WebSocket-Key) is not NULL, to a WebSocket with subprotocol proto.
 * Returns http_conn_upgrade's result. */
int node__stream_upgrade(struct http_conn *c, const char *key, const char *proto);

/* For the fuzz target (tests/fuzz/fuzz_execsess.c): runs p[0..n) through a session's
 * parsing of client bytes (WebSocket frames and channel messages, or SPDY frames, SYN
 * header blocks and resize JSON) without a connection or a command: what the session
 * would send goes nowhere. Returns 0, or -1 where the session would end (close, GOAWAY,
 * a protocol error). */
int node_exec_feed(bool spdy, bool v5, bool tty, const uint8_t *p, size_t n);

#endif
