/* test_file.c - base/file.h (whole-file reads, atomic writes) and base/vec.h. */
#include "base/file.h"
#include "base/vec.h"
#include "harness/t.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(file_write_atomic_then_read)
{
	char dir[] = "/tmp/svcp-file-XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char path[128], tmp[140];
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_INT_EQ(file_write_atomic(path, "old", 3, 0600), 0);
	ASSERT_INT_EQ(file_write_atomic(path, "new\n", 4, 0640), 0);
	struct stat st;
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0640); /* exactly, whatever the umask */
	ASSERT(access(tmp, F_OK) < 0);		/* no temporary file left */
	char *data = NULL;
	size_t len = 0;
	ASSERT_INT_EQ(file_read(path, 0, &data, &len), 0);
	ASSERT_INT_EQ(len, 4);
	ASSERT_STR_EQ(data, "new\n");
	free(data);
	/* A bound below the size is -EFBIG and leaves *out alone. */
	data = NULL;
	ASSERT_INT_EQ(file_read(path, 3, &data, &len), -EFBIG);
	ASSERT(data == NULL);
	/* An empty file reads as "". */
	ASSERT_INT_EQ(file_write_atomic(path, "", 0, 0600), 0);
	ASSERT_INT_EQ(file_read(path, 0, &data, NULL), 0);
	ASSERT_STR_EQ(data, "");
	free(data);
	unlink(path);
	/* Missing files and folders are errors, and the target stays absent. */
	data = NULL;
	ASSERT_INT_EQ(file_read(path, 0, &data, &len), -ENOENT);
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/no/such", dir);
	ASSERT_INT_EQ(file_write_atomic(bad, "x", 1, 0600), -ENOENT);
	rmdir(dir);
}

TEST(vec_push_grows_and_zeroes)
{
	struct pt {
		int x, y;
	};
	VEC(struct pt) v = {0};
	for (int i = 0; i < 100; i++) {
		struct pt *p = vec_push(&v);
		ASSERT_INT_EQ(p->x, 0);
		ASSERT_INT_EQ(p->y, 0);
		p->x = i;
	}
	ASSERT_INT_EQ(v.len, 100);
	ASSERT(v.cap >= 100);
	for (int i = 0; i < 100; i++)
		ASSERT_INT_EQ(v.v[i].x, i);
	vec_free(&v);
	ASSERT(v.v == NULL);
	ASSERT_INT_EQ(v.len, 0);
}
