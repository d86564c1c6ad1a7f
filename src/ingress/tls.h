/* tls.h - the Ingress proxy's TLS: one OpenSSL context per certificate, chosen by SNI.
 *
 * Owned and used by the proxy's loop thread only. The default context carries a
 * self-signed certificate made at start ("Kubernetes Ingress Controller Fake
 * Certificate", as ingress-nginx names its own); the SNI callback looks the name up in the
 * current routing table's spec.tls hosts and builds (once per Secret resourceVersion, so
 * a changed Secret is picked up by the next handshake, no restart) a context from the
 * Secret's tls.crt and tls.key. TLS 1.2 and 1.3 only. A Secret that is missing or
 * unusable leaves the default certificate in place (and is logged once per version).
 */
#ifndef INGRESS_TLS_H
#define INGRESS_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct informer;
struct ing_table;
struct ing_tls_store;

/* A store reading Secrets from secrets (borrowed, must outlive the store). NULL with err
 * when OpenSSL cannot make the default certificate. */
struct ing_tls_store *ing_tls_store_new(struct informer *secrets, char *err, size_t errlen);
void ing_tls_store_free(struct ing_tls_store *s);
/* The table whose spec.tls the SNI callback reads (borrowed until the next call). */
void ing_tls_store_set_table(struct ing_tls_store *s, const struct ing_table *t);
/* A server-side SSL for one connection (the caller frees it), or NULL. */
SSL *ing_tls_new_ssl(struct ing_tls_store *s);

#endif
