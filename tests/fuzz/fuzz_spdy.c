/* fuzz_spdy.c - libFuzzer target for the SPDY/3.1 parsers (http/spdy.h): frame heads over
 * a byte stream, the name/value block lookup, and header block decompression.
 *
 * Input: consecutive frames as a client sends them to an exec session. Each SYN_STREAM's
 * block goes through one connection's inflater (as the session does) and the lookup of
 * "streamtype"; the raw payload is also looked up as if already decompressed. Checks
 * beyond "no crash": a found value is NUL-terminated within its buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "http/spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(const uint8_t *p, size_t n)
{
	char v[32];
	if (spdy_block_get(p, n, "streamtype", v, sizeof(v)) == 0 && !memchr(v, 0, sizeof(v)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spdy_inflate zin;
	spdy_inflate_init(&zin);
	size_t off = 0;
	while (off < size) {
		struct spdy_frame f;
		int rc = spdy_frame_parse(data + off, size - off, 1 << 20, &f);
		if (rc < 0) {
			if (rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG)
				abort();
			break;
		}
		if (size - off - 8 < f.length)
			break;
		const uint8_t *pl = data + off + 8;
		lookup(pl, f.length);
		if (f.control && f.type == SPDY_SYN_STREAM) {
			struct buf blk;
			buf_init(&blk);
			if (spdy_inflate_block(&zin, pl + 10, f.length - 10, 1 << 16, &blk) == 0)
				lookup((const uint8_t *)blk.data, blk.len);
			buf_fini(&blk);
		}
		off += 8 + f.length;
	}
	spdy_inflate_fini(&zin);
	return 0;
}
