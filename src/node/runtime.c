/* runtime.c - pods as processes: launch through a shim, restart with back-off, stop with
 * a grace period, persist and re-adopt (see runtime.h for the design and lifecycle).
 *
 * Between fork() and execve()/_exit() the shim and the container child call only
 * async-signal-safe functions: the agent may have other threads, and a fork copies just
 * the calling one. Everything they need (paths, argv, envp, messages) is prepared before
 * the fork in struct launch.
 */
#include "node/runtime.h"

#include "api/object.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"
#include "node/envsrc.h"
#include "node/images.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ADOPTED_POLL_MS 250 /* how often runs we cannot waitpid() are checked */

enum ctr_state { C_NONE, C_WAITING, C_RUNNING, C_TERMINATED };

struct term {
	int exit_code;
	char *reason;
	char *message;
	int64_t started_ns, finished_ns; /* wall clock */
};

struct ctr {
	char *name;
	enum ctr_state state;
	char *wait_reason, *wait_msg;
	int restart_count;
	int attempts; /* runs started so far */
	int64_t started_ns;
	bool has_term, has_last;
	struct term term, last;
	pid_t shim, pid;
	uint64_t shim_start, pid_start;
	bool shim_child; /* a child of this process (else adopted: poll /proc) */
	int64_t backoff_ms, backoff_upd_ms;
	int64_t restart_at_ms, kill_at_ms; /* CLOCK_MONOTONIC, 0 = none */
	bool ready, started;		   /* from probes */
	bool has_readiness, has_startup;
	/* The current run's process context as it was exec'd: the final environment
	 * ("NAME=value", NULL-terminated), working directory and resolved executable. Exec
	 * probes (and kubectl exec) take them from here, never from /proc/PID/environ,
	 * which reads empty while the container's own shell is between exec steps. NULL
	 * before the first run. Persisted, so an adopted run keeps them. */
	char **env;
	char *cwd, *exe;
};

struct rt_pod {
	char *uid, *name, *ns, *dir;
	char *restart_policy;
	int grace_s;
	json_t *pod; /* deep copy; NULL for an adopted pod until node_rt_pod_run() */
	int netns_fd;
	char *hostname, *log_dir, *pod_ip, *host_ip;
	json_t *service_env;
	json_t *env_sources;
	char *root_dir; /* the pod's own root (upper/work/merged), or NULL */
	json_t *mounts; /* container name -> [{src, dst, ro}] */
	bool have_resolv, have_hosts;
	bool stopping;
	struct ctr *ctrs;
	size_t n;
	struct rt_pod *next;
};

struct node_rt {
	char *state_dir;
	int64_t base_ms, max_ms, start_timeout_ms;
	struct rt_pod *pods;
};

/* ---- small helpers ---- */

static void strv_free(char **v);

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fmt_time(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Go's time.Duration.String() for whole milliseconds. */
static void fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 1000) {
		snprintf(buf, len, "%lldms", (long long)ms);
	} else if (ms < 60000) {
		if (ms % 1000)
			snprintf(buf, len, "%lld.%03llds", (long long)(ms / 1000), (long long)(ms % 1000));
		else
			snprintf(buf, len, "%llds", (long long)(ms / 1000));
		/* drop trailing zeros of a fraction, as Go does */
		char *dot = strchr(buf, '.');
		if (dot) {
			char *s = buf + strlen(buf) - 1; /* at 's' */
			char *e = s - 1;
			while (e > dot && *e == '0')
				e--;
			memmove(e + 1, s, 2);
		}
	} else {
		snprintf(buf, len, "%lldm%llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
	}
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

static bool valid_uid(const char *uid)
{
	if (!uid || !*uid || strlen(uid) > 128)
		return false;
	for (const char *c = uid; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return false;
	return true;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot) and field 3 (state). */
static int proc_start(pid_t pid, uint64_t *start, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EBADMSG;
	p += 2;
	if (state)
		*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EBADMSG;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

/* Whether pid is alive and is the process that had start time `start` (not a zombie). */
static bool proc_is(pid_t pid, uint64_t start)
{
	uint64_t s;
	char st = 0;
	if (pid <= 0 || proc_start(pid, &s, &st) < 0)
		return false;
	return s == start && st != 'Z' && st != 'X';
}

/* Moves fd to a number >= 3 (so dup2 onto 0..2 in the child cannot clobber it). */
static int fd_high(int fd)
{
	if (fd < 0 || fd >= 3)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return n;
}

/* ---- lookpath and environment (pure apart from stat) ---- */

static bool is_exec_file(const char *path, int *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		*err = errno;
		return false;
	}
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
		*err = EACCES;
		return false;
	}
	return true;
}

static void lower_first(char *s)
{
	if (s[0] >= 'A' && s[0] <= 'Z')
		s[0] = (char)(s[0] - 'A' + 'a');
}

int node_rt_lookpath(const char *file, const char *path_env, const char *cwd, char **out, char *err,
		     size_t errlen)
{
	int e = 0;
	char es[128];
	if (!file || !*file) {
		snprintf(err, errlen, "exec: no command");
		return -ENOENT;
	}
	if (strchr(file, '/')) {
		char *p = file[0] == '/' || !cwd ? xstrdup(file) : xasprintf("%s/%s", cwd, file);
		if (is_exec_file(p, &e)) {
			*out = p;
			return 0;
		}
		free(p);
		snprintf(es, sizeof(es), "%s", strerror(e));
		lower_first(es);
		if (e == EACCES)
			snprintf(err, errlen, "exec: \"%s\": permission denied", file);
		else
			snprintf(err, errlen, "exec: \"%s\": stat %s: %s", file, file, es);
		return e == EACCES ? -EACCES : -ENOENT;
	}
	const char *path = path_env ? path_env : DEFAULT_PATH;
	for (const char *d = path;;) {
		const char *colon = strchr(d, ':');
		size_t dl = colon ? (size_t)(colon - d) : strlen(d);
		char *p;
		if (dl == 0)
			p = cwd ? xasprintf("%s/%s", cwd, file) : xasprintf("./%s", file);
		else if (d[0] != '/' && cwd)
			p = xasprintf("%s/%.*s/%s", cwd, (int)dl, d, file);
		else
			p = xasprintf("%.*s/%s", (int)dl, d, file);
		if (is_exec_file(p, &e)) {
			*out = p;
			return 0;
		}
		free(p);
		if (!colon)
			break;
		d = colon + 1;
	}
	snprintf(err, errlen, "exec: \"%s\": executable file not found in $PATH", file);
	return -ENOENT;
}

/* Environment variables in the order first set, a VEC (base/vec.h). */
struct envlist {
	struct env_var {
		char *name, *value;
	} * v;
	size_t len, cap;
};

static const char *env_get(const struct envlist *l, const char *name, size_t nl)
{
	for (size_t i = 0; i < l->len; i++)
		if (strlen(l->v[i].name) == nl && strncmp(l->v[i].name, name, nl) == 0)
			return l->v[i].value;
	return NULL;
}

static void env_set(struct envlist *l, const char *name, const char *value)
{
	for (size_t i = 0; i < l->len; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			set_str(&l->v[i].value, value);
			return;
		}
	}
	*vec_push(l) = (struct env_var){xstrdup(name), xstrdup(value)};
}

static void env_fini(struct envlist *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	vec_free(l);
}

/* k8s third_party/forked/golang/expansion Expand: $(VAR) from the container's variables
 * defined so far, then the service variables; unknown references stay as written; "$$"
 * is a literal "$". */
static char *expand(const char *in, const struct envlist *a, const struct envlist *b)
{
	struct buf o;
	buf_init(&o);
	size_t len = strlen(in);
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '$' || i + 1 >= len) {
			buf_putc(&o, in[i]);
			continue;
		}
		char nx = in[i + 1];
		if (nx == '$') {
			buf_putc(&o, '$');
			i++;
		} else if (nx == '(') {
			const char *close = strchr(in + i + 2, ')');
			if (!close) {
				buf_puts(&o, "$(");
				i++;
				continue;
			}
			const char *name = in + i + 2;
			size_t nl = (size_t)(close - name);
			const char *v = env_get(a, name, nl);
			if (!v && b)
				v = env_get(b, name, nl);
			if (v)
				buf_puts(&o, v);
			else
				buf_append(&o, in + i, nl + 3);
			i += nl + 2;
		} else {
			buf_putc(&o, '$');
			buf_putc(&o, nx);
			i++;
		}
	}
	char *s = buf_take(&o);
	return s ? s : xstrdup("");
}

/* metadata.labels['key'] */
static const char *bracket_key(const char *path, const char *prefix, char *key, size_t keylen)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0 || path[pl] != '[' || path[pl + 1] != '\'')
		return NULL;
	const char *s = path + pl + 2, *e = strstr(s, "']");
	if (!e || e[2] || (size_t)(e - s) >= keylen)
		return NULL;
	memcpy(key, s, (size_t)(e - s));
	key[e - s] = 0;
	return key;
}

static int field_ref(const json_t *pod, const char *path, const char *pod_ip, const char *host_ip,
		     const char **out)
{
	char key[320];
	if (strcmp(path, "metadata.name") == 0 || strcmp(path, "metadata.namespace") == 0 ||
	    strcmp(path, "metadata.uid") == 0 || strcmp(path, "spec.nodeName") == 0 ||
	    strcmp(path, "spec.serviceAccountName") == 0) {
		*out = api_str(pod, path);
	} else if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0) {
		*out = pod_ip ? pod_ip : api_str(pod, "status.podIP");
	} else if (strcmp(path, "status.hostIP") == 0 || strcmp(path, "status.hostIPs") == 0) {
		*out = host_ip ? host_ip : api_str(pod, "status.hostIP");
	} else if (bracket_key(path, "metadata.labels", key, sizeof(key))) {
		*out = json_string_value(json_object_get(api_get(pod, "metadata.labels"), key));
	} else if (bracket_key(path, "metadata.annotations", key, sizeof(key))) {
		*out = json_string_value(json_object_get(api_get(pod, "metadata.annotations"), key));
	} else {
		return -ENOTSUP;
	}
	if (!*out)
		*out = "";
	return 0;
}

char **node_rt_container_env(const json_t *pod, const json_t *container, const json_t *service_env,
			     const json_t *env_sources, const char *hostname, const char *pod_ip,
			     const char *host_ip, char *err, size_t errlen)
{
	struct envlist svc = {0}, mine = {0};
	char **out = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(service_env, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		const char *val = json_string_value(json_object_get(v, "value"));
		if (n)
			env_set(&svc, n, val ? val : "");
	}
	if (json_array_size(json_object_get(container, "envFrom"))) {
		json_t *from = node_envsrc_env_from(env_sources, pod, container, err, errlen);
		if (!from)
			goto out;
		json_array_foreach(from, i, v) env_set(&mine, json_string_value(json_array_get(v, 0)),
						       json_string_value(json_array_get(v, 1)));
		json_decref(from);
	}
	json_array_foreach(json_object_get(container, "env"), i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		if (!n || !*n)
			continue;
		const char *val = json_string_value(json_object_get(v, "value"));
		const json_t *from = json_object_get(v, "valueFrom");
		if (val && *val) {
			char *x = expand(val, &mine, &svc);
			env_set(&mine, n, x);
			free(x);
		} else if (json_is_object(from)) {
			const json_t *fr = json_object_get(from, "fieldRef");
			const char *fp = json_string_value(json_object_get(fr, "fieldPath"));
			const char *res = NULL;
			if (fp) {
				if (field_ref(pod, fp, pod_ip, host_ip, &res) < 0) {
					snprintf(err, errlen,
						 "env %s: fieldRef %s is not supported by this node runtime",
						 n, fp);
					goto out;
				}
				env_set(&mine, n, res);
				continue;
			}
			char *sv = NULL;
			int src_rc = node_envsrc_value(env_sources, pod, container, from, &sv, err, errlen);
			if (src_rc == 1) {
				env_set(&mine, n, sv);
				free(sv);
				continue;
			}
			if (src_rc == 0)
				continue; /* an optional missing source sets nothing, as in kubelet */
			if (src_rc != -ENOTSUP)
				goto out;
			const json_t *fk = json_object_get(from, "fileKeyRef");
			if (json_is_true(json_object_get(fk, "optional")))
				continue;
			snprintf(err, errlen, "env %s: valueFrom %s is not supported by this node runtime", n,
				 fk ? "fileKeyRef" : "an unknown source");
			goto out;
		} else {
			env_set(&mine, n, "");
		}
	}
	/* containerd's defaults first, then the container's, then the services' */
	struct envlist all = {0};
	env_set(&all, "PATH", DEFAULT_PATH);
	if (hostname)
		env_set(&all, "HOSTNAME", hostname);
	for (i = 0; i < mine.len; i++)
		env_set(&all, mine.v[i].name, mine.v[i].value);
	for (i = 0; i < svc.len; i++)
		if (!env_get(&mine, svc.v[i].name, strlen(svc.v[i].name)))
			env_set(&all, svc.v[i].name, svc.v[i].value);
	out = xcalloc(all.len + 1, sizeof(char *));
	for (i = 0; i < all.len; i++)
		out[i] = xasprintf("%s=%s", all.v[i].name, all.v[i].value);
	env_fini(&all);
out:
	env_fini(&svc);
	env_fini(&mine);
	return out;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- the shim and the container child (async-signal-safe only) ---- */

enum step {
	STEP_OK,
	STEP_FORK,
	STEP_SETNS,
	STEP_UNSHARE,
	STEP_MOUNT_PRIVATE,
	STEP_MOUNT_RESOLV,
	STEP_MOUNT_HOSTS,
	STEP_MOUNT_ROOT,
	STEP_MOUNT_VOLUME,
	STEP_PIVOT_ROOT,
	STEP_HOSTNAME,
	STEP_STDIO,
	STEP_CHDIR,
	STEP_EXEC,
};

struct launch {
	int netns, devnull, logfd, status_w;
	/* tty: true: the pty the container gets as stdin/stdout/stderr (its controlling
	 * terminal); the shim holds the master, copies it to the log, copies devnull (the
	 * stdin FIFO) into it and applies "W H" lines of the resize FIFO. -1 otherwise. */
	int tty_master, tty_slave, resize_fd;
	const char *resolv, *hosts, *hostname, *cwd, *exe;
	char **argv, **envp;
	const char *exit_path, *exit_tmp;
	/* A root of its own (pods with volumes, node_rt_pod.root_dir): an overlay of the
	 * node's / with the pod's upper layer mounted on root, the node's /proc, /sys, /dev
	 * and /run bound into it, then the volumes at their mount paths, then pivot_root.
	 * root NULL: the node's filesystem, as before. */
	const char *root, *root_opts;
	const char *run_opts; /* the overlay of the node's /run on the pod's run-upper (see below) */
	const char *etc_resolv, *etc_hosts; /* targets of the resolv.conf and hosts binds */
	char **sys_dst;			    /* root + "/proc", ... (NULL-terminated, same order as sys_src) */
	char **vol_src, **vol_dst;	    /* NULL-terminated; vol_dst as the pod sees it */
	const int *vol_ro;
};

static const char *const sys_src[] = {"/proc", "/sys", "/dev", "/run", NULL};

struct report {
	int32_t pid, step, err;
};

static size_t fmt_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void close_all_except(const int *keep, size_t n)
{
	int k[8];
	size_t m = 0;
	for (size_t i = 0; i < n && m < 8; i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	for (size_t i = 1; i < m; i++) /* insertion sort */
		for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	unsigned lo = 3;
	for (size_t i = 0; i <= m; i++) {
		unsigned hi = i < m ? (unsigned)k[i] - 1 : ~0U;
		if (i < m && (unsigned)k[i] < lo) /* duplicate */
			continue;
		if (hi >= lo && syscall(SYS_close_range, lo, hi, 0) < 0) {
			for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
				close((int)fd);
		}
		if (i < m)
			lo = (unsigned)k[i] + 1;
	}
}

/* mkdir -p of an absolute path, async-signal-safe (errors show at the mount). */
/* Opens (O_PATH) directory rel (absolute) as the pod will see it under root: every
 * component resolved inside root (openat2 RESOLVE_IN_ROOT), so a symlink on the way
 * (Debian's /var/run -> /run, or one a pod left in its upper layer) stays in the pod's
 * root and never reaches the node's; with make, missing components are made (in the
 * pod's upper layer). Returns the fd or -1 (errno set). For the child: no allocation. */
static int root_open_dir(const char *root, const char *rel, bool make)
{
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -1;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char b[4096];
	size_t n = 0, comp = 0;
	int prev = dup(rfd);
	while (prev >= 0 && rel[n] && n < sizeof(b) - 1) {
		b[n] = rel[n];
		n++;
		if (b[n - 1] == '/') {
			comp = n;
			continue;
		}
		if (rel[n] && rel[n] != '/')
			continue;
		b[n] = 0;
		int fd = (int)syscall(SYS_openat2, rfd, b, &how, sizeof(how));
		if (fd < 0 && errno == ENOENT && make && mkdirat(prev, b + comp, 0755) == 0)
			fd = (int)syscall(SYS_openat2, rfd, b, &how, sizeof(how));
		close(prev);
		prev = fd;
	}
	int e = errno;
	close(rfd);
	errno = e;
	return prev;
}

static void child_fail(int fd, enum step s)
{
	int32_t rec[2] = {s, errno};
	(void)!write(fd, rec, sizeof(rec));
	_exit(128);
}

void node_rt_child_signals(const int *ignore, size_t n)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	for (size_t i = 0; i < n; i++)
		signal(ignore[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static __attribute__((noreturn)) void container_child(const struct launch *l, int errw)
{
	node_rt_child_signals(NULL, 0);
	setpgid(0, 0);
	if (l->netns >= 0 && setns(l->netns, CLONE_NEWNET) < 0)
		child_fail(errw, STEP_SETNS);
	if (unshare(CLONE_NEWNS | (l->hostname ? CLONE_NEWUTS : 0)) < 0)
		child_fail(errw, STEP_UNSHARE);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(errw, STEP_MOUNT_PRIVATE);
	if (l->root) {
		if (mount("overlay", l->root, "overlay", 0, l->root_opts) < 0)
			child_fail(errw, STEP_MOUNT_ROOT);
		/* /run is an overlay of the node's (its files, not its submounts): a mount point
		 * under it (/var/run/secrets/... through Debian's /var/run -> /run) is made in
		 * the pod's layer, never in the node's /run. */
		for (size_t i = 0; sys_src[i]; i++)
			if (strcmp(sys_src[i], "/run")
				? mount(sys_src[i], l->sys_dst[i], NULL, MS_BIND | MS_REC, NULL) < 0
				: mount("overlay", l->sys_dst[i], "overlay", 0, l->run_opts) < 0)
				child_fail(errw, STEP_MOUNT_ROOT);
	}
	for (size_t i = 0; l->vol_src[i]; i++) {
		/* With a root, the mount point is made in the pod's upper layer, never on the
		 * node; without one it must exist (the agent makes it); either way it is
		 * mounted on through its fd (/proc/self/fd/N), as runc does. */
		int fd = root_open_dir(l->root ? l->root : "/", l->vol_dst[i], l->root != NULL);
		if (fd < 0)
			child_fail(errw, STEP_MOUNT_VOLUME);
		char at[64] = "/proc/self/fd/";
		at[14 + fmt_u64(at + 14, (uint64_t)fd)] = 0;
		if (mount(l->vol_src[i], at, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(errw, STEP_MOUNT_VOLUME);
		close(fd);
		if (!l->vol_ro[i])
			continue;
		fd = root_open_dir(l->root ? l->root : "/", l->vol_dst[i], false); /* the mount's root */
		if (fd < 0)
			child_fail(errw, STEP_MOUNT_VOLUME);
		at[14 + fmt_u64(at + 14, (uint64_t)fd)] = 0;
		if (mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			child_fail(errw, STEP_MOUNT_VOLUME);
		close(fd);
	}
	if (l->resolv && mount(l->resolv, l->etc_resolv, NULL, MS_BIND, NULL) < 0)
		child_fail(errw, STEP_MOUNT_RESOLV);
	if (l->hosts && mount(l->hosts, l->etc_hosts, NULL, MS_BIND, NULL) < 0)
		child_fail(errw, STEP_MOUNT_HOSTS);
	if (l->root && (chdir(l->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
			umount2(".", MNT_DETACH) < 0 || chdir("/") < 0))
		child_fail(errw, STEP_PIVOT_ROOT);
	if (l->hostname) {
		size_t hl = 0;
		while (l->hostname[hl])
			hl++;
		if (sethostname(l->hostname, hl) < 0)
			child_fail(errw, STEP_HOSTNAME);
	}
	if (chdir(l->cwd) < 0)
		child_fail(errw, STEP_CHDIR);
	if (l->tty_slave >= 0) {
		if (dup2(l->tty_slave, 0) < 0 || dup2(l->tty_slave, 1) < 0 || dup2(l->tty_slave, 2) < 0)
			child_fail(errw, STEP_STDIO);
		setsid(); /* a session of its own, so the pty can be its controlling terminal */
		ioctl(0, TIOCSCTTY, 0);
	} else if (dup2(l->devnull, 0) < 0 || dup2(l->logfd, 1) < 0 || dup2(l->logfd, 2) < 0) {
		child_fail(errw, STEP_STDIO);
	}
	execve(l->exe, l->argv, l->envp);
	child_fail(errw, STEP_EXEC);
	_exit(128);
}

/* "W H" lines (the attach's resize messages, node/execsrv.c) from the resize FIFO. */
static void tty_resize(int master, char *acc, size_t *len)
{
	char *nl;
	while ((nl = memchr(acc, '\n', *len))) {
		*nl = 0;
		unsigned w = 0, h = 0;
		if (sscanf(acc, "%u %u", &w, &h) == 2 && w > 0 && h > 0 && w < 65536 && h < 65536) {
			struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
			ioctl(master, TIOCSWINSZ, &ws);
		}
		size_t used = (size_t)(nl - acc) + 1;
		memmove(acc, acc + used, *len - used);
		*len -= used;
	}
	if (*len >= 63)
		*len = 0; /* no line that long is ours */
}

/* The shim's loop for a tty container until it exits: pty output to the log, the stdin
 * FIFO to the pty, resize lines applied. Then what the pty still holds goes to the log. */
static void tty_pump(const struct launch *l, pid_t c)
{
	int pfd = (int)syscall(SYS_pidfd_open, c, 0);
	char blk[8192], acc[64];
	size_t acc_len = 0;
	bool master_open = true, stdin_open = true;
	fcntl(l->tty_master, F_SETFL, fcntl(l->tty_master, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd pf[4] = {{.fd = master_open ? l->tty_master : -1, .events = POLLIN},
				       {.fd = stdin_open ? l->devnull : -1, .events = POLLIN},
				       {.fd = l->resize_fd, .events = POLLIN},
				       {.fd = pfd, .events = POLLIN}};
		if (poll(pf, 4, pfd < 0 ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			ssize_t r = read(l->tty_master, blk, sizeof(blk));
			if (r > 0)
				(void)!write(l->logfd, blk, (size_t)r);
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				master_open = false; /* EIO: no process holds the slave any more */
		}
		if (pf[1].revents) {
			/* the stdin FIFO (held open read-write: no EOF), or /dev/null without
			 * stdin: true (EOF at once: stop polling it) */
			ssize_t r = read(l->devnull, blk, sizeof(blk));
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				stdin_open = false;
			for (ssize_t off = 0; r > 0 && master_open && off < r;) {
				ssize_t w = write(l->tty_master, blk + off, (size_t)(r - off));
				if (w > 0) {
					off += w;
				} else if (w < 0 && errno == EAGAIN) {
					/* the pty's input queue is full: wait for the program to read */
					struct pollfd po = {.fd = l->tty_master, .events = POLLOUT};
					if (poll(&po, 1, 1000) <= 0)
						break;
				} else if (!(w < 0 && errno == EINTR)) {
					break;
				}
			}
		}
		if (pf[2].revents & POLLIN) {
			ssize_t r = read(l->resize_fd, acc + acc_len, sizeof(acc) - 1 - acc_len);
			if (r > 0) {
				acc_len += (size_t)r;
				tty_resize(l->tty_master, acc, &acc_len);
			}
		}
		if ((pfd >= 0 && pf[3].revents) ||
		    (pfd < 0 && waitpid(c, NULL, WNOWAIT | WNOHANG | WEXITED) == c))
			break;
	}
	for (int i = 0; i < 64 && master_open; i++) {
		ssize_t r = read(l->tty_master, blk, sizeof(blk));
		if (r <= 0)
			break;
		(void)!write(l->logfd, blk, (size_t)r);
	}
	if (pfd >= 0)
		close(pfd);
}

static __attribute__((noreturn)) void shim_main(const struct launch *l)
{
	setsid();
	prctl(PR_SET_NAME, "svcp-shim", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	/* A stray signal must not lose the exit code; SIGKILL still ends the shim. */
	static const int ignore[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
	node_rt_child_signals(ignore, sizeof(ignore) / sizeof(ignore[0]));
	int keep[] = {l->netns, l->devnull, l->logfd, l->status_w, l->tty_master, l->tty_slave, l->resize_fd};
	close_all_except(keep, 7);
	int ep[2];
	struct report rep = {0, STEP_OK, 0};
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rep.step = STEP_FORK;
		rep.err = errno;
		(void)!write(l->status_w, &rep, sizeof(rep));
		_exit(1);
	}
	pid_t c = fork();
	if (c < 0) {
		rep.step = STEP_FORK;
		rep.err = errno;
		(void)!write(l->status_w, &rep, sizeof(rep));
		_exit(1);
	}
	if (c == 0) {
		close(ep[0]);
		container_child(l, ep[1]);
	}
	setpgid(c, c);
	close(ep[1]);
	if (l->tty_master < 0) {
		close(l->logfd);
		close(l->devnull);
	} else {
		close(l->tty_slave);
	}
	if (l->netns >= 0)
		close(l->netns);
	int32_t rec[2];
	ssize_t n;
	while ((n = read(ep[0], rec, sizeof(rec))) < 0 && errno == EINTR)
		;
	close(ep[0]);
	rep.pid = c;
	if (n == (ssize_t)sizeof(rec)) {
		rep.step = rec[0];
		rep.err = rec[1];
	}
	(void)!write(l->status_w, &rep, sizeof(rep));
	close(l->status_w);
	if (l->tty_master >= 0)
		tty_pump(l, c);
	int status = 0;
	while (waitpid(c, &status, 0) < 0 && errno == EINTR)
		;
	/* The whole group goes with its leader, as a container's processes do. */
	kill(-c, SIGKILL);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char line[80];
	size_t k = fmt_u64(line, (uint64_t)code);
	line[k++] = ' ';
	k += fmt_u64(line + k, (uint64_t)ts.tv_sec);
	line[k++] = ' ';
	k += fmt_u64(line + k, (uint64_t)ts.tv_nsec);
	line[k++] = '\n';
	int fd = open(l->exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, k);
		close(fd);
		rename(l->exit_tmp, l->exit_path);
	}
	_exit(0);
}

/* ---- persistence ---- */

static json_t *term_json(const struct term *t)
{
	return json_pack("{s:i, s:s, s:s, s:I, s:I}", "exitCode", t->exit_code, "reason",
			 t->reason ? t->reason : "", "message", t->message ? t->message : "", "startedNs",
			 (json_int_t)t->started_ns, "finishedNs", (json_int_t)t->finished_ns);
}

static void term_load(struct term *t, const json_t *j)
{
	t->exit_code = (int)json_integer_value(json_object_get(j, "exitCode"));
	set_str(&t->reason, json_string_value(json_object_get(j, "reason")));
	set_str(&t->message, json_string_value(json_object_get(j, "message")));
	t->started_ns = json_integer_value(json_object_get(j, "startedNs"));
	t->finished_ns = json_integer_value(json_object_get(j, "finishedNs"));
}

static void term_fini(struct term *t)
{
	free(t->reason);
	free(t->message);
	memset(t, 0, sizeof(*t));
}

static void pod_save(struct rt_pod *p)
{
	json_t *cs = json_array();
	for (size_t i = 0; i < p->n; i++) {
		struct ctr *c = &p->ctrs[i];
		json_t *j = json_pack(
		    "{s:s, s:i, s:i, s:i, s:I, s:i, s:I, s:i, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:b}",
		    "name", c->name, "state", (int)c->state, "restartCount", c->restart_count, "attempts",
		    c->attempts, "startedNs", (json_int_t)c->started_ns, "shimPid", (int)c->shim, "shimStart",
		    (json_int_t)c->shim_start, "pid", (int)c->pid, "pidStart", (json_int_t)c->pid_start,
		    "backoffMs", (json_int_t)c->backoff_ms, "backoffUpdMs", (json_int_t)c->backoff_upd_ms,
		    "restartAtMs", (json_int_t)c->restart_at_ms, "ready", c->ready, "started", c->started,
		    "hasReadiness", c->has_readiness, "hasStartup", c->has_startup);
		if (c->wait_reason)
			json_object_set_new(j, "waitReason", json_string(c->wait_reason));
		if (c->wait_msg)
			json_object_set_new(j, "waitMessage", json_string(c->wait_msg));
		if (c->has_term)
			json_object_set_new(j, "term", term_json(&c->term));
		if (c->has_last)
			json_object_set_new(j, "last", term_json(&c->last));
		if (c->env) {
			json_t *ev = json_array();
			for (char **e = c->env; *e; e++)
				json_array_append_new(ev, json_string(*e));
			json_object_set_new(j, "env", ev);
		}
		if (c->cwd)
			json_object_set_new(j, "cwd", json_string(c->cwd));
		if (c->exe)
			json_object_set_new(j, "exe", json_string(c->exe));
		json_array_append_new(cs, j);
	}
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "uid", p->uid, "name", p->name ? p->name : "",
		      "namespace", p->ns ? p->ns : "", "restartPolicy", p->restart_policy, "grace",
		      p->grace_s, "stopping", p->stopping, "containers", cs);
	char *text = json_dumps(root, JSON_COMPACT);
	char *path = xasprintf("%s/pod.json", p->dir);
	int rc = file_write_atomic(path, text, strlen(text), 0644);
	if (rc < 0)
		log_warn("node runtime: cannot save %s: %s", path, strerror(-rc));
	free(path);
	free(text);
	json_decref(root);
}

/* Drops the kept process context of c's last run. */
static void ctr_proc_clear(struct ctr *c)
{
	strv_free(c->env);
	c->env = NULL;
	free(c->cwd);
	free(c->exe);
	c->cwd = c->exe = NULL;
}

static void ctr_fini(struct ctr *c)
{
	ctr_proc_clear(c);
	free(c->name);
	free(c->wait_reason);
	free(c->wait_msg);
	term_fini(&c->term);
	term_fini(&c->last);
}

static void pod_free(struct rt_pod *p)
{
	for (size_t i = 0; i < p->n; i++)
		ctr_fini(&p->ctrs[i]);
	free(p->ctrs);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	json_decref(p->pod);
	json_decref(p->service_env);
	json_decref(p->env_sources);
	free(p->root_dir);
	json_decref(p->mounts);
	free(p->uid);
	free(p->name);
	free(p->ns);
	free(p->dir);
	free(p->restart_policy);
	free(p->hostname);
	free(p->log_dir);
	free(p->pod_ip);
	free(p->host_ip);
	free(p);
}

static struct rt_pod *pod_load(struct node_rt *rt, const char *uid)
{
	char *dir = xasprintf("%s/%s", rt->state_dir, uid);
	char *path = xasprintf("%s/pod.json", dir);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	free(path);
	if (!json_is_object(root) || !json_is_array(json_object_get(root, "containers"))) {
		log_warn("node runtime: ignoring unreadable state in %s", dir);
		json_decref(root);
		free(dir);
		return NULL;
	}
	struct rt_pod *p = xcalloc(1, sizeof(*p));
	p->uid = xstrdup(uid);
	p->dir = dir;
	p->netns_fd = -1;
	p->name = xstrdup(json_string_value(json_object_get(root, "name")) ?: "");
	p->ns = xstrdup(json_string_value(json_object_get(root, "namespace")) ?: "");
	p->restart_policy = xstrdup(json_string_value(json_object_get(root, "restartPolicy")) ?: "Always");
	p->grace_s = (int)json_integer_value(json_object_get(root, "grace"));
	p->stopping = json_is_true(json_object_get(root, "stopping"));
	const json_t *cs = json_object_get(root, "containers");
	p->n = json_array_size(cs);
	p->ctrs = xcalloc(p->n ? p->n : 1, sizeof(struct ctr));
	for (size_t i = 0; i < p->n; i++) {
		const json_t *j = json_array_get(cs, i);
		struct ctr *c = &p->ctrs[i];
		c->name = xstrdup(json_string_value(json_object_get(j, "name")) ?: "");
		c->state = (enum ctr_state)json_integer_value(json_object_get(j, "state"));
		if (c->state > C_TERMINATED)
			c->state = C_NONE;
		c->restart_count = (int)json_integer_value(json_object_get(j, "restartCount"));
		c->attempts = (int)json_integer_value(json_object_get(j, "attempts"));
		c->started_ns = json_integer_value(json_object_get(j, "startedNs"));
		c->shim = (pid_t)json_integer_value(json_object_get(j, "shimPid"));
		c->shim_start = (uint64_t)json_integer_value(json_object_get(j, "shimStart"));
		c->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
		c->pid_start = (uint64_t)json_integer_value(json_object_get(j, "pidStart"));
		c->backoff_ms = json_integer_value(json_object_get(j, "backoffMs"));
		c->backoff_upd_ms = json_integer_value(json_object_get(j, "backoffUpdMs"));
		c->restart_at_ms = json_integer_value(json_object_get(j, "restartAtMs"));
		c->ready = json_is_true(json_object_get(j, "ready"));
		c->started = json_is_true(json_object_get(j, "started"));
		c->has_readiness = json_is_true(json_object_get(j, "hasReadiness"));
		c->has_startup = json_is_true(json_object_get(j, "hasStartup"));
		set_str(&c->wait_reason, json_string_value(json_object_get(j, "waitReason")));
		set_str(&c->wait_msg, json_string_value(json_object_get(j, "waitMessage")));
		if (json_object_get(j, "term")) {
			c->has_term = true;
			term_load(&c->term, json_object_get(j, "term"));
		}
		if (json_object_get(j, "last")) {
			c->has_last = true;
			term_load(&c->last, json_object_get(j, "last"));
		}
		const json_t *ev = json_object_get(j, "env");
		if (json_is_array(ev)) {
			c->env = xcalloc(json_array_size(ev) + 1, sizeof(char *));
			size_t k = 0, ei;
			json_t *e;
			json_array_foreach(ev, ei,
					   e) if (json_is_string(e) && strchr(json_string_value(e), '='))
			    c->env[k++] = xstrdup(json_string_value(e));
		}
		set_str(&c->cwd, json_string_value(json_object_get(j, "cwd")));
		set_str(&c->exe, json_string_value(json_object_get(j, "exe")));
		c->shim_child = false; /* whoever forked it, it is not our child now */
		/* A monotonic deadline from another boot would be meaningless: clamp it. */
		int64_t now = clock_mono_ms();
		if (c->restart_at_ms && c->restart_at_ms - now > rt->max_ms)
			c->restart_at_ms = now;
	}
	json_decref(root);
	return p;
}

static int rm_tree_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d)) && count < 10000) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
		count++;
	}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

/* ---- lifecycle ---- */

static struct rt_pod *find_pod(struct node_rt *rt, const char *uid)
{
	for (struct rt_pod *p = rt->pods; p; p = p->next)
		if (uid && strcmp(p->uid, uid) == 0)
			return p;
	return NULL;
}

static struct ctr *find_ctr(struct rt_pod *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->n; i++)
		if (p->ctrs[i].name && strcmp(p->ctrs[i].name, name) == 0)
			return &p->ctrs[i];
	return NULL;
}

static const json_t *ctr_spec(const struct rt_pod *p, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(api_get(p->pod, "spec.containers"), i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

struct node_rt *node_rt_new(const struct node_rt_config *cfg, char *err, size_t errlen)
{
	if (!cfg || !cfg->state_dir || !*cfg->state_dir) {
		snprintf(err, errlen, "node runtime: no state dir");
		return NULL;
	}
	int rc = mkdir_p(cfg->state_dir, 0700);
	if (rc < 0) {
		snprintf(err, errlen, "node runtime: cannot create %s: %s", cfg->state_dir, strerror(-rc));
		return NULL;
	}
	DIR *d = opendir(cfg->state_dir);
	if (!d) {
		snprintf(err, errlen, "node runtime: cannot read %s: %s", cfg->state_dir, strerror(errno));
		return NULL;
	}
	struct node_rt *rt = xcalloc(1, sizeof(*rt));
	rt->state_dir = xstrdup(cfg->state_dir);
	rt->base_ms = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms : 10000;
	rt->max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 300000;
	rt->start_timeout_ms = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : 10000;
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d)) && count < 100000) {
		count++;
		if (!valid_uid(e->d_name))
			continue;
		struct rt_pod *p = pod_load(rt, e->d_name);
		if (p) {
			p->next = rt->pods;
			rt->pods = p;
		}
	}
	closedir(d);
	return rt;
}

void node_rt_free(struct node_rt *rt)
{
	if (!rt)
		return;
	while (rt->pods) {
		struct rt_pod *p = rt->pods;
		rt->pods = p->next;
		pod_free(p);
	}
	free(rt->state_dir);
	free(rt);
}

static void set_waiting(struct ctr *c, const char *reason, const char *msg)
{
	c->state = C_WAITING;
	set_str(&c->wait_reason, reason);
	set_str(&c->wait_msg, msg);
}

static bool ctr_start(struct node_rt *rt, struct rt_pod *p, struct ctr *c);

/* A run ended (or never began): decide on a restart as kubelet's computePodActions and
 * back-off do. */
static void ctr_exited(struct node_rt *rt, struct rt_pod *p, struct ctr *c, struct term *t_take)
{
	int64_t now = clock_mono_ms();
	c->pid = c->shim = 0;
	c->pid_start = c->shim_start = 0;
	c->kill_at_ms = 0;
	c->ready = false;
	bool restart =
	    !p->stopping && (strcmp(p->restart_policy, "Always") == 0 ||
			     (strcmp(p->restart_policy, "OnFailure") == 0 && t_take->exit_code != 0));
	if (!restart) {
		term_fini(&c->term);
		c->term = *t_take;
		c->has_term = true;
		c->state = C_TERMINATED;
		set_str(&c->wait_reason, NULL);
		set_str(&c->wait_msg, NULL);
		return;
	}
	term_fini(&c->last);
	c->last = *t_take;
	c->has_last = true;
	term_fini(&c->term);
	c->has_term = false;
	if (c->backoff_ms && now - c->backoff_upd_ms > 2 * rt->max_ms)
		c->backoff_ms = 0; /* kubelet forgets a back-off after 2*max without restarts */
	int64_t delay = c->backoff_ms;
	c->backoff_ms =
	    c->backoff_ms ? (c->backoff_ms * 2 > rt->max_ms ? rt->max_ms : c->backoff_ms * 2) : rt->base_ms;
	c->backoff_upd_ms = now;
	c->restart_at_ms = now + delay;
	if (c->restart_at_ms == 0)
		c->restart_at_ms = 1;
	if (strcmp(c->last.reason ? c->last.reason : "", "StartError") == 0) {
		set_waiting(c, "RunContainerError", c->last.message);
	} else {
		char d[32];
		fmt_duration(delay ? delay : rt->base_ms, d, sizeof(d));
		char *m = xasprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c->name,
				    p->name, p->ns, p->uid);
		set_waiting(c, "CrashLoopBackOff", m);
		free(m);
	}
	if (delay == 0 && p->pod)
		ctr_start(rt, p, c);
}

static void start_failed(struct node_rt *rt, struct rt_pod *p, struct ctr *c, const char *msg)
{
	struct term t = {0};
	t.exit_code = 128;
	t.reason = xstrdup("StartError");
	t.message = xstrdup(msg);
	t.started_ns = 0;
	t.finished_ns = wall_ns();
	ctr_exited(rt, p, c, &t);
}

static const char *step_text(enum step s)
{
	switch (s) {
	case STEP_FORK:
		return "fork";
	case STEP_SETNS:
		return "join the pod's network namespace";
	case STEP_UNSHARE:
		return "create mount and UTS namespaces";
	case STEP_MOUNT_PRIVATE:
		return "make the mount namespace private";
	case STEP_MOUNT_RESOLV:
		return "mount /etc/resolv.conf";
	case STEP_MOUNT_HOSTS:
		return "mount /etc/hosts";
	case STEP_MOUNT_ROOT:
		return "mount the pod's root";
	case STEP_MOUNT_VOLUME:
		return "mount a volume";
	case STEP_PIVOT_ROOT:
		return "enter the pod's root";
	case STEP_HOSTNAME:
		return "set the hostname";
	case STEP_STDIO:
		return "set up stdio";
	default:
		return "start";
	}
}

/* Starts one run of c. Returns true when it is running. */
static bool ctr_start(struct node_rt *rt, struct rt_pod *p, struct ctr *c)
{
	const json_t *cs = ctr_spec(p, c->name);
	char err[1024], msg[1400];
	char **env = NULL, **argv = NULL;
	char *exe = NULL, *log_path = NULL, *log_dir = NULL, *resolv = NULL, *hosts = NULL;
	char *root = NULL, *root_opts = NULL, *run_opts = NULL, *etc_resolv = NULL, *etc_hosts = NULL;
	char **sys_dst = NULL, **vol_src = NULL, **vol_dst = NULL;
	int *vol_ro = NULL;
	char *exit_path = NULL, *exit_tmp = NULL;
	int logfd = -1, devnull = -1, sp[2] = {-1, -1}, netns = -1, tty_m = -1, tty_s = -1, resize_fd = -1;
	bool ok = false;

	c->restart_at_ms = 0;
	c->kill_at_ms = 0;
	c->ready = c->started = false;
	if (!cs)
		return false;
	c->has_readiness = json_is_object(json_object_get(cs, "readinessProbe"));
	c->has_startup = json_is_object(json_object_get(cs, "startupProbe"));
	env = node_rt_container_env(p->pod, cs, p->service_env, p->env_sources, p->hostname, p->pod_ip,
				    p->host_ip, err, sizeof(err));
	if (!env) {
		/* Not a run: kubelet retries at its next sync without counting a restart. */
		set_waiting(c, "CreateContainerConfigError", err);
		c->restart_at_ms = clock_mono_ms() + rt->base_ms;
		return false;
	}
	if (c->attempts > 0)
		c->restart_count++;
	c->attempts++;

	/* argv = command + args, with $(VAR) from the final environment */
	struct envlist el = {0};
	for (char **e = env; *e; e++) {
		char *eq = strchr(*e, '=');
		char *n = xstrndup(*e, (size_t)(eq - *e));
		env_set(&el, n, eq + 1);
		free(n);
	}
	/* No command: a known tutorial image's entrypoint (node/images.h), then args. */
	const char *const *entry =
	    json_array_size(json_object_get(cs, "command"))
		? NULL
		: node_image_entrypoint(json_string_value(json_object_get(cs, "image")));
	size_t ne = 0;
	while (entry && entry[ne])
		ne++;
	size_t na = ne + json_array_size(json_object_get(cs, "command")) +
		    json_array_size(json_object_get(cs, "args"));
	argv = xcalloc(na + 1, sizeof(char *));
	size_t k = 0, i;
	json_t *v;
	for (; k < ne; k++)
		argv[k] = xstrdup(entry[k]);
	const char *lists[] = {"command", "args"};
	for (int li = 0; li < 2; li++)
		json_array_foreach(json_object_get(cs, lists[li]), i, v) if (json_is_string(v)) argv[k++] =
		    expand(json_string_value(v), &el, NULL);
	const char *path_env = env_get(&el, "PATH", 4);
	const char *wd = json_string_value(json_object_get(cs, "workingDir"));
	if (!wd || !*wd)
		wd = "/";
	if (!argv[0]) {
		env_fini(&el);
		start_failed(rt, p, c, "unable to start container process: no command specified");
		goto out;
	}
	int lrc = node_rt_lookpath(argv[0], path_env, wd, &exe, err, sizeof(err));
	env_fini(&el);
	if (lrc < 0) {
		snprintf(msg, sizeof(msg), "unable to start container process: %s: unknown", err);
		start_failed(rt, p, c, msg);
		goto out;
	}
	const char *ld = p->log_dir ? p->log_dir : p->dir;
	log_dir = xasprintf("%s/%s", ld, c->name);
	int rc = mkdir_p(log_dir, 0755);
	log_path = xasprintf("%s/%d.log", log_dir, c->restart_count);
	if (rc == 0)
		logfd = fd_high(open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
	if (logfd < 0) {
		snprintf(msg, sizeof(msg), "unable to open log file %s: %s", log_path,
			 strerror(rc ? -rc : errno));
		start_failed(rt, p, c, msg);
		goto out;
	}
	if (json_is_true(json_object_get(cs, "stdin"))) {
		/* stdin: true: a FIFO beside the logs, held open read-write by the container (it
		 * never sees EOF, as with stdinOnce false); `kubectl attach` writes into it
		 * (node/execsrv.h). */
		char *fifo = xasprintf("%s/stdin", log_dir);
		if (mkfifo(fifo, 0600) == 0 || errno == EEXIST)
			devnull = fd_high(open(fifo, O_RDWR | O_CLOEXEC));
		free(fifo);
	} else {
		devnull = fd_high(open("/dev/null", O_RDWR | O_CLOEXEC));
	}
	if (json_is_true(json_object_get(cs, "tty"))) {
		/* tty: true: a pty, 80x24 until an attach says its size through the resize FIFO
		 * beside the stdin one (node/execsrv.c). */
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		char *rf = xasprintf("%s/resize", log_dir);
		if (mkfifo(rf, 0600) == 0 || errno == EEXIST)
			resize_fd = fd_high(open(rf, O_RDWR | O_NONBLOCK | O_CLOEXEC));
		free(rf);
		if (resize_fd < 0 || openpty(&tty_m, &tty_s, NULL, NULL, &ws) < 0) {
			snprintf(msg, sizeof(msg), "unable to start container process: pty: %s",
				 strerror(errno));
			start_failed(rt, p, c, msg);
			goto out;
		}
		tty_m = fd_high(tty_m);
		tty_s = fd_high(tty_s);
		fcntl(tty_m, F_SETFD, FD_CLOEXEC);
		fcntl(tty_s, F_SETFD, FD_CLOEXEC);
	}
	if (p->netns_fd >= 0)
		netns = fd_high(fcntl(p->netns_fd, F_DUPFD_CLOEXEC, 3));
	if (devnull < 0 || pipe2(sp, O_CLOEXEC) < 0 || (p->netns_fd >= 0 && netns < 0)) {
		snprintf(msg, sizeof(msg), "unable to start container process: %s", strerror(errno));
		start_failed(rt, p, c, msg);
		goto out;
	}
	sp[0] = fd_high(sp[0]);
	sp[1] = fd_high(sp[1]);
	resolv = p->have_resolv ? xasprintf("%s/resolv.conf", p->dir) : NULL;
	hosts = p->have_hosts ? xasprintf("%s/hosts", p->dir) : NULL;
	exit_path = xasprintf("%s/c-%s.exit", p->dir, c->name);
	exit_tmp = xasprintf("%s/c-%s.exit.tmp", p->dir, c->name);
	unlink(exit_path);
	if (p->root_dir) {
		root = xasprintf("%s/merged", p->root_dir);
		root_opts =
		    xasprintf("lowerdir=/,upperdir=%s/upper,workdir=%s/work", p->root_dir, p->root_dir);
		run_opts = xasprintf("lowerdir=/run,upperdir=%s/run-upper,workdir=%s/run-work", p->root_dir,
				     p->root_dir);
		size_t ns_ = 0;
		while (sys_src[ns_])
			ns_++;
		sys_dst = xcalloc(ns_ + 1, sizeof(char *));
		for (size_t si = 0; si < ns_; si++)
			sys_dst[si] = xasprintf("%s%s", root, sys_src[si]);
	}
	{
		json_t *ms = json_object_get(p->mounts, c->name);
		size_t nm = json_array_size(ms), k2 = 0;
		vol_src = xcalloc(nm + 1, sizeof(char *));
		vol_dst = xcalloc(nm + 1, sizeof(char *));
		vol_ro = xcalloc(nm + 1, sizeof(int));
		for (size_t mi = 0; mi < nm; mi++) {
			json_t *m = json_array_get(ms, mi);
			const char *src = api_str(m, "src"), *dst = api_str(m, "dst");
			if (!src || !dst || dst[0] != '/' || strstr(dst, ".."))
				continue;
			vol_src[k2] = xstrdup(src);
			vol_dst[k2] = xstrdup(dst); /* resolved inside root by the child */
			vol_ro[k2++] = json_is_true(json_object_get(m, "ro"));
		}
	}
	etc_resolv = root ? xasprintf("%s/etc/resolv.conf", root) : xstrdup("/etc/resolv.conf");
	etc_hosts = root ? xasprintf("%s/etc/hosts", root) : xstrdup("/etc/hosts");
	struct launch l = {
	    .root = root,
	    .root_opts = root_opts,
	    .run_opts = run_opts,
	    .etc_resolv = etc_resolv,
	    .etc_hosts = etc_hosts,
	    .sys_dst = sys_dst,
	    .vol_src = vol_src,
	    .vol_dst = vol_dst,
	    .vol_ro = vol_ro,
	    .netns = netns,
	    .devnull = devnull,
	    .logfd = logfd,
	    .tty_master = tty_m,
	    .tty_slave = tty_s,
	    .resize_fd = resize_fd,
	    .status_w = sp[1],
	    .resolv = resolv,
	    .hosts = hosts,
	    .hostname = p->hostname,
	    .cwd = wd,
	    .exe = exe,
	    .argv = argv,
	    .envp = env,
	    .exit_path = exit_path,
	    .exit_tmp = exit_tmp,
	};
	int64_t started = wall_ns();
	pid_t shim = fork();
	if (shim < 0) {
		snprintf(msg, sizeof(msg), "unable to start container process: fork: %s", strerror(errno));
		start_failed(rt, p, c, msg);
		goto out;
	}
	if (shim == 0)
		shim_main(&l);
	close(sp[1]);
	sp[1] = -1;
	struct report rep = {0, STEP_FORK, EIO};
	struct pollfd pfd = {.fd = sp[0], .events = POLLIN};
	int64_t deadline = clock_mono_ms() + rt->start_timeout_ms;
	ssize_t n = -1;
	for (int rounds = 0; rounds < 1000; rounds++) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			break;
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		n = read(sp[0], &rep, sizeof(rep));
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n != (ssize_t)sizeof(rep)) {
		/* The shim died or hung before reporting: end it and call it a start error. */
		kill(shim, SIGKILL);
		if (rep.pid > 0)
			kill(-rep.pid, SIGKILL);
		waitpid(shim, NULL, 0);
		unlink(exit_path);
		start_failed(rt, p, c, "unable to start container process: the runtime shim did not report");
		goto out;
	}
	if (rep.step != STEP_OK) {
		/* The child has _exit()ed; the shim follows at once, so this wait is brief. */
		waitpid(shim, NULL, 0);
		unlink(exit_path);
		char es[128];
		snprintf(es, sizeof(es), "%s", strerror(rep.err));
		lower_first(es);
		if (rep.step == STEP_EXEC)
			snprintf(msg, sizeof(msg),
				 "unable to start container process: exec: \"%s\": %s: unknown", argv[0], es);
		else if (rep.step == STEP_CHDIR)
			snprintf(msg, sizeof(msg),
				 "unable to start container process: chdir to cwd (\"%s\") set in "
				 "config.json failed: %s: unknown",
				 wd, es);
		else
			snprintf(msg, sizeof(msg), "unable to start container process: %s: %s: unknown",
				 step_text((enum step)rep.step), es);
		start_failed(rt, p, c, msg);
		goto out;
	}
	c->shim = shim;
	c->shim_child = true;
	c->pid = rep.pid;
	if (proc_start(shim, &c->shim_start, NULL) < 0 || proc_start(rep.pid, &c->pid_start, NULL) < 0) {
		/* It already ended; node_rt_sync() collects it. The start times stay 0, which
		 * only matters for re-adoption. */
	}
	c->started_ns = started;
	c->state = C_RUNNING;
	ctr_proc_clear(c);
	c->env = env; /* moved: the run's context, for exec probes */
	env = NULL;
	c->cwd = xstrdup(wd);
	c->exe = exe;
	exe = NULL;
	set_str(&c->wait_reason, NULL);
	set_str(&c->wait_msg, NULL);
	term_fini(&c->term);
	c->has_term = false;
	ok = true;
out:
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (logfd >= 0)
		close(logfd);
	if (devnull >= 0)
		close(devnull);
	int ttyfds[] = {tty_m, tty_s, resize_fd};
	for (int t = 0; t < 3; t++)
		if (ttyfds[t] >= 0)
			close(ttyfds[t]);
	if (netns >= 0)
		close(netns);
	free(exe);
	free(log_path);
	free(log_dir);
	free(resolv);
	free(hosts);
	free(root);
	free(root_opts);
	free(run_opts);
	free(etc_resolv);
	free(etc_hosts);
	strv_free(sys_dst);
	strv_free(vol_src);
	strv_free(vol_dst);
	free(vol_ro);
	free(exit_path);
	free(exit_tmp);
	strv_free(argv);
	strv_free(env);
	return ok;
}

/* Reads and removes c's exit file; false when there is none. */
static bool read_exit(struct rt_pod *p, struct ctr *c, int *code, int64_t *finished_ns)
{
	char *path = xasprintf("%s/c-%s.exit", p->dir, c->name);
	FILE *f = fopen(path, "re");
	bool ok = false;
	if (f) {
		long long cd, s, ns;
		if (fscanf(f, "%lld %lld %lld", &cd, &s, &ns) == 3) {
			*code = (int)cd;
			*finished_ns = (int64_t)s * 1000000000 + ns;
			ok = true;
		}
		fclose(f);
		unlink(path);
	}
	free(path);
	return ok;
}

/* Whether c's run has ended (its shim is gone); reaps our own shims. */
static bool run_ended(struct ctr *c)
{
	if (c->shim <= 0)
		return true;
	/* Identity first, so a reused pid is never waited for or taken for the shim. */
	uint64_t start;
	char state = 0;
	if (proc_start(c->shim, &start, &state) < 0 || start != c->shim_start)
		return true;
	/* waitpid() even for an adopted run: when a runtime is re-created inside the same
	 * process the shim is still our child, and only waitpid() reaps its zombie. */
	int st;
	pid_t r = waitpid(c->shim, &st, WNOHANG);
	if (r == c->shim)
		return true;
	if (r == 0) {
		c->shim_child = true;
		return false;
	}
	c->shim_child = false; /* not our child: its parent reaps it, we watch /proc */
	return state == 'Z' || state == 'X';
}

static void collect(struct node_rt *rt, struct rt_pod *p, struct ctr *c)
{
	struct term t = {0};
	int code;
	int64_t fin;
	if (read_exit(p, c, &code, &fin)) {
		t.exit_code = code;
		t.reason = xstrdup(code == 0 ? "Completed" : "Error");
		t.finished_ns = fin;
	} else {
		/* The shim died without a word: make sure the container is gone too. */
		if (c->pid > 0 && proc_is(c->pid, c->pid_start))
			kill(-c->pid, SIGKILL);
		t.exit_code = 137;
		t.reason = xstrdup("ContainerStatusUnknown");
		t.message = xstrdup("The container could not be located when the pod was terminated");
		t.finished_ns = wall_ns();
	}
	t.started_ns = c->started_ns;
	/* The run's log is complete: making it read-only tells a follower (node/logsrv.c)
	 * that no more bytes come, as kubelet ends `logs -f` when the container exits. */
	char *lp = xasprintf("%s/%s/%d.log", p->log_dir ? p->log_dir : p->dir, c->name, c->restart_count);
	(void)chmod(lp, 0440);
	free(lp);
	ctr_exited(rt, p, c, &t);
}

/* Sends sig to c's process group while its shim (which reaps it) is alive, so the group
 * id cannot have been reused. */
static void ctr_signal(struct ctr *c, int sig)
{
	if (c->state != C_RUNNING || c->pid <= 0)
		return;
	if (proc_is(c->shim, c->shim_start))
		kill(-c->pid, sig);
}

int node_rt_pod_run(struct node_rt *rt, const struct node_rt_pod *in, char *err, size_t errlen)
{
	const char *uid = api_str(in->pod, "metadata.uid");
	if (!valid_uid(uid)) {
		snprintf(err, errlen, "pod has no usable metadata.uid");
		return -EINVAL;
	}
	struct rt_pod *p = find_pod(rt, uid);
	if (p && p->stopping) {
		snprintf(err, errlen, "pod %s is stopping", uid);
		return -EBUSY;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->uid = xstrdup(uid);
		p->dir = xasprintf("%s/%s", rt->state_dir, uid);
		p->netns_fd = -1;
		int rc = mkdir_p(p->dir, 0700);
		if (rc < 0) {
			snprintf(err, errlen, "cannot create %s: %s", p->dir, strerror(-rc));
			free(p->uid);
			free(p->dir);
			free(p);
			return rc;
		}
		p->next = rt->pods;
		rt->pods = p;
	}
	set_str(&p->name, api_str(in->pod, "metadata.name") ?: "");
	set_str(&p->ns, api_str(in->pod, "metadata.namespace") ?: "default");
	const char *rp = api_str(in->pod, "spec.restartPolicy");
	set_str(&p->restart_policy, rp && *rp ? rp : "Always");
	json_t *g = api_get(in->pod, "spec.terminationGracePeriodSeconds");
	p->grace_s = json_is_integer(g) ? (int)json_integer_value(g) : 30;
	/* Shared, not copied: the pod is only read here, and the caller's object (the agent's,
	 * from its informer) is never modified once published; jansson's refcounts are
	 * atomic. A copy per pod cost ~20 KB of the agent's memory. */
	json_t *old_pod = p->pod;
	p->pod = json_incref((json_t *)in->pod);
	json_decref(old_pod);
	json_t *old_env = p->service_env;
	p->service_env = in->service_env ? json_incref((json_t *)in->service_env) : NULL; /* shared, as pod */
	json_decref(old_env);
	old_env = p->env_sources;
	p->env_sources = in->env_sources ? json_incref((json_t *)in->env_sources) : NULL;
	json_decref(old_env);
	set_str(&p->root_dir, in->root_dir);
	old_env = p->mounts;
	p->mounts = in->mounts ? json_incref((json_t *)in->mounts) : NULL;
	json_decref(old_env);
	set_str(&p->hostname, in->hostname);
	set_str(&p->log_dir, in->log_dir);
	set_str(&p->pod_ip, in->pod_ip);
	set_str(&p->host_ip, in->host_ip);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	p->netns_fd = in->netns_fd >= 0 ? fcntl(in->netns_fd, F_DUPFD_CLOEXEC, 3) : -1;
	char *path = xasprintf("%s/resolv.conf", p->dir);
	p->have_resolv =
	    in->resolv_conf && file_write_atomic(path, in->resolv_conf, strlen(in->resolv_conf), 0644) == 0;
	free(path);
	path = xasprintf("%s/hosts", p->dir);
	p->have_hosts = in->hosts && file_write_atomic(path, in->hosts, strlen(in->hosts), 0644) == 0;
	free(path);

	/* Containers in spec order; known ones (e.g. adopted) keep their state. */
	const json_t *specs = api_get(p->pod, "spec.containers");
	size_t n = json_array_size(specs);
	struct ctr *cs = xcalloc(n ? n : 1, sizeof(*cs));
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_object_get(json_array_get(specs, i), "name"));
		struct ctr *old = find_ctr(p, name ? name : "");
		if (old) {
			cs[i] = *old;
			old->name = NULL; /* moved */
		} else {
			cs[i].name = xstrdup(name ? name : "");
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->ctrs[i].name) {
			/* A container no longer in the spec: end it. */
			ctr_signal(&p->ctrs[i], SIGKILL);
			ctr_fini(&p->ctrs[i]);
		}
	}
	free(p->ctrs);
	p->ctrs = cs;
	p->n = n;
	for (size_t i = 0; i < n; i++)
		if (cs[i].state == C_NONE)
			ctr_start(rt, p, &cs[i]);
	pod_save(p);
	return 0;
}

int node_rt_sync(struct node_rt *rt, int64_t *next_ms)
{
	int changes = 0;
	int64_t now = clock_mono_ms(), next = INT64_MAX;
	for (struct rt_pod *p = rt->pods; p; p = p->next) {
		bool dirty = false;
		for (size_t i = 0; i < p->n; i++) {
			struct ctr *c = &p->ctrs[i];
			if (c->state == C_RUNNING && run_ended(c)) {
				collect(rt, p, c);
				dirty = true;
			}
			if (c->state == C_RUNNING && c->kill_at_ms && now >= c->kill_at_ms) {
				ctr_signal(c, SIGKILL);
				c->kill_at_ms = 0;
			}
			bool can_start = p->pod && !p->stopping;
			if (can_start && (c->state == C_WAITING || c->state == C_NONE) &&
			    (c->state == C_NONE || (c->restart_at_ms && now >= c->restart_at_ms))) {
				ctr_start(rt, p, c);
				dirty = true;
			}
			if (c->state == C_RUNNING && c->kill_at_ms && c->kill_at_ms < next)
				next = c->kill_at_ms;
			if (c->state == C_RUNNING && !c->shim_child && now + ADOPTED_POLL_MS < next)
				next = now + ADOPTED_POLL_MS;
			if (can_start && c->state == C_WAITING && c->restart_at_ms && c->restart_at_ms < next)
				next = c->restart_at_ms;
		}
		if (dirty) {
			changes++;
			pod_save(p);
		}
	}
	if (next_ms)
		*next_ms = next == INT64_MAX ? -1 : (next > now ? next - now : 0);
	return changes;
}

int node_rt_pod_stop(struct node_rt *rt, const char *uid, int grace_s)
{
	struct rt_pod *p = find_pod(rt, uid);
	if (!p)
		return -ENOENT;
	if (grace_s < 0)
		grace_s = p->grace_s;
	int64_t kill_at = clock_mono_ms() + (int64_t)grace_s * 1000;
	p->stopping = true;
	for (size_t i = 0; i < p->n; i++) {
		struct ctr *c = &p->ctrs[i];
		c->restart_at_ms = 0;
		if (c->state != C_RUNNING)
			continue;
		if (!c->kill_at_ms || kill_at < c->kill_at_ms) {
			ctr_signal(c, SIGTERM);
			c->kill_at_ms = kill_at ? kill_at : 1;
		}
	}
	pod_save(p);
	return 0;
}

bool node_rt_pod_stopped(struct node_rt *rt, const char *uid)
{
	struct rt_pod *p = find_pod(rt, uid);
	for (size_t i = 0; p && i < p->n; i++)
		if (p->ctrs[i].state == C_RUNNING)
			return false;
	return true;
}

int node_rt_pod_remove(struct node_rt *rt, const char *uid)
{
	struct rt_pod **pp = &rt->pods;
	while (*pp && strcmp((*pp)->uid, uid) != 0)
		pp = &(*pp)->next;
	if (!*pp)
		return -ENOENT;
	if (!node_rt_pod_stopped(rt, uid))
		return -EBUSY;
	struct rt_pod *p = *pp;
	*pp = p->next;
	int rc = rm_tree_files(p->dir);
	if (rc < 0)
		log_warn("node runtime: cannot remove %s: %s", p->dir, strerror(-rc));
	pod_free(p);
	return 0;
}

char **node_rt_pod_list(struct node_rt *rt)
{
	size_t n = 0;
	for (struct rt_pod *p = rt->pods; p; p = p->next)
		n++;
	char **v = xcalloc(n + 1, sizeof(char *));
	n = 0;
	for (struct rt_pod *p = rt->pods; p; p = p->next)
		v[n++] = xstrdup(p->uid);
	return v;
}

int node_rt_container_kill(struct node_rt *rt, const char *uid, const char *name, int grace_s)
{
	struct rt_pod *p = find_pod(rt, uid);
	if (!p)
		return -ENOENT;
	struct ctr *c = find_ctr(p, name);
	if (!c)
		return -ENOENT;
	if (c->state != C_RUNNING)
		return -ESRCH;
	if (grace_s < 0)
		grace_s = p->grace_s;
	ctr_signal(c, SIGTERM);
	c->kill_at_ms = clock_mono_ms() + (int64_t)grace_s * 1000;
	if (!c->kill_at_ms)
		c->kill_at_ms = 1;
	return 0;
}

int node_rt_container_set_probe(struct node_rt *rt, const char *uid, const char *name, bool ready,
				bool started)
{
	struct ctr *c = find_ctr(find_pod(rt, uid), name);
	if (!c)
		return -ENOENT;
	if (c->ready != ready || c->started != started) {
		c->ready = ready;
		c->started = started;
		pod_save(find_pod(rt, uid));
	}
	return 0;
}

pid_t node_rt_container_pid(struct node_rt *rt, const char *uid, const char *name, int *run_id)
{
	struct ctr *c = find_ctr(find_pod(rt, uid), name);
	if (run_id)
		*run_id = c ? c->attempts : 0;
	return c && c->state == C_RUNNING ? c->pid : 0;
}

int node_rt_container_proc(struct node_rt *rt, const char *uid, const char *name, struct node_rt_proc *out)
{
	static char *const empty_env[] = {NULL};
	struct ctr *c = find_ctr(find_pod(rt, uid), name);
	memset(out, 0, sizeof(*out));
	if (!c)
		return -ENOENT;
	out->run_id = c->attempts;
	if (c->state != C_RUNNING || c->pid <= 0)
		return -ESRCH;
	out->pid = c->pid;
	/* A run recorded by an older agent has no context: an empty environment and "/"
	 * are what the container had unless its spec said otherwise. */
	out->env = c->env ? c->env : empty_env;
	out->cwd = c->cwd ? c->cwd : "/";
	out->exe = c->exe;
	return 0;
}

static json_t *term_status(const struct term *t)
{
	char s[40], f[40];
	fmt_time(t->started_ns, s, sizeof(s));
	fmt_time(t->finished_ns, f, sizeof(f));
	json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "exitCode", t->exit_code, "reason",
			      t->reason ? t->reason : "Error", "startedAt", s, "finishedAt", f);
	if (t->message && *t->message)
		json_object_set_new(j, "message", json_string(t->message));
	return json_pack("{s:o}", "terminated", j);
}

json_t *node_rt_pod_status(struct node_rt *rt, const char *uid)
{
	struct rt_pod *p = find_pod(rt, uid);
	if (!p)
		return NULL;
	json_t *arr = json_array();
	int running = 0, stopped = 0, succeeded = 0, waiting = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct ctr *c = &p->ctrs[i];
		const json_t *cs = p->pod ? ctr_spec(p, c->name) : NULL;
		if (cs) {
			c->has_readiness = json_is_object(json_object_get(cs, "readinessProbe"));
			c->has_startup = json_is_object(json_object_get(cs, "startupProbe"));
		}
		bool run = c->state == C_RUNNING;
		bool started = run && (!c->has_startup || c->started);
		bool ready = started && (!c->has_readiness || c->ready);
		json_t *state;
		char ts[40];
		switch (c->state) {
		case C_RUNNING:
			fmt_time(c->started_ns, ts, sizeof(ts));
			state = json_pack("{s:{s:s}}", "running", "startedAt", ts);
			running++;
			break;
		case C_TERMINATED:
			state = term_status(&c->term);
			stopped++;
			succeeded += c->term.exit_code == 0;
			break;
		case C_WAITING:
			state = json_pack("{s:{s:s}}", "waiting", "reason",
					  c->wait_reason ? c->wait_reason : "Waiting");
			if (c->wait_msg && *c->wait_msg)
				json_object_set_new(json_object_get(state, "waiting"), "message",
						    json_string(c->wait_msg));
			if (c->has_last)
				stopped++;
			else
				waiting++;
			break;
		default:
			state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
			waiting++;
			break;
		}
		const char *image = cs ? json_string_value(json_object_get(cs, "image")) : NULL;
		json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:o, s:o}", "name", c->name, "image",
				      image ? image : "", "imageID", "", "ready", ready, "started", started,
				      "restartCount", c->restart_count, "state", state, "lastState",
				      c->has_last ? term_status(&c->last) : json_object());
		if (c->attempts > 0) {
			char id[256];
			snprintf(id, sizeof(id), "svcplane://%s-%s-%d", p->uid, c->name, c->attempts);
			json_object_set_new(j, "containerID", json_string(id));
		}
		json_array_append_new(arr, j);
	}
	/* kubelet's getPhase (no init containers) */
	const char *phase;
	if (waiting > 0)
		phase = "Pending";
	else if (running > 0)
		phase = "Running";
	else if (stopped > 0) {
		if (strcmp(p->restart_policy, "Always") == 0 && !p->stopping)
			phase = "Running";
		else if (stopped == succeeded)
			phase = "Succeeded";
		else if (strcmp(p->restart_policy, "Never") == 0 || p->stopping)
			phase = "Failed";
		else
			phase = "Running";
	} else
		phase = "Pending";
	return json_pack("{s:s, s:o}", "phase", phase, "containerStatuses", arr);
}
