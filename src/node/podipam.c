/* podipam.c - pod IPs as files named by address, holding the owner's uid. */
#include "node/podipam.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the uid recorded in dir/name into buf. Returns 0 or -errno. */
static int read_owner(int dfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Calls fn for each recorded address file; stops when fn returns non-zero and returns
 * that value. */
static int scan(const char *dir, int (*fn)(int dfd, const char *name, const char *uid, void *ud), void *ud)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		struct ip_addr ip;
		char owner[128];
		if (de->d_name[0] == '.' || ip_parse(de->d_name, &ip) < 0)
			continue;
		if (read_owner(dirfd(d), de->d_name, owner, sizeof(owner)) < 0)
			continue;
		rc = fn(dirfd(d), de->d_name, owner, ud);
	}
	closedir(d);
	return rc;
}

struct find {
	const struct cidr *c;
	const char *uid;
	struct ip_addr *out;
};

static int find_fn(int dfd, const char *name, const char *uid, void *ud)
{
	(void)dfd;
	struct find *f = ud;
	struct ip_addr ip;
	if (strcmp(uid, f->uid) || ip_parse(name, &ip) < 0 || !cidr_contains(f->c, &ip))
		return 0;
	*f->out = ip;
	return 1;
}

int node_ipam_get(const char *dir, const struct cidr *c, const char *uid, struct ip_addr *out)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct find f = {c, uid, out};
	int rc = scan(dir, find_fn, &f);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return 0;
	uint64_t size = cidr_size(c);
	/* Offsets 0 (network) and 1 (the bridge) are never pods'; nor is the IPv4 broadcast. */
	uint64_t last = c->net.family == 4 ? size - 2 : size - 1;
	if (size < 4)
		return -ENOSPC;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = -ENOSPC;
	for (uint64_t n = 2; n <= last && n < 2 + 65536; n++) {
		struct ip_addr ip;
		char name[IP_STRLEN];
		if (cidr_nth(c, n, &ip) < 0)
			break;
		ip_format(&ip, name, sizeof(name));
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			rc = -errno;
			break;
		}
		size_t len = strlen(uid);
		ssize_t w = write(fd, uid, len);
		int e = errno;
		if (w != (ssize_t)len || fsync(fd) < 0) {
			close(fd);
			unlinkat(dfd, name, 0);
			rc = w < 0 ? -e : -EIO;
			break;
		}
		close(fd);
		*out = ip;
		rc = 0;
		break;
	}
	close(dfd);
	return rc;
}

struct rel {
	const char *uid;
	bool (*keep)(void *ud, const char *uid);
	void *ud;
	int n;
};

static int rel_fn(int dfd, const char *name, const char *uid, void *ud)
{
	struct rel *r = ud;
	bool drop = r->uid ? strcmp(uid, r->uid) == 0 : !r->keep(r->ud, uid);
	if (drop && unlinkat(dfd, name, 0) == 0)
		r->n++;
	return 0;
}

int node_ipam_release(const char *dir, const char *uid)
{
	struct rel r = {.uid = uid};
	int rc = scan(dir, rel_fn, &r);
	return rc < 0 ? rc : r.n;
}

int node_ipam_release_unknown(const char *dir, bool (*keep)(void *ud, const char *uid), void *ud)
{
	struct rel r = {.keep = keep, .ud = ud};
	int rc = scan(dir, rel_fn, &r);
	return rc < 0 ? rc : r.n;
}
