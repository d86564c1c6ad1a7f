/* test_encrypt.c - the encryption layer over the SQLite store: what the inner store holds
 * is kube's envelope, never the plaintext; get, range, txn results and watch events see
 * the plaintext; a wrong key does not decrypt (the record is returned as stored); keys
 * outside the rules are untouched; reopening with a new first key rewrites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/t.h"
#include "store/store.h"

static void enc_of(struct store_encryption *e, enum store_enc_kind kind, const char *name, unsigned char fill)
{
	memset(e, 0, sizeof(*e));
	e->nrules = 1;
	snprintf(e->rules[0].prefix, sizeof(e->rules[0].prefix), "/registry/core/secrets/");
	e->rules[0].nproviders = 1;
	struct store_enc_provider *p = &e->rules[0].providers[0];
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	memset(p->key, fill, 32);
	p->key_len = 32;
}

static struct store *open_enc(const char *url, const struct store_encryption *e)
{
	struct store_opts o = {.url = url, .encryption = e};
	struct store *s = NULL;
	char err[256];
	int rc = store_open(&o, &s, err, sizeof(err));
	if (rc)
		fprintf(stderr, "store_open: %s\n", err);
	return rc ? NULL : s;
}

static char *raw_value(const char *url, const char *key)
{
	struct store *s = open_enc(url, NULL);
	struct store_kv *kv = NULL;
	char *v = NULL;
	if (s && store_get(s, key, &kv) == 0)
		v = strndup(kv->value,
			    kv->value_len); /* ciphertext may hold NUL bytes: the prefix is what we look at */
	store_kv_unref(kv);
	store_close(s);
	return v;
}

TEST(store_encrypt_round_trip_and_rotation)
{
	char dir[] = "/tmp/store-enc-XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char url[128], path[96];
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	struct store_encryption e1;
	enc_of(&e1, STORE_ENC_AESGCM, "k1", 0x11);
	struct store *s = open_enc(url, &e1);
	ASSERT(s != NULL);
	struct store_watch *w = NULL;
	ASSERT_INT_EQ(store_watch_open(s, "/registry/", 0, &w), 0);
	static const char secret[] = "{\"data\":{\"p\":\"aHVudGVyMg==\"}}";
	struct store_op ops[2] = {
	    {STORE_PUT, "/registry/core/secrets/ns/a", secret, strlen(secret), 0},
	    {STORE_PUT, "/registry/core/configmaps/ns/a", "{\"plain\":1}", 11, 0},
	};
	struct store_result res[2];
	ASSERT_INT_EQ(store_txn(s, ops, 2, res, NULL, NULL), 0);
	ASSERT_STR_EQ(res[0].kv->value, secret); /* the result is plaintext */
	store_kv_unref(res[0].kv);
	store_kv_unref(res[1].kv);
	struct store_kv *kv = NULL;
	ASSERT_INT_EQ(store_get(s, "/registry/core/secrets/ns/a", &kv), 0);
	ASSERT_STR_EQ(kv->value, secret);
	store_kv_unref(kv);
	struct store_list l;
	ASSERT_INT_EQ(store_range(s, "/registry/core/", NULL, 0, 0, &l), 0);
	ASSERT_INT_EQ(l.len, 2);
	ASSERT_STR_EQ(l.kvs[1]->value, secret);
	store_list_fini(&l);
	struct store_event ev;
	ASSERT_INT_EQ(store_watch_next(w, &ev, 5000), 0);
	ASSERT(strcmp(ev.kv->value, secret) == 0 || strcmp(ev.kv->value, "{\"plain\":1}") == 0);
	store_event_fini(&ev);
	store_watch_close(w);
	store_close(s);

	char *raw = raw_value(url, "/registry/core/secrets/ns/a");
	ASSERT(raw && !strncmp(raw, "k8s:enc:aesgcm:v1:k1:", 21));
	ASSERT(!strstr(raw, "aHVudGVyMg"));
	free(raw);
	raw = raw_value(url, "/registry/core/configmaps/ns/a");
	ASSERT_STR_EQ(raw, "{\"plain\":1}"); /* not under a rule: untouched */
	free(raw);

	/* Another key under the same name: GCM refuses it; the record is returned as stored. */
	struct store_encryption bad;
	enc_of(&bad, STORE_ENC_AESGCM, "k1", 0x22);
	s = open_enc(url, &bad);
	ASSERT(s != NULL);
	ASSERT_INT_EQ(store_get(s, "/registry/core/secrets/ns/a", &kv), 0);
	ASSERT(!strncmp(kv->value, "k8s:enc:", 8));
	store_kv_unref(kv);
	store_close(s);

	/* Rotation: aescbc c2 first, k1 second; the open rewrites with c2. */
	struct store_encryption e2;
	enc_of(&e2, STORE_ENC_AESCBC, "c2", 0x33);
	e2.rules[0].providers[1] = e1.rules[0].providers[0];
	e2.rules[0].nproviders = 2;
	s = open_enc(url, &e2);
	ASSERT(s != NULL);
	ASSERT_INT_EQ(store_get(s, "/registry/core/secrets/ns/a", &kv), 0);
	ASSERT_STR_EQ(kv->value, secret);
	store_kv_unref(kv);
	store_close(s);
	raw = raw_value(url, "/registry/core/secrets/ns/a");
	ASSERT(raw && !strncmp(raw, "k8s:enc:aescbc:v1:c2:", 21));
	free(raw);
	char p[160];
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}
