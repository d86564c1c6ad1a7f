/* ws.c - WebSocket framing (see ws.h). */
#include "http/ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ws_accept_key(const char *key, char out[29])
{
	char in[256];
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(in))
		n = (int)sizeof(in) - 1;
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)in, (size_t)n, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH); /* 28 chars + NUL */
}

int ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, struct ws_frame *f)
{
	memset(f, 0, sizeof(*f));
	if (len < 2)
		return -EAGAIN;
	if (buf[0] & 0x70)
		return -EBADMSG; /* RSV1-3: no extension was negotiated */
	f->fin = buf[0] & 0x80;
	f->opcode = buf[0] & 0x0f;
	switch (f->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return -EBADMSG;
	}
	f->masked = buf[1] & 0x80;
	uint64_t pl = buf[1] & 0x7f;
	size_t hl = 2;
	if (pl == 126) {
		if (len < 4)
			return -EAGAIN;
		pl = (uint64_t)buf[2] << 8 | buf[3];
		if (pl < 126)
			return -EBADMSG;
		hl = 4;
	} else if (pl == 127) {
		if (len < 10)
			return -EAGAIN;
		pl = 0;
		for (int i = 0; i < 8; i++)
			pl = pl << 8 | buf[2 + i];
		if (pl >> 63 || pl <= 0xffff)
			return -EBADMSG;
		hl = 10;
	}
	if (f->opcode >= WS_OP_CLOSE && (!f->fin || pl > 125))
		return -EBADMSG;
	if (f->masked) {
		if (len < hl + 4)
			return -EAGAIN;
		memcpy(f->mask, buf + hl, 4);
		hl += 4;
	}
	if (pl > max_payload)
		return -E2BIG;
	f->head_len = hl;
	f->payload_len = pl;
	return 0;
}

void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(off + i) & 3];
}

size_t ws_frame_head(uint8_t *out, int opcode, uint64_t len)
{
	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

int ws_client_frame(uint8_t *buf, size_t len, uint64_t max_payload, struct ws_frame *f)
{
	int rc = ws_frame_parse(buf, len, max_payload, f);
	if (rc == -EAGAIN)
		return 0;
	if (rc < 0)
		return rc;
	if (!f->masked)
		return -EBADMSG; /* RFC 6455 5.1: a client masks every frame */
	if (len - f->head_len < f->payload_len)
		return 0;
	ws_unmask(buf + f->head_len, (size_t)f->payload_len, f->mask, 0);
	return 1;
}
