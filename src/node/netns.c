/* netns.c - named network namespaces (see netns.h): the iproute2 layout, and the
 * dedicated-thread way of running code inside a namespace.
 *
 * The sequence of node_netns_create() follows iproute2's ip/ipnetns.c netns_add():
 * make /run/netns a shared mount, create the empty file with O_EXCL (this is what
 * reserves the name), then on a thread unshare(CLONE_NEWNET) and bind-mount the
 * thread's own namespace file onto it. /proc/self names the thread group leader, so
 * the thread uses /proc/self/task/TID/ns/net.
 */
#include "node/netns.h"

#include "base/mem.h"
#include "base/vec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Upper bound of names read from /run/netns, so a directory filled by someone else
 * cannot make us allocate without end. */
#define NETNS_LIST_MAX 65536

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int node_netns_check_name(const char *name)
{
	if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	size_t len = strlen(name);
	if (len >= NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c <= ' ' || c >= 0x7f)
			return -EINVAL;
	}
	return 0;
}

struct run_ctx {
	int netns_fd;
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *run_thread(void *p)
{
	struct run_ctx *c = p;
	if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) != 0) {
		c->ret = -errno;
		return NULL;
	}
	c->ret = c->fn(c->arg);
	return NULL;
}

int node_netns_run(int netns_fd, int (*fn)(void *arg), void *arg)
{
	struct run_ctx c = {.netns_fd = netns_fd, .fn = fn, .arg = arg, .ret = -EINVAL};
	pthread_t th;
	int rc = pthread_create(&th, NULL, run_thread, &c);
	if (rc != 0)
		return -rc;
	pthread_join(th, NULL);
	return c.ret;
}

/* Makes /run/netns exist and be a shared mount point, as `ip netns add` does. */
static int prepare_run_dir(char *err, size_t errlen)
{
	if (mkdir(NODE_NETNS_DIR, 0755) != 0 && errno != EEXIST) {
		int e = errno;
		seterr(err, errlen, "mkdir %s: %s", NODE_NETNS_DIR, strerror(e));
		return -e;
	}
	for (int bound = 0;; bound = 1) {
		if (mount("", NODE_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
			return 0;
		int e = errno;
		if (e != EINVAL || bound) {
			seterr(err, errlen, "make %s a shared mount: %s", NODE_NETNS_DIR, strerror(e));
			return -e;
		}
		/* Not a mount point yet: bind it onto itself, then retry once. */
		if (mount(NODE_NETNS_DIR, NODE_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) != 0) {
			e = errno;
			seterr(err, errlen, "bind-mount %s onto itself: %s", NODE_NETNS_DIR, strerror(e));
			return -e;
		}
	}
}

struct create_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

/* Runs on a dedicated thread (node_netns_run with -1): the thread's new namespace is
 * pinned by the bind mount before the thread exits. */
static int create_in_thread(void *p)
{
	struct create_ctx *c = p;
	if (unshare(CLONE_NEWNET) != 0) {
		int e = errno;
		seterr(c->err, c->errlen, "unshare(CLONE_NEWNET): %s", strerror(e));
		return -e;
	}
	char src[64];
	snprintf(src, sizeof src, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	if (mount(src, c->path, "none", MS_BIND, NULL) != 0) {
		int e = errno;
		seterr(c->err, c->errlen, "bind-mount %s on %s: %s", src, c->path, strerror(e));
		return -e;
	}
	return 0;
}

int node_netns_create(const char *name, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (node_netns_check_name(name) != 0) {
		seterr(err, errlen, "invalid network namespace name \"%s\"", name ? name : "");
		return -EINVAL;
	}
	int rc = prepare_run_dir(err, errlen);
	if (rc != 0)
		return rc;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", NODE_NETNS_DIR, name);
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		seterr(err, errlen, "create %s: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	struct create_ctx c = {.path = path, .err = err, .errlen = errlen};
	rc = node_netns_run(-1, create_in_thread, &c);
	if (rc != 0) {
		if (rc > 0)
			rc = -EIO;
		umount2(path, MNT_DETACH);
		unlink(path);
		if (err && errlen && !*err)
			seterr(err, errlen, "create network namespace %s: %s", name, strerror(-rc));
	}
	return rc;
}

int node_netns_open(const char *name)
{
	if (node_netns_check_name(name) != 0)
		return -EINVAL;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", NODE_NETNS_DIR, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int node_netns_delete(const char *name, char *err, size_t errlen)
{
	if (node_netns_check_name(name) != 0) {
		seterr(err, errlen, "invalid network namespace name \"%s\"", name ? name : "");
		return -EINVAL;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", NODE_NETNS_DIR, name);
	/* EINVAL: not a mount point (a half-created name); the unlink below decides. */
	if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
		int e = errno;
		seterr(err, errlen, "unmount %s: %s", path, strerror(e));
		return -e;
	}
	if (unlink(path) != 0) {
		int e = errno;
		seterr(err, errlen, "remove %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int node_netns_list(char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(NODE_NETNS_DIR);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	VEC(char *) v = {0};
	struct dirent *e;
	while ((e = readdir(d)) != NULL && v.len < NETNS_LIST_MAX) {
		if (node_netns_check_name(e->d_name) == 0)
			*vec_push(&v) = xstrdup(e->d_name);
	}
	closedir(d);
	xqsort(v.v, v.len, sizeof *v.v, cmp_str);
	*names = v.v;
	*n = v.len;
	return 0;
}

void node_netns_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
