/* jwt.h - compact JWS with ES256 (RFC 7515, 7518), the form of Kubernetes' bound
 * ServiceAccount tokens: base64url(header).base64url(claims).base64url(r || s).
 *
 * Pure apart from OpenSSL's signing: no I/O, no clock (the caller checks exp and nbf
 * against its own time). Every byte of a token is untrusted: lengths are bounded (a
 * token over 16 KiB is refused) and every part is checked before use.
 */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include <jansson.h>
#include <openssl/types.h>

/* Signs claims (a JSON object, borrowed) with the EC P-256 key; kid goes in the header.
 * Returns a heap string, or NULL when signing fails. */
char *auth_jwt_sign(const json_t *claims, EVP_PKEY *key, const char *kid);
/* Verifies token against the public part of key: header {"alg":"ES256"}, a valid
 * signature. Returns 0 with *claims (a new reference to a JSON object), -EBADMSG when
 * it is not a compact ES256 JWS, -EACCES when the signature does not verify. */
int auth_jwt_verify(const char *token, EVP_PKEY *key, json_t **claims);
/* True when s has the shape of a compact JWS (three non-empty dot-separated parts). */
int auth_jwt_shaped(const char *s);
/* The key id Kubernetes uses: base64url of the SHA-256 of the DER public key. Heap. */
char *auth_jwt_kid(EVP_PKEY *key);

#endif
