/* clusterid.h - one identity for every server of a cluster: the sealed bootstrap record.
 *
 * As k3s keeps its bootstrap data: the first server stores its CA certificate and key,
 * its ServiceAccount signing key and a hash of the admin token in the datastore under
 * APISERVER_BOOTSTRAP_KEY (never served through the API), encrypted with AES-256-GCM
 * under a key derived from the admin token (PBKDF2-HMAC-SHA256, a random salt); a later
 * server started with the same --token-file opens it and serves the same CA and accepts
 * the same tokens. A wrong token cannot open it (the GCM tag fails) and the server
 * refuses to start before writing anything.
 *
 * The record is a JSON object:
 *   {"version":1, "kdf":"pbkdf2-sha256", "iterations":N, "salt":b64, "nonce":b64,
 *    "ciphertext":b64 (AES-256-GCM of the plaintext, the 16-byte tag appended)}
 * and its plaintext another:
 *   {"tokenHash":"sha256:<hex>", "ca.crt":PEM, "ca.key":PEM, "sa.key":PEM}
 * The record's key is the GCM additional data, so a record copied under another key
 * does not open.
 */
#ifndef APISERVER_CLUSTERID_H
#define APISERVER_CLUSTERID_H

#include <jansson.h>
#include <stddef.h>

#define APISERVER_BOOTSTRAP_KEY "/registry/svcplane/bootstrap"
#define APISERVER_BOOTSTRAP_ITERATIONS 100000

/* Seals plain (borrowed) for token with the given salt (16 bytes) and nonce (12 bytes),
 * so the caller supplies the randomness; returns the record as compact JSON text (heap),
 * or NULL when OpenSSL fails. Pure. */
char *apiserver_bootstrap_seal(const char *token, const json_t *plain, const unsigned char salt[16],
			       const unsigned char nonce[12], int iterations);

/* Opens a record (rec, len bytes) with token: 0 and *plain (a new object, the caller's),
 * -EACCES when the token does not open it (wrong token), -EBADMSG when rec is not a
 * record (err says what), also when its tokenHash does not match token. Pure. */
int apiserver_bootstrap_open(const char *token, const char *rec, size_t len, json_t **plain, char *err,
			     size_t errlen);

/* "sha256:<hex of SHA-256(token)>" into out (at least 72 bytes). */
void apiserver_token_hash(const char *token, char *out, size_t len);

#endif
