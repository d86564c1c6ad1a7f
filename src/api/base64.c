/* base64.c - standard base64 (RFC 4648, with padding) for the []byte fields of the API
 * (Secret.data, ConfigMap.binaryData): JSON carries them as base64, protobuf as raw bytes.
 *
 * The work is OpenSSL's (EVP_EncodeBlock/EVP_DecodeBlock), behind a strict alphabet and
 * padding check, since EVP_DecodeBlock skips whitespace and does not strip padding.
 */
#include "api/base64.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int api_base64_decode(const char *s, unsigned char **out, size_t *len)
{
	size_t n = strlen(s);
	*out = NULL;
	*len = 0;
	if (n % 4)
		return -EINVAL;
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '+' || c == '/';
		if (c == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (!ok || pad)
			return -EINVAL;
	}
	unsigned char *b = xmalloc(n / 4 * 3 + 1);
	int r = n ? EVP_DecodeBlock(b, (const unsigned char *)s, (int)n) : 0;
	if (r < 0) {
		free(b);
		return -EINVAL;
	}
	*len = (size_t)r - pad;
	b[*len] = 0;
	*out = b;
	return 0;
}

char *api_base64_encode(const unsigned char *data, size_t len)
{
	char *s = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)s, data, (int)len);
	s[n] = 0;
	return s;
}
