/* fuzz_ws.c - libFuzzer target for the WebSocket frame head parser (http/ws.h).
 *
 * Input: a byte stream parsed as consecutive frames, as the exec/attach session reads
 * a client's bytes. Checks beyond "no crash": an accepted head is 2..14 bytes, fits in
 * what was given, and writing a head of the same opcode and length parses back to it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct ws_frame f;
		int rc = ws_frame_parse(data + off, size - off, 1 << 20, &f);
		if (rc < 0) {
			if (rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG)
				abort();
			break;
		}
		if (f.head_len < 2 || f.head_len > 14 || f.head_len > size - off)
			abort();
		uint8_t head[14], copy[64];
		size_t hl = ws_frame_head(head, f.opcode, f.payload_len);
		struct ws_frame g;
		if (ws_frame_parse(head, hl, 1 << 20, &g) != 0 || g.payload_len != f.payload_len ||
		    g.opcode != f.opcode || g.head_len != hl)
			abort();
		off += f.head_len;
		size_t n = size - off < f.payload_len ? size - off : (size_t)f.payload_len;
		size_t k = n < sizeof(copy) ? n : sizeof(copy);
		memcpy(copy, data + off, k);
		ws_unmask(copy, k, f.mask, 0);
		off += n;
	}
	return 0;
}
