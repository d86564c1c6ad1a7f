/* probe.h - readiness, liveness and startup probes as kubelet runs them
 * (k8s.io/kubernetes pkg/kubelet/prober: worker.go for the schedule and thresholds,
 * prober.go and pkg/probe/{exec,http,tcp} for the checks).
 *
 * Two halves, kept apart so the first is unit-tested with a fake clock:
 *
 * 1. node_probe_sm, a pure state machine per (container, probe kind). It never reads a
 *    clock: the caller passes now_ms (CLOCK_MONOTONIC milliseconds) to every call.
 *
 *        container_started(now)            due(now) && run      record(result)
 *      ------------------------> WAITING --------------> PROBING ----------------+
 *         result := initial     (until start+initialDelay,                        |
 *                                then every periodSeconds)   <--------------------+
 *                                                            counts runs of equal results;
 *                                                            publishes after successThreshold
 *                                                            successes or failureThreshold
 *                                                            failures in a row
 *      container_stopped()  -> STOPPED (result Failure for readiness, Unknown otherwise)
 *      published liveness/startup Failure -> ON HOLD (no more probes until the next
 *                                            container_started: the caller restarts it)
 *
 *    Initial results as kubelet sets them: readiness Failure (not ready), liveness
 *    Success, startup Unknown (not started). Readiness and liveness probes are not run
 *    until the container has started, i.e. until its startup probe (if any) succeeded;
 *    the startup probe stops once it has succeeded. The first probe runs at container
 *    start + initialDelaySeconds, the next ones periodSeconds after the previous one
 *    began (kubelet's ticker); kubelet additionally pokes an unready readiness worker
 *    on each status sync, which this schedule does not model.
 *
 * 2. node_probe_run, one attempt of a check, non-blocking for an event loop: start it,
 *    wait until fd is ready for the events it asks (or the deadline passes), advance it,
 *    repeat until it is done. node_probe_run_sync() drives one with poll() for threads
 *    and tests. Checks as kubelet makes them:
 *      exec      the command runs inside the container's network, mount and UTS
 *                namespaces (setns on a pidfd of the container's main process), with the
 *                environment and working directory the runtime exec'd the container with
 *                (node_probe_target; never /proc/PID/environ, which reads empty while the
 *                container's shell is in the middle of an exec); exit 0 passes;
 *                timeoutSeconds kills it (whole process group); output up to 10 KiB is
 *                kept for messages.
 *      httpGet   from the node's namespace to host (default: the pod IP) and port (number,
 *                or a name resolved against the container's ports), GET path with
 *                httpHeaders, `Host: host:port` unless a Host header is given,
 *                `User-Agent: kube-probe/1.34`, `Accept: *` `/` `*`; status 200-399 passes.
 *                Redirects are not followed (a 3xx passes, as kubelet does for a redirect
 *                to another host). scheme HTTPS runs the same request over TLS (OpenSSL,
 *                non-blocking: the handshake's reads and writes show in node_probe_run_fd)
 *                as kubelet's InsecureSkipVerify transport: the certificate is not
 *                checked, TLS 1.2 at least, SNI is the host unless it is an IP literal,
 *                ALPN offers http/1.1 only (kubelet would also offer h2). timeoutSeconds
 *                covers connect, handshake and response. Failures read as Go's:
 *                `Get "https://h:p/path": remote error: tls: handshake failure`, `...: EOF`,
 *                `...: http: server gave HTTP response to HTTPS client`. SIGPIPE from a
 *                TLS write to a closed socket is absorbed, not delivered.
 *      tcpSocket connect to host:port within timeoutSeconds passes.
 *    grpc probes are reported as unsupported by node_probe_spec_parse().
 */
#ifndef NODE_PROBE_H
#define NODE_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum node_probe_kind { NODE_PROBE_READINESS, NODE_PROBE_LIVENESS, NODE_PROBE_STARTUP };
enum node_probe_result { NODE_PROBE_UNKNOWN, NODE_PROBE_SUCCESS, NODE_PROBE_FAILURE };
enum node_probe_handler { NODE_PROBE_EXEC, NODE_PROBE_HTTP, NODE_PROBE_TCP };

/* A parsed Probe with kubelet's defaults applied. Owns its strings. */
struct node_probe_spec {
	enum node_probe_handler handler;
	int initial_delay_s;   /* default 0 */
	int period_s;	       /* default 10 */
	int timeout_s;	       /* default 1 */
	int success_threshold; /* default 1 */
	int failure_threshold; /* default 3 */
	char **argv;	       /* exec: NULL-terminated */
	char *host;	       /* http/tcp: NULL = the pod IP */
	int port;	       /* http/tcp: resolved number */
	char *path;	       /* http: default "/" */
	bool https;	       /* http: scheme HTTPS */
	char **headers;	       /* http: NULL-terminated "Name: value" lines */
};

/* Parses probe (a core/v1 Probe, borrowed) of container (the Container object, for named
 * ports; borrowed) into out, which the caller later passes to node_probe_spec_fini().
 * Returns 0, or -EINVAL / -ENOTSUP with a message in err (no handler, unknown port name,
 * grpc); out is then empty. Pure. */
int node_probe_spec_parse(const json_t *probe, const json_t *container, struct node_probe_spec *out,
			  char *err, size_t errlen);
void node_probe_spec_fini(struct node_probe_spec *spec);

/* ---- the state machine (pure) ---- */

struct node_probe_sm {
	enum node_probe_kind kind;
	int initial_delay_ms, period_ms, success_threshold, failure_threshold;
	enum node_probe_result result; /* the published result */
	enum node_probe_result last;   /* last raw result, and how many times in a row */
	int run;
	bool running;	 /* the container is running */
	bool on_hold;	 /* liveness/startup failed: wait for a new container */
	int64_t next_ms; /* when the next probe is due (when running) */
};

/* Sets sm up for a probe of kind with spec's timings (spec is only read here). The
 * container is not running yet: result is the initial one for kind. */
void node_probe_sm_init(struct node_probe_sm *sm, enum node_probe_kind kind,
			const struct node_probe_spec *spec);
/* A new container instance started at now_ms: resets the counts and the result to the
 * initial one and schedules the first probe at now_ms + initialDelaySeconds. */
void node_probe_sm_container_started(struct node_probe_sm *sm, int64_t now_ms);
/* The container stopped: readiness becomes Failure, probing stops. */
void node_probe_sm_container_stopped(struct node_probe_sm *sm);
/* Whether a probe should run now. started is whether the container has started (its
 * startup probe succeeded, or it has none): readiness and liveness wait for it, a startup
 * probe stops once it is true. When it returns true the caller runs a check and then calls
 * node_probe_sm_record(); the next probe is scheduled one period after now_ms. */
bool node_probe_sm_due(struct node_probe_sm *sm, bool started, int64_t now_ms);
/* Records the result of a check that began at start_ms. Returns true when the published
 * result changed (the caller updates the pod's status; for a liveness or startup Failure it
 * restarts the container). A result of NODE_PROBE_UNKNOWN (a prober error) is thrown
 * away, as kubelet does. */
bool node_probe_sm_record(struct node_probe_sm *sm, enum node_probe_result r, int64_t start_ms);
/* When the caller should next call node_probe_sm_due() (ms), or INT64_MAX when idle. */
int64_t node_probe_sm_next_ms(const struct node_probe_sm *sm);

/* ---- one check (I/O) ---- */

/* What a check runs against. For exec, the container's process context comes from the
 * runtime (node_rt_container_proc), never from /proc: pid gives the namespaces only. */
struct node_probe_target {
	const char *pod_ip; /* default host for http/tcp */
	pid_t pid;	    /* exec: the container's main process (its namespaces) */
	char *const *env;   /* exec: the container's environment; NULL = empty */
	const char *cwd;    /* exec: its working directory; NULL = "/" */
	const char *exe;    /* the container's resolved executable (for messages); may be NULL */
};

struct node_probe_run;

/* Starts one check of spec against target at now_ms (monotonic). On success returns 0 and
 * *out (the caller frees it with node_probe_run_free()); the check may already be done.
 * Returns a negative errno only for local failures (fork, socket); an unreachable target is
 * a Failure result, not an error. Does not block (exec forks, which is brief; a host
 * name in httpGet.host/tcpSocket.host is resolved with getaddrinfo, which may). */
int node_probe_run_start(const struct node_probe_spec *spec, const struct node_probe_target *t,
			 int64_t now_ms, struct node_probe_run **out);
/* The fd to wait on and the poll events (POLLIN/POLLOUT) it needs; -1 when done. */
int node_probe_run_fd(const struct node_probe_run *run, short *events);
/* The absolute deadline (ms, monotonic) after which advancing times the check out. */
int64_t node_probe_run_deadline(const struct node_probe_run *run);
/* Makes progress without blocking; returns true when the check is done. */
bool node_probe_run_advance(struct node_probe_run *run, int64_t now_ms);
/* The result once done (Unknown before), and a message for events: the exec output on
 * success, else the failure reason, in kubelet's words where it has them ("HTTP probe
 * failed with statuscode: 500", "dial tcp 127.0.0.1:1: connect: connection refused").
 * A failure's message is never empty: a timeout ends in "timeout after Ns", an exec
 * failure names the exit code (or signal) and the output (`command "x" exited with code 3:
 * <output>`), an error in the exec child its errno. The string is owned by run. */
enum node_probe_result node_probe_run_result(const struct node_probe_run *run, const char **msg);
void node_probe_run_free(struct node_probe_run *run);

/* Runs one check to the end, blocking up to timeoutSeconds (plus the fork of an exec
 * probe): for prober threads and tests. msg (may be NULL) receives the message. */
enum node_probe_result node_probe_run_sync(const struct node_probe_spec *spec,
					   const struct node_probe_target *t, char *msg, size_t msglen);

#endif
