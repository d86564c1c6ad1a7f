/* pki.h - the server's certificates: a CA and a serving certificate made at first start.
 *
 * Files in dir: ca.crt, ca.key, server.crt, server.key (PEM, keys mode 0600). Existing
 * files are kept (a restart serves the same CA, so kubeconfigs stay valid); a serving
 * certificate whose SANs do not cover the requested names is reissued from the same CA.
 */
#ifndef HTTP_PKI_H
#define HTTP_PKI_H

#include <openssl/types.h>
#include <stddef.h>

/* Ensures the CA and the serving certificate exist in dir (created 0700 when missing),
 * covering the DNS names and IP addresses in sans (NULL-terminated; "localhost",
 * "127.0.0.1", ...; NULL or empty means localhost, 127.0.0.1 and ::1). Returns 0, or a
 * negative code with a reason in err (-EINVAL for a bad name or only half a CA on disk,
 * -EBADMSG for an unreadable CA, an errno from the file system). Blocks (key generation,
 * fsync). */
int pki_ensure(const char *dir, const char *const *sans, char *err, size_t errlen);

/* Ensures a client certificate <dir>/<base>.crt and .key (EC P-256, clientAuth, 1 year)
 * signed by dir's CA, with subject CN=cn and O=org (NULL: none); reissued when missing,
 * invalid, expiring within 30 days or for another cn. The CA must exist (pki_ensure).
 * Returns 0 or a negative code with err. Blocks. */
int pki_ensure_client(const char *dir, const char *base, const char *cn, const char *org, char *err,
		      size_t errlen);

/* Signs a PEM certificate request (PKCS#10, verified to be signed by the key it carries)
 * with dir's CA: subject CN=cn, O=org, 1 year; serverAuth with subjectAltName sans (IPs
 * and DNS names; the request's own names are not used), or, when sans is NULL, a client
 * certificate (clientAuth, no names). *cert_pem: heap PEM, the caller's.
 * Returns 0, -EBADMSG for a bad request, -EINVAL for a bad name, or another code. */
int pki_sign_csr(const char *dir, const char *csr_pem, size_t csr_len, const char *cn, const char *org,
		 const char *const *sans, char **cert_pem, char *err, size_t errlen);

/* A certificate request for the key in key_path (made, mode 0600, when missing) with
 * subject CN=cn. *csr_pem: heap PEM, the caller's. Returns 0 or a negative code. */
int pki_make_csr(const char *key_path, const char *cn, char **csr_pem, char *err, size_t errlen);

/* The private key in path (PEM), made (EC P-256, mode 0600) when missing. Returns an
 * EVP_PKEY the caller frees (EVP_PKEY_free), or NULL with err. Blocks. */

EVP_PKEY *pki_key_ensure(const char *path, char *err, size_t errlen);

/* Generates a random token of nbytes random bytes, hex-encoded, into out (2*nbytes+1). */
int pki_random_hex(char *out, size_t nbytes);

#endif
