/* proxy.h - the node's Ingress controller: an HTTP/1.1 (and HTTPS) reverse proxy routing
 * by the Ingress routing table (route.h) to Services' ready endpoints.
 *
 * Threads (docs/DESIGN.md):
 *   informers (4)  Ingresses, Services, EndpointSlices, Secrets: mark the table dirty and
 *                  wake the loop (eventfd)
 *   loop           one epoll loop owning every socket: listeners, client connections,
 *                  upstream connections and their keep-alive pools; it rebuilds the
 *                  table when woken (pure, ~1 ms per 1,000 rules) and never blocks
 *
 * Per request: the head is parsed (http/http.c's parser), routed by Host and path, sent
 * to an endpoint (cookie affinity, else round robin) over a pooled keep-alive connection
 * or a new one, with X-Forwarded-For/-Proto/-Host/-Port and X-Real-IP; a refused connect
 * moves to another endpoint; an idempotent request without body whose upstream fails
 * before any response byte is retried on another endpoint (at most 3 tries), so a pod
 * killed mid-run costs the client nothing. `Upgrade: websocket` becomes a byte tunnel
 * after the 101. Timeouts: 60 s for a request head (and between its bytes), 60 s idle
 * keep-alive, 5 s connect, 60 s for the upstream's response. TLS (OpenSSL, TLS 1.2+):
 * the certificate is chosen by SNI from the Ingresses' spec.tls Secrets (kubernetes.io/
 * tls: tls.crt, tls.key), re-read when the Secret changes; otherwise a self-signed
 * default ("Kubernetes Ingress Controller Fake Certificate", as ingress-nginx).
 */
#ifndef INGRESS_PROXY_H
#define INGRESS_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "client/client.h"

struct ing_proxy_opts {
	const struct client_config *cfg; /* the API (copied) */
	const char *const *listen;	 /* addresses (NULL-terminated, at least one) */
	int http_port;			 /* default 80; -1 = no plain HTTP */
	int https_port;			 /* default 443; -1 = no HTTPS */
};

struct ing_proxy;

/* Binds the listeners, starts the informers and the loop. Returns 0 with *out, or a
 * negative errno with the reason in err (address not local, port in use). */
int ing_proxy_start(const struct ing_proxy_opts *o, struct ing_proxy **out, char *err, size_t errlen);
/* The bound ports (after start; useful when 0 was asked). */
int ing_proxy_http_port(const struct ing_proxy *p);
int ing_proxy_https_port(const struct ing_proxy *p);
/* Stops the loop and informers, closes every connection, frees. NULL is a no-op. */
void ing_proxy_stop(struct ing_proxy *p);

#endif
