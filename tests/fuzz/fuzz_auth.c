/* fuzz_auth.c - the bytes the authentication and authorization layers take from outside:
 * bearer tokens (auth_jwt_verify must never accept a token it did not sign, nor crash on
 * any text) and RBAC objects (any JSON compiled by rbac_set_add/seal, then asked about).
 * The first byte picks which. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "auth/rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!key)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (size < 1)
		return 0;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	if (data[0] & 1) {
		json_t *claims = NULL;
		if (auth_jwt_verify(s, key, &claims) == 0)
			abort(); /* a forgery: nothing here was signed with key */
		if (claims)
			abort();
	} else {
		json_t *arr = json_loads(s, 0, NULL);
		struct rbac_set *set = rbac_set_new();
		size_t i;
		json_t *o;
		json_array_foreach(arr, i, o) rbac_set_add(set, o);
		if (json_is_object(arr))
			rbac_set_add(set, arr);
		rbac_set_seal(set);
		struct auth_user u;
		auth_user_init(&u, "u");
		auth_user_add_group(&u, "g");
		struct auth_attrs a = {.resource_request = true,
				       .verb = "get",
				       .ns = "n",
				       .group = "",
				       .resource = "pods",
				       .name = "p"};
		char reason[256];
		rbac_authorize(set, &u, &a, reason, sizeof(reason));
		json_t *rules = rbac_user_rules(set, &u, "n");
		rbac_rules_covered(set, &u, "n", rules, NULL);
		json_decref(rules);
		auth_user_fini(&u);
		rbac_set_free(set);
		json_decref(arr);
	}
	free(s);
	return 0;
}
