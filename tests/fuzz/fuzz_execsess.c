/* fuzz_execsess.c - libFuzzer target for an exec/attach session's handling of client bytes
 * (node/execsrv.c through node_exec_feed): WebSocket frames, fragmented messages and the
 * channel bytes of v4/v5.channel.k8s.io (stdin, resize JSON, v5 close), or SPDY/3.1 frames
 * with their zlib header blocks (SYN_STREAM streamtype), pings, GOAWAY and the resize
 * stream's concatenated JSON. fuzz_ws.c and fuzz_spdy.c cover the frame heads alone.
 *
 * Input: byte 0 picks the mode (bit 0 SPDY, bit 1 v5, bit 2 tty), the rest is what the
 * client sends, delivered in reads of 1, 7, then 4096 bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "node/execsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int rc = node_exec_feed(data[0] & 1, data[0] & 2, data[0] & 4, data + 1, size - 1);
	if (rc != 0 && rc != -1)
		abort();
	return 0;
}
