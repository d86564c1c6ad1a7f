/* pki.h - the server's certificates: a CA and a serving certificate made at first start.
 *
 * Files in dir: ca.crt, ca.key, server.crt, server.key (PEM, keys mode 0600). Existing
 * files are kept (a restart serves the same CA, so kubeconfigs stay valid); a serving
 * certificate whose SANs do not cover the requested names is reissued from the same CA.
 */
#ifndef APISERVER_PKI_H
#define APISERVER_PKI_H

#include <stddef.h>

/* Ensures the CA and the serving certificate exist in dir, covering the DNS names and IP
 * addresses in sans (NULL-terminated; "localhost", "127.0.0.1", ...). */
int pki_ensure(const char *dir, const char *const *sans, char *err, size_t errlen);

/* Generates a random token of nbytes random bytes, hex-encoded, into out (2*nbytes+1). */
int pki_random_hex(char *out, size_t nbytes);

#endif
