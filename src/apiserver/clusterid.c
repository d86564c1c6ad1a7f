/* clusterid.c - sealing and opening the cluster's bootstrap record (pure; see clusterid.h).
 * The start-up step that reads and writes it is apiserver__identity_ensure (identity.c). */
#include "apiserver/clusterid.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "api/object.h"
#include "base/mem.h"

void apiserver_token_hash(const char *token, char *out, size_t len)
{
	unsigned char md[32];
	unsigned int mdl = 0;
	EVP_Digest(token, strlen(token), md, &mdl, EVP_sha256(), NULL);
	size_t n = (size_t)snprintf(out, len, "sha256:");
	for (unsigned i = 0; i < mdl && n + 2 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%02x", md[i]);
}

static int derive(const char *token, const unsigned char *salt, size_t salt_len, int iterations,
		  unsigned char key[32])
{
	return PKCS5_PBKDF2_HMAC(token, (int)strlen(token), salt, (int)salt_len, iterations, EVP_sha256(), 32,
				 key) == 1
		   ? 0
		   : -EIO;
}

/* AES-256-GCM of in (n bytes) with aad; out has n + 16 bytes (the tag last). */
static int gcm(bool enc, const unsigned char key[32], const unsigned char nonce[12], const char *aad,
	       const unsigned char *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	int ok = c != NULL;
	if (enc) {
		ok = ok && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
		     EVP_EncryptUpdate(c, NULL, &l1, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
		     EVP_EncryptUpdate(c, out, &l1, in, (int)n) == 1 &&
		     EVP_EncryptFinal_ex(c, out + l1, &l2) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1;
	} else {
		ok = ok && n >= 16 && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
		     EVP_DecryptUpdate(c, NULL, &l1, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + n - 16)) == 1 &&
		     EVP_DecryptUpdate(c, out, &l1, in, (int)(n - 16)) == 1 &&
		     EVP_DecryptFinal_ex(c, out + l1, &l2) == 1;
	}
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EACCES;
}

char *apiserver_bootstrap_seal(const char *token, const json_t *plain, const unsigned char salt[16],
			       const unsigned char nonce[12], int iterations)
{
	unsigned char key[32];
	if (derive(token, salt, 16, iterations, key) < 0)
		return NULL;
	char *pt = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n = strlen(pt);
	unsigned char *ct = xmalloc(n + 16);
	char *out = NULL;
	if (gcm(true, key, nonce, APISERVER_BOOTSTRAP_KEY, (const unsigned char *)pt, n, ct) == 0) {
		char *s64 = api_base64_encode(salt, 16), *n64 = api_base64_encode(nonce, 12),
		     *c64 = api_base64_encode(ct, n + 16);
		json_t *rec =
		    json_pack("{s:i, s:s, s:i, s:s, s:s, s:s}", "version", 1, "kdf", "pbkdf2-sha256",
			      "iterations", iterations, "salt", s64, "nonce", n64, "ciphertext", c64);
		out = json_dumps(rec, JSON_COMPACT);
		json_decref(rec);
		free(s64);
		free(n64);
		free(c64);
	}
	OPENSSL_cleanse(pt, n);
	OPENSSL_cleanse(key, sizeof(key));
	free(pt);
	free(ct);
	return out;
}

/* Decodes the base64 field f of rec, of exactly want bytes (0: any length >= 17). */
static unsigned char *field(const json_t *rec, const char *f, size_t want, size_t *len)
{
	const char *s = api_str(rec, f);
	unsigned char *b = NULL;
	if (!s || api_base64_decode(s, &b, len) < 0)
		return NULL;
	if ((want && *len != want) || (!want && *len < 17)) {
		free(b);
		return NULL;
	}
	return b;
}

int apiserver_bootstrap_open(const char *token, const char *rec_text, size_t len, json_t **plain, char *err,
			     size_t errlen)
{
	*plain = NULL;
	json_t *rec = json_loadb(rec_text, len, 0, NULL);
	json_t *it = json_object_get(rec, "iterations");
	const char *kdf = api_str(rec, "kdf");
	if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "version")) != 1 || !kdf ||
	    strcmp(kdf, "pbkdf2-sha256") || !json_is_integer(it) || json_integer_value(it) < 1 ||
	    json_integer_value(it) > 1000000) {
		snprintf(err, errlen, "%s is not a svcplane bootstrap record (version 1, pbkdf2-sha256)",
			 APISERVER_BOOTSTRAP_KEY);
		json_decref(rec);
		return -EBADMSG;
	}
	size_t sl = 0, nl = 0, cl = 0;
	unsigned char *salt = field(rec, "salt", 16, &sl), *nonce = field(rec, "nonce", 12, &nl),
		      *ct = field(rec, "ciphertext", 0, &cl);
	int rc = 0;
	unsigned char key[32];
	unsigned char *pt = NULL;
	if (!salt || !nonce || !ct) {
		snprintf(err, errlen, "%s: salt, nonce or ciphertext is missing or malformed",
			 APISERVER_BOOTSTRAP_KEY);
		rc = -EBADMSG;
		goto out;
	}
	rc = derive(token, salt, sl, (int)json_integer_value(it), key);
	if (rc < 0) {
		snprintf(err, errlen, "deriving the bootstrap key failed");
		goto out;
	}
	pt = xmalloc(cl);
	rc = gcm(false, key, nonce, APISERVER_BOOTSTRAP_KEY, ct, cl, pt);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		snprintf(err, errlen,
			 "the token does not open this cluster's bootstrap data: it is not the token the "
			 "cluster's first server was started with (pass that server's --token-file)");
		goto out;
	}
	json_t *p = json_loadb((const char *)pt, cl - 16, 0, NULL);
	OPENSSL_cleanse(pt, cl);
	char want[80];
	apiserver_token_hash(token, want, sizeof(want));
	const char *th = api_str(p, "tokenHash");
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "ca.crt")) ||
	    !json_is_string(json_object_get(p, "ca.key")) || !th || strcmp(th, want)) {
		snprintf(err, errlen, "%s opened but does not hold a CA, its key and this token's hash",
			 APISERVER_BOOTSTRAP_KEY);
		json_decref(p);
		rc = -EBADMSG;
		goto out;
	}
	*plain = p;
out:
	free(pt);
	free(salt);
	free(nonce);
	free(ct);
	json_decref(rec);
	return rc;
}
