/* test_jwt.c - ES256 compact JWS: round trip, and every way a token must be refused. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "harness/t.h"

TEST(jwt_sign_verify_round_trip)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *kid = auth_jwt_kid(k);
	ASSERT(kid && strlen(kid) == 43); /* 32 bytes, base64url without padding */
	json_t *c = json_pack("{s:s, s:I, s:[s]}", "sub", "system:serviceaccount:a:b", "exp",
			      (json_int_t)2000000000, "aud", "x");
	char *t = auth_jwt_sign(c, k, kid);
	ASSERT(t != NULL);
	ASSERT(auth_jwt_shaped(t));
	ASSERT(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(t));
	json_t *got = NULL;
	ASSERT_INT_EQ(auth_jwt_verify(t, k, &got), 0);
	ASSERT(json_equal(got, c));
	json_decref(got);
	/* Another key, a changed payload, a changed signature: refused. */
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ASSERT_INT_EQ(auth_jwt_verify(t, k2, &got), -EACCES);
	ASSERT(got == NULL);
	char *dot = strchr(t, '.');
	char *evil = strdup(t);
	evil[dot - t + 2] = evil[dot - t + 2] == 'A' ? 'B' : 'A';
	ASSERT(auth_jwt_verify(evil, k, &got) < 0);
	strcpy(evil, t);
	size_t n = strlen(evil);
	evil[n - 2] = evil[n - 2] == 'A' ? 'B' : 'A';
	ASSERT(auth_jwt_verify(evil, k, &got) < 0);
	/* The same signature with non-zero unused bits in its last character. */
	strcpy(evil, t);
	char *last = evil + n - 1;
	*last = *last == 'A' ? 'B' : *last == 'Q' ? 'R' : *last == 'g' ? 'h' : 'x';
	ASSERT(auth_jwt_verify(evil, k, &got) < 0);
	free(evil);
	EVP_PKEY_free(k2);
	free(t);
	free(kid);
	json_decref(c);
	EVP_PKEY_free(k);
}

TEST(jwt_malformed)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *got = NULL;
	static const char *const bad[] = {
	    "",
	    "abc",
	    "a.b",
	    "a.b.c.d",
	    ".b.c",
	    "a..c",
	    "a.b.",
	    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",	 /* alg none, no signature */
	    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA", /* HS256 */
	    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA", /* ES256, short signature */
	    "eyJhbGciOiJFUzI1NiJ9.W10.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* claims [] */
	    "e+J.e/J.AAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT(auth_jwt_verify(bad[i], k, &got) < 0);
		ASSERT(got == NULL);
	}
	char *huge = malloc(20000);
	memset(huge, 'a', 19999);
	huge[19999] = 0;
	huge[10] = huge[20] = '.';
	ASSERT_INT_EQ(auth_jwt_verify(huge, k, &got), -EBADMSG);
	free(huge);
	EVP_PKEY_free(k);
}
