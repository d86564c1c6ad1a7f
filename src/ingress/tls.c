/* tls.c - SNI-selected certificates from Secrets, and the default one (see tls.h). */
#include "ingress/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/base64.h"
#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "ingress/route.h"

struct entry {
	char *key; /* ns/name */
	char *rv;
	SSL_CTX *ctx; /* NULL: the Secret was unusable at rv */
	struct entry *next;
};

struct ing_tls_store {
	struct informer *secrets;
	const struct ing_table *table;
	SSL_CTX *def;
	struct entry *entries;
};

static SSL_CTX *ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* One session id context for every context, so a session begun under the default
	 * context survives the SNI switch and resumes. */
	static const unsigned char sid[] = "svcplane-ingress";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	return ctx;
}

static int self_signed(SSL_CTX *ctx)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	int rc = -1;
	if (!key || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Acme Co", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"Kubernetes Ingress Controller Fake Certificate",
				   -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto out;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* A context from a kubernetes.io/tls Secret's data, or NULL (reason in err). */
static SSL_CTX *ctx_from_secret(const json_t *secret, char *err, size_t errlen)
{
	const json_t *data = json_object_get(secret, "data");
	const char *crt64 = json_string_value(json_object_get(data, "tls.crt"));
	const char *key64 = json_string_value(json_object_get(data, "tls.key"));
	if (!crt64 || !key64) {
		snprintf(err, errlen, "no tls.crt or tls.key");
		return NULL;
	}
	unsigned char *crt = NULL, *key = NULL;
	size_t cl = 0, kl = 0;
	SSL_CTX *ctx = NULL;
	BIO *cb = NULL, *kb = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	if (api_base64_decode(crt64, &crt, &cl) < 0 || api_base64_decode(key64, &key, &kl) < 0) {
		snprintf(err, errlen, "data is not base64");
		goto out;
	}
	cb = BIO_new_mem_buf(crt, (int)cl);
	kb = BIO_new_mem_buf(key, (int)kl);
	x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (!x || !pk) {
		snprintf(err, errlen, "tls.crt or tls.key is not PEM");
		goto out;
	}
	ctx = ctx_new();
	if (!ctx || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls.key does not match tls.crt");
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	/* The rest of the chain, if any. */
	X509 *extra;
	while ((extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)))
		if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1)
			X509_free(extra);
	ERR_clear_error();
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	free(crt);
	free(key);
	return ctx;
}

static SSL_CTX *ctx_for(struct ing_tls_store *s, const struct ing_tls *t)
{
	if (!t->secret)
		return NULL;
	json_t *sec = informer_get(s->secrets, t->ns, t->secret);
	if (!sec)
		return NULL;
	const char *rv = api_str(sec, "metadata.resourceVersion");
	char *key = xasprintf("%s/%s", t->ns, t->secret);
	struct entry *e = s->entries;
	while (e && strcmp(e->key, key))
		e = e->next;
	if (e && rv && e->rv && !strcmp(e->rv, rv)) {
		free(key);
		json_decref(sec);
		return e->ctx;
	}
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->key = key;
		e->next = s->entries;
		s->entries = e;
	} else {
		free(key);
	}
	SSL_CTX_free(e->ctx);
	free(e->rv);
	e->rv = xstrdup(rv ? rv : "");
	char err[256] = "";
	e->ctx = ctx_from_secret(sec, err, sizeof(err));
	if (!e->ctx)
		log_warn("ingress: Secret %s (resourceVersion %s) not usable for TLS: %s", e->key, e->rv,
			 err);
	json_decref(sec);
	return e->ctx;
}

static int on_sni(SSL *ssl, int *alert, void *arg)
{
	struct ing_tls_store *s = arg;
	(void)alert;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const struct ing_tls *t = name ? ing_table_tls(s->table, name) : NULL;
	SSL_CTX *ctx = t ? ctx_for(s, t) : NULL;
	if (ctx)
		SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

struct ing_tls_store *ing_tls_store_new(struct informer *secrets, char *err, size_t errlen)
{
	struct ing_tls_store *s = xcalloc(1, sizeof(*s));
	s->secrets = secrets;
	s->def = ctx_new();
	if (!s->def || self_signed(s->def) < 0) {
		snprintf(err, errlen, "making the default certificate failed");
		ing_tls_store_free(s);
		return NULL;
	}
	SSL_CTX_set_tlsext_servername_callback(s->def, on_sni);
	SSL_CTX_set_tlsext_servername_arg(s->def, s);
	return s;
}

void ing_tls_store_free(struct ing_tls_store *s)
{
	if (!s)
		return;
	for (struct entry *e = s->entries, *n; e; e = n) {
		n = e->next;
		SSL_CTX_free(e->ctx);
		free(e->key);
		free(e->rv);
		free(e);
	}
	SSL_CTX_free(s->def);
	free(s);
}

void ing_tls_store_set_table(struct ing_tls_store *s, const struct ing_table *t)
{
	if (s)
		s->table = t;
}

SSL *ing_tls_new_ssl(struct ing_tls_store *s)
{
	return s ? SSL_new(s->def) : NULL;
}
