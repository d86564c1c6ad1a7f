/* base64.h - standard base64 with padding (RFC 4648 section 4), as Go's
 * encoding/base64.StdEncoding reads and writes the API's []byte fields. */
#ifndef API_BASE64_H
#define API_BASE64_H

#include <stddef.h>

/* Decodes standard base64 (with padding) into a heap buffer; -EINVAL on bad input.
 * *out is NUL-terminated (not counted in *len). */
int api_base64_decode(const char *s, unsigned char **out, size_t *len);
/* Standard base64 with padding; heap string. */
char *api_base64_encode(const unsigned char *data, size_t len);

#endif
