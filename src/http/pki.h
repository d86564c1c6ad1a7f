/* pki.h - the server's certificates: a CA and a serving certificate made at first start.
 *
 * Files in dir: ca.crt, ca.key, server.crt, server.key (PEM, keys mode 0600). Existing
 * files are kept (a restart serves the same CA, so kubeconfigs stay valid); a serving
 * certificate whose SANs do not cover the requested names is reissued from the same CA.
 */
#ifndef HTTP_PKI_H
#define HTTP_PKI_H

#include <stddef.h>

/* Ensures the CA and the serving certificate exist in dir (created 0700 when missing),
 * covering the DNS names and IP addresses in sans (NULL-terminated; "localhost",
 * "127.0.0.1", ...; NULL or empty means localhost, 127.0.0.1 and ::1). Returns 0, or a
 * negative code with a reason in err (-EINVAL for a bad name or only half a CA on disk,
 * -EBADMSG for an unreadable CA, an errno from the file system). Blocks (key generation,
 * fsync). */
int pki_ensure(const char *dir, const char *const *sans, char *err, size_t errlen);

/* Generates a random token of nbytes random bytes, hex-encoded, into out (2*nbytes+1). */
int pki_random_hex(char *out, size_t nbytes);

#endif
