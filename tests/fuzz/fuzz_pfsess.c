/* fuzz_pfsess.c - libFuzzer target for a port-forward session's handling of client bytes
 * (node/pfsrv.c through node_pf_feed): SPDY/3.1 frames, the data and error streams of
 * each request (SYN_STREAM header blocks with streamtype, port, requestid), data, RST,
 * PING, GOAWAY; with byte 0's bit 0 set, inside WebSocket binary messages (kubectl 1.31+'s
 * SPDY/3.1+portforward.k8s.io tunnel).
 */
#include <stdint.h>
#include <stdlib.h>

#include "node/pfsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int rc = node_pf_feed(data[0] & 1, data + 1, size - 1);
	if (rc != 0 && rc != -1)
		abort();
	return 0;
}
