/* file.h - whole-file reads and atomic whole-file writes.
 *
 * A write goes to PATH.tmp, is fsynced, renamed over PATH, and the folder is fsynced, so
 * after a crash PATH holds either the old bytes or the new ones, never a mix, and a
 * returned 0 means the new bytes survive a power loss. Reads return the bytes with a NUL
 * after the last one, so text files can be used as strings. Both block on the disk.
 */
#ifndef BASE_FILE_H
#define BASE_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Reads f to its end. max bounds the size (0: no bound). Returns 0 with *out (heap, the
 * caller's, NUL-terminated, "" when empty) and *len (when len is not NULL), -EFBIG when
 * the stream holds more than max bytes, -EIO on a read error; *out is untouched then. */
int file_read_fp(FILE *f, size_t max, char **out, size_t *len);
/* Reads the file at path as file_read_fp does; also -errno when it cannot be opened. */
int file_read(const char *path, size_t max, char **out, size_t *len);

/* Replaces the file at path with data[0..len) atomically (see above), the file's mode
 * being mode exactly (not masked by the umask). Returns 0 or -errno; on failure path is
 * untouched and no PATH.tmp remains. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
