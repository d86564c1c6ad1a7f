/* fuzz_nftnl_data.c - libFuzzer target for the decoder of set element keys and values
 * read back from the kernel (proxy/nftnl.c proxy_nftnl_data_text): the input is a
 * 4-byte type (little-endian) and the element's bytes.
 *
 * Checks beyond "no crash": a decoded key of a type nft.c's maps use is text the encoder
 * takes again (an element command of it encodes), so a restart's diff can delete it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "proxy/nftnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key types of nft.c's maps and sets (nftables datatype ids, 6 bits a field). */
static bool ours(uint32_t t)
{
	static const uint32_t k[] = {
	    (7u << 12 | 12u << 6 | 13u) << 6 | 4u, /* eps4-N */
	    (8u << 12 | 12u << 6 | 13u) << 6 | 4u, /* eps6-N */
	    12u << 12 | 13u << 6 | 4u,		   /* npeps4-N */
	    7u << 12 | 12u << 6 | 13u,		   /* service-ips4 */
	    8u << 12 | 12u << 6 | 13u,		   /* service-ips6 */
	    12u << 6 | 13u,			   /* service-nodeports4 */
	    7u << 6 | 7u,			   /* hairpin4 */
	    8u << 6 | 8u,			   /* hairpin6 */
	    19u,				   /* backends4 */
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i] == t)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t type =
	    (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	struct buf out, b;
	buf_init(&out);
	buf_init(&b);
	if (proxy_nftnl_data_text(type, data + 4, (uint32_t)(size - 4), &out) == 0) {
		if (!out.data || !*out.data)
			abort();
		/* "?" is a protocol the encoder has no name for: the diff gives up on it. */
		if (ours(type) && !strchr(out.data, '?')) {
			char *line = NULL;
			if (asprintf(&line, "delete element inet t m { %s }\n", out.data) < 0)
				abort();
			uint32_t seq = 1, last = 0;
			char err[128];
			if (proxy_nftnl_encode(line, &b, &seq, &last, err, sizeof(err)) != 0)
				abort();
			free(line);
		}
	}
	buf_fini(&out);
	buf_fini(&b);
	return 0;
}
