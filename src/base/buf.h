/* buf.h - a growable byte buffer, always NUL-terminated so it can be used as a string. */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends Go's %q of the string s: in double quotes, with \" \\ \n \t \r
 * and \xNN for the other control bytes; bytes >= 0x80 are copied. */
void buf_put_goquoted(struct buf *b, const char *s);
/* Drops the first n bytes (n <= len): those read or sent. */
void buf_consume(struct buf *b, size_t n);
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_take(struct buf *b);

#endif
