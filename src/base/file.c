/* file.c - whole-file reads and atomic writes (base/file.h). */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"

int file_read_fp(FILE *f, size_t max, char **out, size_t *len)
{
	struct buf b;
	buf_init(&b);
	char tmp[8192];
	size_t n;
	int rc = 0;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		buf_append(&b, tmp, n);
		if (max && b.len > max) {
			rc = -EFBIG;
			break;
		}
	}
	if (!rc && ferror(f))
		rc = -EIO;
	if (rc) {
		buf_fini(&b);
		return rc;
	}
	if (!b.data)
		buf_puts(&b, "");
	if (len)
		*len = b.len;
	*out = buf_take(&b);
	return 0;
}

int file_read(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return -errno;
	int rc = file_read_fp(f, max, out, len);
	fclose(f);
	return rc;
}

/* fsyncs the folder that holds path, so a rename in it is durable. */
static int sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, mode) < 0)
		rc = -errno;
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else
			off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = sync_dir(path);
out:
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}
