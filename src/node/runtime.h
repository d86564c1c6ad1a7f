/* runtime.h - the node runtime: a pod's containers as plain processes (no images: a
 * container is its command + args, run from the host's filesystem), supervised with
 * kubelet's restart rules, and re-adopted after the agent restarts.
 *
 * Process tree of one container run:
 *
 *   agent --fork--> shim (setsid, named "svcp-shim") --fork--> container (own process group)
 *
 * The container process joins the pod's network namespace (setns on the fd the caller
 * gives), unshares a mount namespace (/ made private recursively) and bind-mounts the
 * pod's generated resolv.conf and hosts over /etc/resolv.conf and /etc/hosts, unshares a
 * UTS namespace and sets the pod's hostname, points stdin at /dev/null and stdout/stderr
 * at <log_dir>/<container>/<restartCount>.log (raw bytes, kubelet's path layout; made
 * read-only once that run has exited, so log followers know it is complete), changes
 * to workingDir (default "/") and execs. The shim reports "exec done" or "step X failed
 * with errno E" back to the agent over a pipe (start is synchronous and bounded), then
 * waits for the container and writes its exit code and finish time to the pod's state
 * dir. That file is why the shim exists: after an agent restart the container is no
 * longer our child, but its exit code still reaches us.
 *
 * State on disk, <state_dir>/<pod uid>/: pod.json (identity of each run: shim and
 * container pids with their /proc/PID/stat start times, restart counts, states, back-off),
 * resolv.conf, hosts, and c-<container>.exit while a finished run is not yet collected.
 * node_rt_new() reads every pod.json back; a process is ours only if its pid has the
 * recorded start time, so a reused pid is never signalled.
 *
 * Container lifecycle (one struct per container of a pod):
 *
 *   NONE --start ok--> RUNNING --exit--> (restart? policy Always, OnFailure + code != 0,
 *    |  (ContainerCreating)                and the pod is not stopping)
 *    |                                       yes: WAITING (CrashLoopBackOff, or
 *    +--start failed (StartError, code 128)---->   RunContainerError after a StartError)
 *                                                  --back-off elapsed--> start again
 *                                            no:  TERMINATED
 *
 * Back-off as kubelet's: the first restart is immediate, then base, 2*base, ... up to max
 * (10 s and 300 s by default); it starts over once a container has gone 2*max without a
 * restart. Stop: SIGTERM to the container's process group, SIGKILL to the group after the
 * grace period. Exit codes as containerd reports them: the code, or 128 + signal.
 *
 * Threading: none inside. One thread (the agent's loop) owns a struct node_rt and calls
 * it; nothing here blocks for long: a container start waits for its exec (bounded by
 * start_timeout_ms, normally a few milliseconds), everything else is a syscall or a small
 * file write. The caller calls node_rt_sync() on SIGCHLD (e.g. a signalfd; we only ever
 * waitpid() our own shims by pid, never -1, so other children are not disturbed) and when
 * the delay it returns has passed.
 */
#ifndef NODE_RUNTIME_H
#define NODE_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct node_rt;

struct node_rt_config {
	const char *state_dir; /* required; created if missing */
	int backoff_base_ms;   /* 0 = 10000 */
	int backoff_max_ms;    /* 0 = 300000 */
	int start_timeout_ms;  /* how long a start may wait for the exec; 0 = 10000 */
};

/* Creates a runtime over cfg->state_dir (copied) and re-adopts the pods recorded there:
 * a run whose shim is still alive (same pid and start time) stays running; one that ended
 * while we were away is collected by the next node_rt_sync(). Returns NULL with a message
 * in err when the state dir cannot be created or read. */
struct node_rt *node_rt_new(const struct node_rt_config *cfg, char *err, size_t errlen);

/* Frees the runtime's memory and fds. It does NOT stop processes, so a new runtime over
 * the same state dir re-adopts them (stop pods first to end them). NULL is a no-op. */
void node_rt_free(struct node_rt *rt);

/* In a forked child before execve (async-signal-safe): every signal back to its default
 * disposition, the n in ignore[] ignored, then an empty signal mask. */
void node_rt_child_signals(const int *ignore, size_t n);

/* What the caller knows about a pod when it (re)submits it. Everything is borrowed and
 * copied as needed. */
struct node_rt_pod {
	const json_t *pod;	   /* the Pod (metadata.uid required); kept by reference: never
				    * modify it after the call (nor service_env) */
	int netns_fd;		   /* the pod's network namespace; -1 = the node's */
	const char *resolv_conf;   /* text for /etc/resolv.conf; NULL = the node's */
	const char *hosts;	   /* text for /etc/hosts; NULL = the node's */
	const char *hostname;	   /* UTS hostname; NULL = the node's */
	const json_t *service_env; /* [{name, value}] (api_envvars_from_services); may be NULL */
	const json_t *env_sources; /* ConfigMaps, Secrets, allocatable (node/envsrc.h); may be
				    * NULL; kept by reference like service_env */
	const char *pod_ip;	   /* for status.podIP(s) field refs; may be NULL */
	const char *host_ip;	   /* for status.hostIP(s) field refs; may be NULL */
	const char *log_dir;	   /* this pod's log directory; created */
	const char *root_dir;	   /* a root of its own: a directory with upper/, work/ and
				    * merged/ on one filesystem (the agent's per-pod tmpfs); the
				    * containers see an overlay of the node's / with upper/, and
				    * mounts; NULL = the node's filesystem */
	const json_t *mounts;	   /* {container name: [{src, dst, ro}]}: directories bound at dst
				    * inside the root (made there when missing), or without
				    * root_dir on the node's filesystem at a dst that exists
				    * (never made on the node); kept by reference */
};

/* Makes the runtime run pod p: the first call starts each container in spec order; later
 * calls (same uid) refresh what is kept (spec, netns, files, env) for future restarts and
 * start containers not started yet, leaving running ones alone. This is also how an
 * adopted pod gets its spec back. Starting a container blocks until it has exec'd (or
 * start_timeout_ms). Returns 0; -EINVAL (message in err) for a pod without a usable uid;
 * -EBUSY when the pod is stopping. A container that fails to start is a status
 * (StartError/RunContainerError, CreateContainerConfigError), not an error here. */
int node_rt_pod_run(struct node_rt *rt, const struct node_rt_pod *p, char *err, size_t errlen);

/* Collects exited runs, restarts containers whose back-off has elapsed, sends SIGKILL
 * where a grace period has run out, and persists the changes. Returns how many container
 * states changed; *next_ms (may be NULL) gets the delay in ms after which it wants to be
 * called again even without SIGCHLD (-1: no deadline). */
int node_rt_sync(struct node_rt *rt, int64_t *next_ms);

/* Stops pod uid: no more restarts; SIGTERM to every running container now, SIGKILL
 * grace_s seconds later (from node_rt_sync()). -1 uses the pod's
 * terminationGracePeriodSeconds (default 30). Calling it again may shorten the grace
 * period, never lengthen it. Returns 0 or -ENOENT. */
int node_rt_pod_stop(struct node_rt *rt, const char *uid, int grace_s);
/* Whether no process of pod uid is alive (true for an unknown uid). */
bool node_rt_pod_stopped(struct node_rt *rt, const char *uid);
/* Forgets a stopped pod and deletes its state dir (not its logs). -EBUSY while a process
 * is alive, -ENOENT when unknown. */
int node_rt_pod_remove(struct node_rt *rt, const char *uid);
/* NULL-terminated list of the uids the runtime knows (running, adopted or finished); the
 * caller frees each string and the array. Lets the agent find pods deleted while it was
 * down. */
char **node_rt_pod_list(struct node_rt *rt);

/* Kills one container as a failed liveness/startup probe does: SIGTERM, SIGKILL after
 * grace_s (-1: the pod's grace period); the restart policy then applies as to any exit.
 * Returns 0, -ENOENT, or -ESRCH when it is not running. */
int node_rt_container_kill(struct node_rt *rt, const char *uid, const char *name, int grace_s);

/* Probe results for a container's ready and started fields (reset at each run). Without
 * a readinessProbe a running container is ready, without a startupProbe it is started. */
int node_rt_container_set_probe(struct node_rt *rt, const char *uid, const char *name, bool ready,
				bool started);

/* The pid of the container's main process while it runs (for exec probes), else 0.
 * *run_id (may be NULL) gets a number that changes with every run of the container. */
pid_t node_rt_container_pid(struct node_rt *rt, const char *uid, const char *name, int *run_id);

/* A running container's process context, as the runtime exec'd it: the runtime is the
 * only source of it (nothing reads /proc/PID/environ, which is empty while the
 * container's shell is in the middle of an exec). */
struct node_rt_proc {
	pid_t pid;	  /* the container's main process (its namespaces) */
	int run_id;	  /* changes with every run of the container */
	char *const *env; /* final environment, "NAME=value", NULL-terminated */
	const char *cwd;  /* working directory */
	const char *exe;  /* resolved executable of the container's command; may be NULL
			   * for a run adopted from an older agent */
};

/* Fills out for container name of pod uid. Returns 0; -ENOENT for an unknown container
 * (out->run_id 0), -ESRCH when it is not running (out->run_id still set). The pointers
 * are borrowed from the runtime and valid until the next call that changes it
 * (node_rt_sync, node_rt_pod_run, ...): copy or use them at once. Does not block. */
int node_rt_container_proc(struct node_rt *rt, const char *uid, const char *name, struct node_rt_proc *out);

/* The pod's status as the runtime sees it: a new JSON object (the caller owns it)
 * {"phase": kubelet's getPhase, "containerStatuses": [ContainerStatus in spec order]},
 * each {name, image, imageID, containerID, ready, started, restartCount,
 * state{running{startedAt}|waiting{reason,message}|terminated{exitCode,reason,message,
 * startedAt,finishedAt}}, lastState}. NULL for an unknown uid. */
json_t *node_rt_pod_status(struct node_rt *rt, const char *uid);

/* Go's exec.LookPath against path_env (NULL: the default PATH) with relative names taken
 * from cwd: on success 0 and *out (caller frees); else -ENOENT/-EACCES and runc's message
 * (`exec: "x": executable file not found in $PATH`) in err. Touches the filesystem. */
int node_rt_lookpath(const char *file, const char *path_env, const char *cwd, char **out, char *err,
		     size_t errlen);

/* kubelet's container environment: PATH (default) and HOSTNAME first as containerd adds
 * them, then env in order (values with $(VAR) expanded, valueFrom.fieldRef for
 * metadata.name/namespace/uid/labels/annotations, spec.nodeName/serviceAccountName,
 * status.podIP(s)/hostIP(s); configMapKeyRef, secretKeyRef and resourceFieldRef from
 * env_sources, node/envsrc.h), envFrom's variables before env's, then the service
 * variables the container does not define. Returns a NULL-terminated "NAME=value" vector
 * (caller frees each and the array), or NULL with kubelet's reason text in err
 * (CreateContainerConfigError: `configmap "x" not found`, ...) when a required source is
 * missing. Pure. */
char **node_rt_container_env(const json_t *pod, const json_t *container, const json_t *service_env,
			     const json_t *env_sources, const char *hostname, const char *pod_ip,
			     const char *host_ip, char *err, size_t errlen);

#endif
