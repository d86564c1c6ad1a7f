/* ws.h - WebSocket (RFC 6455) framing for the streaming subresources (exec, attach,
 * port-forward over the k8s channel protocols): the handshake's accept key, a frame head
 * parser over bytes from the network, and the head of frames we send.
 *
 * Pure functions, no I/O. The parser checks every length before it reads and never trusts
 * the input (fuzzed by tests/fuzz/fuzz_ws.c).
 */
#ifndef HTTP_WS_H
#define HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

struct ws_frame {
	bool fin;
	int opcode;
	bool masked;
	uint8_t mask[4];
	size_t head_len; /* bytes of the frame head (2..14) */
	uint64_t payload_len;
};

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)),
 * written NUL-terminated into out (29 bytes). */
void ws_accept_key(const char *key, char out[29]);

/* Parses the frame head at buf[0..len). Returns 0 with *f set, -EAGAIN when more bytes are
 * needed, -EBADMSG for a malformed head (reserved bits, unknown opcode, a control frame
 * fragmented or longer than 125, a non-minimal or 2^63+ length), -E2BIG when the payload
 * exceeds max_payload. The payload (f->payload_len bytes) follows the head. */
int ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, struct ws_frame *f);

/* A whole client frame at buf[0..len): returns 1 with *f set and its payload (at
 * buf + f->head_len, f->payload_len bytes) unmasked in place, 0 when more bytes are
 * needed, or a negative code (ws_frame_parse's, or -EBADMSG for an unmasked frame). */
int ws_client_frame(uint8_t *buf, size_t len, uint64_t max_payload, struct ws_frame *f);

/* XORs p[0..n) with the mask, starting at payload offset off. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* Writes the head of an unmasked, final frame of opcode with a payload of len bytes into
 * out (at least 10 bytes); returns its length. */
size_t ws_frame_head(uint8_t *out, int opcode, uint64_t len);

#endif
