/* jwt.c - ES256 compact JWS (see jwt.h). OpenSSL signs ECDSA in DER; JWS wants the two
 * 32-byte integers r and s side by side, so signatures are converted both ways. */
#include "auth/jwt.h"

#include <errno.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "base/mem.h"

#define MAX_TOKEN 16384

static char *b64url(const unsigned char *d, size_t n)
{
	char *s = api_base64_encode(d, n);
	size_t j = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '=')
			continue;
		s[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[j] = 0;
	return s;
}

static int unb64url(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	char *t = xmalloc(n + 4);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+' || c == '/' || c == '=')
			goto bad;
		t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	size_t m = n;
	while (m % 4)
		t[m++] = '=';
	t[m] = 0;
	int rc = api_base64_decode(t, out, outlen);
	free(t);
	return rc < 0 ? -EBADMSG : 0;
bad:
	free(t);
	return -EBADMSG;
}

int auth_jwt_shaped(const char *s)
{
	const char *a = strchr(s, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	return a && b && a > s && b > a + 1 && b[1] && !strchr(b + 1, '.');
}

char *auth_jwt_kid(EVP_PKEY *key)
{
	unsigned char *der = NULL, md[32];
	int n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return NULL;
	unsigned int mdlen = 0;
	EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return b64url(md, mdlen);
}

char *auth_jwt_sign(const json_t *claims, EVP_PKEY *key, const char *kid)
{
	json_t *hdr = json_pack("{s:s, s:s}", "alg", "ES256", "kid", kid ? kid : "");
	char *h = json_dumps(hdr, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(hdr);
	char *hb = b64url((const unsigned char *)h, strlen(h)),
	     *cb = b64url((const unsigned char *)c, strlen(c));
	free(h);
	free(c);
	char *input = xasprintf("%s.%s", hb, cb), *out = NULL;
	free(hb);
	free(cb);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	size_t derlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, strlen(input)) != 1)
		goto done;
	const unsigned char *p = der;
	if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)))
		goto done;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32)
		goto done;
	char *sb = b64url(raw, 64);
	out = xasprintf("%s.%s", input, sb);
	free(sb);
done:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	free(input);
	return out;
}

int auth_jwt_verify(const char *token, EVP_PKEY *key, json_t **claims)
{
	*claims = NULL;
	size_t len = strnlen(token, MAX_TOKEN + 1);
	if (len > MAX_TOKEN || !auth_jwt_shaped(token))
		return -EBADMSG;
	const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
	unsigned char *hdr = NULL, *body = NULL, *sigraw = NULL, *der = NULL;
	size_t hl = 0, bl = 0, sl = 0;
	json_t *h = NULL, *c = NULL;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *md = NULL;
	int rc = -EBADMSG;
	if (unb64url(token, (size_t)(d1 - token), &hdr, &hl) < 0 ||
	    unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &body, &bl) < 0 ||
	    unb64url(d2 + 1, strlen(d2 + 1), &sigraw, &sl) < 0 || sl != 64)
		goto done;
	/* Only the canonical spelling of the signature: the unused low bits of its last
	 * character must be zero, so no two token strings carry the same signature. */
	char *canon = b64url(sigraw, sl);
	bool same = !strcmp(canon, d2 + 1);
	free(canon);
	if (!same)
		goto done;
	h = json_loadb((const char *)hdr, hl, JSON_REJECT_DUPLICATES, NULL);
	const char *alg = json_string_value(json_object_get(h, "alg"));
	if (!json_is_object(h) || !alg || strcmp(alg, "ES256") != 0)
		goto done;
	c = json_loadb((const char *)body, bl, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(c))
		goto done;
	sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sigraw, 32, NULL), *s = BN_bin2bn(sigraw + 32, 32, NULL);
	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto done;
	}
	int dl = i2d_ECDSA_SIG(sig, &der);
	md = EVP_MD_CTX_new();
	rc = -EACCES;
	if (dl <= 0 || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)token, (size_t)(d2 - token)) != 1)
		goto done;
	*claims = c;
	c = NULL;
	rc = 0;
done:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	json_decref(h);
	json_decref(c);
	free(hdr);
	free(body);
	free(sigraw);
	return rc;
}
