/* encrypt.c - encryption at rest as a layer over a store backend (see store.h,
 * struct store_encryption).
 *
 * The layer is itself a backend: it forwards every call to the inner store, encrypting
 * the values of PUTs under a rule's prefix on the way in and decrypting records on the
 * way out (get, range, txn results, watch events), so nothing above the store knows. The
 * inner store (and its in-memory cache, and its history) only ever holds ciphertext for
 * those keys. A record that no provider of its rule can read (unknown key name, bad
 * tag) is returned as stored, which is not JSON, so the API server leaves it out of
 * lists and names it at start-up (apiserver__check_stored); it is never returned as
 * plaintext of another key.
 *
 * Key rotation by rewrite: at open, every record under a rule's prefix that is not in
 * the first provider's form is read and written back (compare-and-swap on its mod_rev),
 * so putting a new key first and restarting re-encrypts everything with it; the old key
 * may be dropped after that. Older revisions kept for watch history keep the form they
 * were written in until compacted.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "store/backend.h"

struct enc_store {
	struct store base;
	struct store *inner;
	struct store_encryption enc;
};

struct enc_watch {
	struct store_watch base;
	struct store_watch *inner;
	struct enc_store *s;
};

static const struct store_enc_rule *rule_for(const struct enc_store *s, const char *key)
{
	for (size_t i = 0; i < s->enc.nrules; i++)
		if (!strncmp(key, s->enc.rules[i].prefix, strlen(s->enc.rules[i].prefix)))
			return &s->enc.rules[i];
	return NULL;
}

static void tag_of(const struct store_enc_provider *p, char *out, size_t len)
{
	snprintf(out, len, "k8s:enc:%s:v1:%s:", p->kind == STORE_ENC_AESGCM ? "aesgcm" : "aescbc", p->name);
}

static const EVP_CIPHER *cipher(const struct store_enc_provider *p)
{
	bool gcm = p->kind == STORE_ENC_AESGCM;
	switch (p->key_len) {
	case 16:
		return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
	case 24:
		return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
	default:
		return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
	}
}

/* The encrypted form of v for key under provider p (heap, *outlen); NULL on failure. */
static char *seal(const struct store_enc_provider *p, const char *key, const char *v, size_t n,
		  size_t *outlen)
{
	char tag[128];
	tag_of(p, tag, sizeof(tag));
	size_t tl = strlen(tag), ivl = p->kind == STORE_ENC_AESGCM ? 12 : 16;
	unsigned char *out = xmalloc(tl + ivl + n + 32 + 16);
	memcpy(out, tag, tl);
	unsigned char *iv = out + tl, *ct = iv + ivl;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0,
	    ok =
		c && RAND_bytes(iv, (int)ivl) == 1 && EVP_EncryptInit_ex(c, cipher(p), NULL, p->key, iv) == 1;
	if (ok && p->kind == STORE_ENC_AESGCM)
		ok = EVP_EncryptUpdate(c, NULL, &l1, (const unsigned char *)key, (int)strlen(key)) == 1;
	ok = ok && EVP_EncryptUpdate(c, ct, &l1, (const unsigned char *)v, (int)n) == 1 &&
	     EVP_EncryptFinal_ex(c, ct + l1, &l2) == 1;
	size_t total = tl + ivl + (size_t)l1 + (size_t)l2;
	if (ok && p->kind == STORE_ENC_AESGCM) {
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + total) == 1;
		total += 16;
	}
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = total;
	return (char *)out;
}

static const struct store_enc_provider plain_text = {.kind = STORE_ENC_IDENTITY};

/* The plaintext of v (heap, *outlen) when a provider of r wrote it: NULL with *by set when
 * v is not encrypted at all (read as it is, as kube's identity provider reads it, so a
 * store from before encryption was turned on stays readable and is rewritten at the next
 * open), NULL with *by NULL when no provider can read it. */
static char *open_value(const struct store_enc_rule *r, const char *key, const char *v, size_t n,
			size_t *outlen, const struct store_enc_provider **by)
{
	*by = NULL;
	if (n < 8 || memcmp(v, "k8s:enc:", 8) != 0) {
		*by = &plain_text;
		return NULL;
	}
	for (size_t i = 0; i < r->nproviders; i++) {
		const struct store_enc_provider *p = &r->providers[i];
		if (p->kind == STORE_ENC_IDENTITY)
			continue;
		char tag[128];
		tag_of(p, tag, sizeof(tag));
		size_t tl = strlen(tag), ivl = p->kind == STORE_ENC_AESGCM ? 12 : 16;
		size_t extra = p->kind == STORE_ENC_AESGCM ? 16 : 0;
		if (n < tl + ivl + extra || memcmp(v, tag, tl) != 0)
			continue;
		const unsigned char *iv = (const unsigned char *)v + tl, *ct = iv + ivl;
		size_t ctl = n - tl - ivl - extra;
		unsigned char *out = xmalloc(ctl + 32 + 1);
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int l1 = 0, l2 = 0, ok = c && EVP_DecryptInit_ex(c, cipher(p), NULL, p->key, iv) == 1;
		if (ok && p->kind == STORE_ENC_AESGCM)
			ok = EVP_DecryptUpdate(c, NULL, &l1, (const unsigned char *)key, (int)strlen(key)) ==
				 1 &&
			     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(ct + ctl)) == 1;
		ok = ok && EVP_DecryptUpdate(c, out, &l1, ct, (int)ctl) == 1 &&
		     EVP_DecryptFinal_ex(c, out + l1, &l2) == 1;
		EVP_CIPHER_CTX_free(c);
		if (!ok) {
			free(out);
			return NULL;
		}
		*outlen = (size_t)l1 + (size_t)l2;
		out[*outlen] = 0;
		*by = p;
		return (char *)out;
	}
	return NULL;
}

/* Replaces *kv by its decrypted copy when it is encrypted under a rule. */
static void reveal(struct enc_store *s, struct store_kv **kv)
{
	if (!*kv)
		return;
	const struct store_enc_rule *r = rule_for(s, (*kv)->key);
	if (!r)
		return;
	size_t n = 0;
	const struct store_enc_provider *by;
	char *plain = open_value(r, (*kv)->key, (*kv)->value, (*kv)->value_len, &n, &by);
	if (!plain) {
		if (!by)
			log_error("store: %s cannot be decrypted with the configured keys", (*kv)->key);
		return;
	}
	struct store_kv *d = store__kv_new((*kv)->key, strlen((*kv)->key), plain, n, (*kv)->create_rev,
					   (*kv)->mod_rev, (*kv)->version);
	free(plain);
	store_kv_unref(*kv);
	*kv = d;
}

static void enc_close(struct store *base)
{
	struct enc_store *s = (struct enc_store *)base;
	store_close(s->inner);
	OPENSSL_cleanse(&s->enc, sizeof(s->enc));
	free(s);
}

static int enc_sync(struct store *base, int64_t *rev)
{
	return store_sync(((struct enc_store *)base)->inner, rev);
}

static int64_t enc_rev(struct store *base)
{
	return store_rev(((struct enc_store *)base)->inner);
}

static int64_t enc_compact_rev(struct store *base)
{
	return store_compact_rev(((struct enc_store *)base)->inner);
}

static int enc_get(struct store *base, const char *key, struct store_kv **out)
{
	struct enc_store *s = (struct enc_store *)base;
	int rc = store_get(s->inner, key, out);
	if (rc == 0)
		reveal(s, out);
	return rc;
}

static int enc_range(struct store *base, const char *prefix, const char *start_after, size_t limit,
		     int64_t rev, struct store_list *out)
{
	struct enc_store *s = (struct enc_store *)base;
	int rc = store_range(s->inner, prefix, start_after, limit, rev, out);
	for (size_t i = 0; rc == 0 && i < out->len; i++)
		reveal(s, &out->kvs[i]);
	return rc;
}

static int enc_txn(struct store *base, const struct store_op *ops, size_t n, struct store_result *res,
		   int64_t *rev, size_t *failed_op)
{
	struct enc_store *s = (struct enc_store *)base;
	struct store_op *copy = xmalloc(n * sizeof(*copy));
	char **owned = xcalloc(n, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		copy[i] = ops[i];
		const struct store_enc_rule *r = ops[i].kind == STORE_PUT ? rule_for(s, ops[i].key) : NULL;
		if (!r || r->providers[0].kind == STORE_ENC_IDENTITY)
			continue;
		size_t len = 0;
		owned[i] = seal(&r->providers[0], ops[i].key, ops[i].value ? ops[i].value : "",
				ops[i].value_len, &len);
		if (!owned[i]) {
			rc = -EIO;
			*failed_op = i;
			break;
		}
		copy[i].value = owned[i];
		copy[i].value_len = len;
	}
	if (rc == 0)
		rc = store_txn(s->inner, copy, n, res, rev, failed_op);
	for (size_t i = 0; rc == 0 && res && i < n; i++)
		reveal(s, &res[i].kv);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	free(copy);
	return rc;
}

static int enc_watch_open(struct store *base, const char *prefix, int64_t after_rev,
			  struct store_watch **out);

static int enc_watch_next(struct store_watch *wb, struct store_event *ev, int timeout_ms)
{
	struct enc_watch *w = (struct enc_watch *)wb;
	int rc = store_watch_next(w->inner, ev, timeout_ms);
	if (rc == 0) {
		reveal(w->s, &ev->kv);
		reveal(w->s, &ev->prev);
	}
	return rc;
}

static void enc_watch_cancel(struct store_watch *wb)
{
	store_watch_cancel(((struct enc_watch *)wb)->inner);
}

static void enc_watch_close(struct store_watch *wb)
{
	struct enc_watch *w = (struct enc_watch *)wb;
	store_watch_close(w->inner);
	free(w);
}

static const struct store__ops enc_ops = {
    .name = "encrypt",
    .close = enc_close,
    .rev = enc_rev,
    .compact_rev = enc_compact_rev,
    .sync = enc_sync,
    .get = enc_get,
    .range = enc_range,
    .txn = enc_txn,
    .watch_open = enc_watch_open,
    .watch_next = enc_watch_next,
    .watch_cancel = enc_watch_cancel,
    .watch_close = enc_watch_close,
};

static int enc_watch_open(struct store *base, const char *prefix, int64_t after_rev, struct store_watch **out)
{
	struct enc_store *s = (struct enc_store *)base;
	struct store_watch *inner = NULL;
	int rc = store_watch_open(s->inner, prefix, after_rev, &inner);
	if (rc < 0)
		return rc;
	struct enc_watch *w = xcalloc(1, sizeof(*w));
	w->base.ops = &enc_ops;
	w->inner = inner;
	w->s = s;
	*out = &w->base;
	return 0;
}

/* Writes back every record under r's prefix that r's first provider did not write. */
static int rewrite(struct enc_store *s, const struct store_enc_rule *r, size_t *count)
{
	struct store_list l;
	int rc = store_range(s->inner, r->prefix, NULL, 0, 0, &l);
	if (rc < 0)
		return rc;
	const struct store_enc_provider *first = &r->providers[0];
	char tag[128] = "";
	if (first->kind != STORE_ENC_IDENTITY)
		tag_of(first, tag, sizeof(tag));
	for (size_t i = 0; i < l.len; i++) {
		const struct store_kv *kv = l.kvs[i];
		bool enc = kv->value_len >= 8 && !memcmp(kv->value, "k8s:enc:", 8);
		bool current = first->kind == STORE_ENC_IDENTITY
				   ? !enc
				   : kv->value_len >= strlen(tag) && !memcmp(kv->value, tag, strlen(tag));
		if (current)
			continue;
		size_t n = 0;
		const struct store_enc_provider *by;
		char *plain = open_value(r, kv->key, kv->value, kv->value_len, &n, &by);
		if (!plain && !by) {
			log_error("store: %s cannot be decrypted with the configured keys: left as it is",
				  kv->key);
			continue;
		}
		struct store_op op = {.kind = STORE_PUT,
				      .key = kv->key,
				      .value = plain ? plain : kv->value,
				      .value_len = plain ? n : kv->value_len,
				      .expect_mod_rev = kv->mod_rev};
		struct store_result res = {0};
		int w = enc_txn(&s->base, &op, 1, &res, NULL, NULL);
		store_kv_unref(res.kv);
		free(plain);
		if (w == 0)
			(*count)++;
	}
	store_list_fini(&l);
	return 0;
}

int store__encrypt_open(struct store *inner, const struct store_encryption *enc, struct store **out,
			char *err, size_t errlen)
{
	struct enc_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &enc_ops;
	s->inner = inner;
	s->enc = *enc;
	for (size_t i = 0; i < s->enc.nrules; i++) {
		const struct store_enc_rule *r = &s->enc.rules[i];
		if (!r->nproviders) {
			snprintf(err, errlen, "encryption: %s has no provider", r->prefix);
			enc_close(&s->base);
			return -EINVAL;
		}
		size_t count = 0;
		int rc = rewrite(s, r, &count);
		if (rc < 0) {
			snprintf(err, errlen, "encryption: rewriting %s: %s", r->prefix, strerror(-rc));
			enc_close(&s->base);
			return rc;
		}
		if (count)
			log_info("store: rewrote %zu records under %s with the first provider", count,
				 r->prefix);
	}
	*out = &s->base;
	return 0;
}
