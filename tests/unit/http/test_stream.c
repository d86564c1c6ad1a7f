/* test_stream.c - WebSocket and SPDY/3.1 framing (http/ws.h, http/spdy.h): RFC 6455's
 * accept-key example, frame heads of every length form, masked payloads, and the bad
 * heads; SPDY frame heads, a header block through the deflater and inflater with the
 * dictionary (a SYN_STREAM as spdystream sends it), the block lookup and its bad input. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "harness/t.h"
#include "http/spdy.h"
#include "http/ws.h"

TEST(ws_accept_key_rfc6455_example)
{
	char out[29];
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
	ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ws_frame_heads_roundtrip)
{
	static const uint64_t lens[] = {0, 1, 125, 126, 65535, 65536, 1u << 24};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t h[14];
		size_t hl = ws_frame_head(h, WS_OP_BINARY, lens[i]);
		struct ws_frame f;
		ASSERT_INT_EQ(ws_frame_parse(h, hl, 1u << 30, &f), 0);
		ASSERT_INT_EQ(f.payload_len, lens[i]);
		ASSERT_INT_EQ(f.head_len, hl);
		ASSERT(f.fin && !f.masked && f.opcode == WS_OP_BINARY);
		ASSERT_INT_EQ(ws_frame_parse(h, hl - 1, 1u << 30, &f), -EAGAIN);
	}
}

TEST(ws_masked_client_frame)
{
	uint8_t m[] = {0x82, 0x83, 1, 2, 3, 4, 0 ^ 1, 'h' ^ 2, 'i' ^ 3};
	struct ws_frame f;
	ASSERT_INT_EQ(ws_frame_parse(m, sizeof(m), 100, &f), 0);
	ASSERT(f.masked);
	ASSERT_INT_EQ(f.head_len, 6);
	ws_unmask(m + 6, 3, f.mask, 0);
	ASSERT(m[6] == 0 && m[7] == 'h' && m[8] == 'i');
}

TEST(ws_bad_heads)
{
	struct ws_frame f;
	uint8_t rsv[] = {0xc2, 0x00}, op[] = {0x83, 0x00}, ctl_frag[] = {0x09, 0x00},
		ctl_long[] = {0x89, 126, 0, 200};
	uint8_t short16[] = {0x82, 126, 0, 5}, big[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
	uint8_t over[] = {0x82, 126, 0x10, 0};
	ASSERT_INT_EQ(ws_frame_parse(rsv, 2, 100, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(op, 2, 100, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(ctl_frag, 2, 100, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(ctl_long, 4, 1000, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(short16, 4, 100, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(big, 10, UINT64_MAX, &f), -EBADMSG);
	ASSERT_INT_EQ(ws_frame_parse(over, 4, 100, &f), -E2BIG);
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_append(b, p, 4);
}

static void put_pair(struct buf *b, const char *n, const char *v)
{
	put32(b, (uint32_t)strlen(n));
	buf_append(b, n, strlen(n));
	put32(b, (uint32_t)strlen(v));
	buf_append(b, v, strlen(v));
}

TEST(spdy_syn_stream_headers_through_zlib)
{
	/* The client side: a block compressed with the dictionary, in one zlib stream. */
	struct spdy_deflate d;
	ASSERT_INT_EQ(spdy_deflate_init(&d), 0);
	struct spdy_inflate in;
	ASSERT_INT_EQ(spdy_inflate_init(&in), 0);
	for (int round = 0; round < 3; round++) {
		struct buf blk, z, out;
		buf_init(&blk);
		buf_init(&z);
		buf_init(&out);
		put32(&blk, 3);
		put_pair(&blk, "port", "8080");
		put_pair(&blk, "requestid", round == 0 ? "0" : "1");
		put_pair(&blk, "streamtype", round == 2 ? "error" : "data");
		uint8_t zb[512];
		d.z.next_in = (Bytef *)blk.data;
		d.z.avail_in = (uInt)blk.len;
		d.z.next_out = zb;
		d.z.avail_out = sizeof(zb);
		ASSERT_INT_EQ(deflate(&d.z, Z_SYNC_FLUSH), Z_OK);
		ASSERT_INT_EQ(spdy_inflate_block(&in, zb, sizeof(zb) - d.z.avail_out, 65536, &out), 0);
		ASSERT_INT_EQ(out.len, blk.len);
		char v[16];
		ASSERT_INT_EQ(spdy_block_get((uint8_t *)out.data, out.len, "streamtype", v, sizeof(v)), 0);
		ASSERT_STR_EQ(v, round == 2 ? "error" : "data");
		ASSERT_INT_EQ(spdy_block_get((uint8_t *)out.data, out.len, "port", v, sizeof(v)), 0);
		ASSERT_STR_EQ(v, "8080");
		ASSERT_INT_EQ(spdy_block_get((uint8_t *)out.data, out.len, "nope", v, sizeof(v)), -ENOENT);
		ASSERT_INT_EQ(spdy_block_get((uint8_t *)out.data, out.len - 1, "streamtype", v, sizeof(v)),
			      -EBADMSG);
		buf_fini(&blk);
		buf_fini(&z);
		buf_fini(&out);
	}
	spdy_deflate_fini(&d);
	spdy_inflate_fini(&in);
	uint8_t junk[] = {1, 2, 3, 4, 5};
	struct spdy_inflate in2;
	struct buf out;
	buf_init(&out);
	spdy_inflate_init(&in2);
	ASSERT_INT_EQ(spdy_inflate_block(&in2, junk, sizeof(junk), 65536, &out), -EBADMSG);
	spdy_inflate_fini(&in2);
	buf_fini(&out);
}

TEST(spdy_frames_we_send_parse_back)
{
	struct spdy_deflate d;
	spdy_deflate_init(&d);
	struct buf b;
	buf_init(&b);
	ASSERT_INT_EQ(spdy_put_syn_reply(&d, &b, 5), 0);
	struct spdy_frame f;
	ASSERT_INT_EQ(spdy_frame_parse((uint8_t *)b.data, b.len, 1 << 20, &f), 0);
	ASSERT(f.control && f.type == SPDY_SYN_REPLY && f.stream_id == 5);
	ASSERT_INT_EQ(8 + f.length, b.len);
	b.len = 0;
	spdy_put_data(&b, 7, SPDY_FLAG_FIN, "abc", 3);
	ASSERT_INT_EQ(spdy_frame_parse((uint8_t *)b.data, b.len, 1 << 20, &f), 0);
	ASSERT(!f.control && f.stream_id == 7 && f.flags == SPDY_FLAG_FIN && f.length == 3);
	ASSERT_INT_EQ(spdy_frame_parse((uint8_t *)b.data, b.len, 2, &f), -E2BIG);
	b.len = 0;
	spdy_put_ping(&b, 9);
	ASSERT_INT_EQ(spdy_frame_parse((uint8_t *)b.data, b.len, 1 << 20, &f), 0);
	ASSERT(f.control && f.type == SPDY_PING && f.length == 4);
	uint8_t v2[] = {0x80, 2, 0, 1, 0, 0, 0, 10};
	ASSERT_INT_EQ(spdy_frame_parse(v2, sizeof(v2), 100, &f), -EBADMSG);
	uint8_t syn_short[] = {0x80, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1};
	ASSERT_INT_EQ(spdy_frame_parse(syn_short, sizeof(syn_short), 100, &f), -EBADMSG);
	ASSERT_INT_EQ(spdy_frame_parse(v2, 7, 100, &f), -EAGAIN);
	buf_fini(&b);
	spdy_deflate_fini(&d);
}
