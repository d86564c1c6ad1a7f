/* spdy.h - SPDY/3.1 framing for the streaming subresources as kubectl 1.27-1.29 (and
 * newer ones as a fallback) speak it through moby/spdystream: frame heads, the
 * zlib-compressed name/value header blocks (with SPDY/3's dictionary), and the frames a
 * server sends (SYN_REPLY, DATA, PING, GOAWAY).
 *
 * The parsers are pure functions over bytes from the network that check every length
 * before reading (fuzzed by tests/fuzz/fuzz_spdy.c); the header (de)compressors hold the
 * connection's zlib state (one stream per direction, as SPDY requires). No flow control:
 * spdystream neither sends nor honours WINDOW_UPDATE.
 */
#ifndef HTTP_SPDY_H
#define HTTP_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

struct buf;

enum {
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};
#define SPDY_FLAG_FIN 0x01

struct spdy_frame {
	bool control;
	int type;	    /* control frames */
	uint32_t stream_id; /* data frames, and control frames that name one (0 otherwise) */
	uint8_t flags;
	uint32_t length; /* payload bytes after the 8-byte head */
};

/* Parses the 8-byte frame head at buf[0..len). Returns 0 with *f set (stream_id of a
 * SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS or WINDOW_UPDATE is read from the payload,
 * which must then be in buf: -EAGAIN otherwise), -EAGAIN when more bytes are needed,
 * -EBADMSG (a control frame of another version than 3, a too short control payload),
 * -E2BIG when length exceeds max_payload. */
int spdy_frame_parse(const uint8_t *buf, size_t len, uint32_t max_payload, struct spdy_frame *f);

/* A whole frame at buf[0..len): 1 with *f set (the payload, f->length bytes, at buf + 8),
 * 0 when more bytes are needed, or spdy_frame_parse's negative code. */
int spdy_whole_frame(const uint8_t *buf, size_t len, uint32_t max_payload, struct spdy_frame *f);

/* Finds header name (lower case) in a decompressed name/value block blk[0..n) and copies
 * its first value (values are NUL-separated) into out, NUL-terminated. Returns 0,
 * -ENOENT when absent, -EBADMSG for a malformed block. */
int spdy_block_get(const uint8_t *blk, size_t n, const char *name, char *out, size_t outlen);

/* The inflater of one connection's incoming header blocks. */
struct spdy_inflate {
	z_stream z;
	bool ok;
};
int spdy_inflate_init(struct spdy_inflate *in);
void spdy_inflate_fini(struct spdy_inflate *in);
/* Decompresses one header block p[0..n) into out (at most max bytes). 0, -EBADMSG, -E2BIG. */
int spdy_inflate_block(struct spdy_inflate *in, const uint8_t *p, size_t n, size_t max, struct buf *out);

/* The deflater of one connection's outgoing header blocks. */
struct spdy_deflate {
	z_stream z;
	bool ok;
};
int spdy_deflate_init(struct spdy_deflate *d);
void spdy_deflate_fini(struct spdy_deflate *d);

/* Appends frames to out: a SYN_REPLY for stream_id with an empty header block; a DATA
 * frame (flags SPDY_FLAG_FIN to end the stream); a PING echo; a GOAWAY (status OK). */
int spdy_put_syn_reply(struct spdy_deflate *d, struct buf *out, uint32_t stream_id);
void spdy_put_data(struct buf *out, uint32_t stream_id, uint8_t flags, const void *p, size_t n);
void spdy_put_ping(struct buf *out, uint32_t id);
void spdy_put_goaway(struct buf *out, uint32_t last_stream_id);

#endif
