/* sysctl.c - /proc/sys knobs in a given network namespace (see sysctl.h). */
#include "node/sysctl.h"

#include "node/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct sysctl_op {
	const char *path;
	const char *value; /* write when set, else read into buf */
	char *buf;
	size_t len;
};

/* Builds /proc/sys/<key> with dots turned into slashes for the dotted form. */
static int key_path(const char *key, char *path, size_t len)
{
	if (!key || !*key || key[0] == '/' || key[0] == '.' || strstr(key, ".."))
		return -EINVAL;
	int n = snprintf(path, len, "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	if (!strchr(key, '/'))
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
	return 0;
}

/* Runs on the thread that has joined the namespace. */
static int do_op(void *p)
{
	struct sysctl_op *op = p;
	int fd = open(op->path, (op->value ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (op->value) {
		char v[256];
		int n = snprintf(v, sizeof v, "%s\n", op->value);
		if (n < 0 || (size_t)n >= sizeof v)
			rc = -EINVAL;
		else if (write(fd, v, (size_t)n) != n)
			rc = errno ? -errno : -EIO;
	} else {
		ssize_t n = read(fd, op->buf, op->len);
		if (n < 0)
			rc = -errno;
		else if ((size_t)n >= op->len)
			rc = -EMSGSIZE;
		else {
			while (n > 0 && (op->buf[n - 1] == '\n' || op->buf[n - 1] == ' '))
				n--;
			op->buf[n] = 0;
		}
	}
	close(fd);
	return rc;
}

static int run(int netns_fd, struct sysctl_op *op)
{
	return netns_fd >= 0 ? node_netns_run(netns_fd, do_op, op) : do_op(op);
}

int node_sysctl_write(int netns_fd, const char *key, const char *value)
{
	char path[PATH_MAX];
	int rc = key_path(key, path, sizeof path);
	if (rc)
		return rc;
	errno = 0;
	struct sysctl_op op = {.path = path, .value = value ? value : ""};
	return run(netns_fd, &op);
}

int node_sysctl_read(int netns_fd, const char *key, char *buf, size_t len)
{
	char path[PATH_MAX];
	if (len)
		buf[0] = 0;
	int rc = key_path(key, path, sizeof path);
	if (rc)
		return rc;
	if (len < 2)
		return -EMSGSIZE;
	struct sysctl_op op = {.path = path, .buf = buf, .len = len};
	return run(netns_fd, &op);
}

int node_sysctl_enable_forwarding(int netns_fd, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		int optional;
	} knobs[] = {
	    {"net.ipv4.ip_forward", 0},
	    {"net.ipv6.conf.all.forwarding", 1},
	    {"net.bridge.bridge-nf-call-iptables", 1},
	    {"net.bridge.bridge-nf-call-ip6tables", 1},
	};
	for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
		int rc = node_sysctl_write(netns_fd, knobs[i].key, "1");
		if (rc == -ENOENT && knobs[i].optional)
			continue;
		if (rc) {
			if (err && errlen)
				snprintf(err, errlen, "sysctl %s=1: %s", knobs[i].key, strerror(-rc));
			return rc;
		}
	}
	return 0;
}
