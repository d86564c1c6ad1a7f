/* stream.c - the pods/exec and pods/portforward subresources: the client's upgrade
 * (WebSocket or SPDY/3.1) relayed to the node agent's exec or port-forward endpoint
 * (node/execsrv.h, node/pfsrv.h), as kube-apiserver's upgrade-aware proxy relays to the
 * kubelet. Port-forward skips the container step and goes to /portForward/{ns}/{pod}.
 *
 * Steps (kube-apiserver's ExecREST and ExecLocation):
 *   1. the pod (404), its container (the `container` parameter, or the only one: 400
 *      otherwise, podlog.c's rules), a host (400 `pod p does not have a host assigned`)
 *      and a phase that is not Succeeded/Failed (400 `cannot exec into a container in a
 *      completed pod; current phase is Succeeded`);
 *   2. a TLS connection to the node's kubelet port with the server's kubelet client
 *      certificate, verifying the node against the cluster CA (podlog.c's channel; the
 *      admin token is never sent); the request goes out as
 *      GET /exec/{ns}/{pod}/{container}?{the client's query} with the client's upgrade
 *      headers (Upgrade, Connection, Sec-WebSocket-*, X-Stream-Protocol-Version);
 *   3. the node's answer head: a 101 goes to our client as it came (the node computed
 *      Sec-WebSocket-Accept from the client's key), then bytes are relayed both ways
 *      until either side closes; any other answer becomes a Status with the node's text
 *      (400 BadRequest, 404 NotFound, else 500 InternalError).
 *
 * The relay is one loop on the connection's thread: both sides are TLS, whose buffered
 * bytes poll cannot see, so each side is read until it has nothing (EAGAIN) before the
 * loop polls both sockets. Writes block (a slow reader slows the writer: back-pressure).
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"

#define HEAD_MAX 16384
#define NODE_HEAD_WAIT_MS 30000
#define RELAY_BLOCK 65536

static bool forwarded_header(const char *name)
{
	static const char *const names[] = {"Upgrade",
					    "Connection",
					    "Sec-WebSocket-Key",
					    "Sec-WebSocket-Version",
					    "Sec-WebSocket-Protocol",
					    "X-Stream-Protocol-Version"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i]))
			return true;
	return false;
}

static int wait_sock(curl_socket_t fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	return poll(&p, 1, ms);
}

/* Sends all of p to the node. */
static int node_send(CURL *curl, curl_socket_t fd, const char *p, size_t n)
{
	while (n) {
		size_t sent = 0;
		CURLcode cc = curl_easy_send(curl, p, n, &sent);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(fd, POLLOUT, 60000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (cc != CURLE_OK)
			return -EPIPE;
		p += sent;
		n -= sent;
	}
	return 0;
}

static void relay(struct http_conn *c, CURL *curl, curl_socket_t fd)
{
	char *blk = xmalloc(RELAY_BLOCK);
	for (;;) {
		bool progress = false;
		ssize_t r = http_conn_raw_read(c, blk, RELAY_BLOCK, 0);
		if (r > 0) {
			if (node_send(curl, fd, blk, (size_t)r) < 0)
				break;
			progress = true;
		} else if (r != -EAGAIN) {
			break;
		}
		size_t got = 0;
		CURLcode cc = curl_easy_recv(curl, blk, RELAY_BLOCK, &got);
		if (cc == CURLE_OK) {
			if (got == 0 || http_conn_raw_write(c, blk, got) < 0)
				break;
			progress = true;
		} else if (cc != CURLE_AGAIN) {
			break;
		}
		if (progress)
			continue;
		struct pollfd pf[2] = {{.fd = http_conn_fd(c), .events = POLLIN},
				       {.fd = fd, .events = POLLIN}};
		poll(pf, 2, 1000);
	}
	free(blk);
}

/* Reads the node's answer head (and what came with it) into b. Returns the head's length
 * or a negative code. */
static int node_head(CURL *curl, curl_socket_t fd, struct buf *b)
{
	int64_t deadline = clock_mono_ms() + NODE_HEAD_WAIT_MS;
	for (;;) {
		char *end = b->len ? memmem(b->data, b->len, "\r\n\r\n", 4) : NULL;
		if (end)
			return (int)(end - b->data) + 4;
		if (b->len >= HEAD_MAX)
			return -E2BIG;
		buf_reserve(b, 4096);
		size_t got = 0;
		CURLcode cc = curl_easy_recv(curl, b->data + b->len, b->cap - b->len - 1, &got);
		if (cc == CURLE_OK && got == 0)
			return -ECONNRESET;
		if (cc == CURLE_OK) {
			b->len += got;
			b->data[b->len] = 0;
			continue;
		}
		if (cc != CURLE_AGAIN)
			return -EIO;
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		wait_sock(fd, POLLIN, left > 1000 ? 1000 : (int)left);
	}
}

/* A non-101 answer of the node (head and whatever body came within a short wait) as a
 * Status to our client. */
static void node_error(struct http_conn *c, CURL *curl, curl_socket_t fd, struct buf *b, int hl)
{
	int code = 0;
	sscanf(b->data, "HTTP/1.%*d %d", &code);
	const char *cl = strcasestr(b->data, "\r\nContent-Length:");
	long want = cl && cl < b->data + hl ? strtol(cl + 17, NULL, 10) : 0;
	if (want < 0 || want > HEAD_MAX)
		want = HEAD_MAX;
	int64_t deadline = clock_mono_ms() + 5000;
	while ((long)(b->len - (size_t)hl) < want && clock_mono_ms() < deadline) {
		buf_reserve(b, 4096);
		size_t got = 0;
		CURLcode cc = curl_easy_recv(curl, b->data + b->len, b->cap - b->len - 1, &got);
		if (cc == CURLE_OK && got) {
			b->len += got;
			b->data[b->len] = 0;
		} else if (cc == CURLE_AGAIN) {
			wait_sock(fd, POLLIN, 500);
		} else {
			break;
		}
	}
	char *text = xasprintf("%.*s", (int)(b->len - (size_t)hl), b->data + hl);
	size_t tl = strlen(text);
	while (tl && (text[tl - 1] == '\n' || text[tl - 1] == '\r'))
		text[--tl] = 0;
	if (code == 400)
		http_send_status(c, 400, "BadRequest", text);
	else if (code == 404)
		http_send_status(c, 404, "NotFound", text);
	else {
		char *m = xasprintf("Internal error occurred: error from the node (%d): %s", code, text);
		http_send_status(c, 500, "InternalError", m);
		free(m);
	}
	free(text);
}

/* container NULL: port-forward; else exec or attach (q->sub). */
static void connect_node(struct rq *q, const char *container, const char *host, int port)
{
	CURL *curl = curl_easy_init();
	bool v6 = strchr(host, ':') != NULL;
	char *hostport = xasprintf("%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
	char *url = xasprintf("https://%s/", hostport);
	char *ens = curl_easy_escape(curl, q->ns, 0), *epod = curl_easy_escape(curl, q->name, 0);
	char *ectr = curl_easy_escape(curl, container ? container : "", 0);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf req, head;
	buf_init(&req);
	buf_init(&head);
	apiserver__kubelet_curl(q, curl, url);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cc = curl_easy_perform(curl);
	curl_socket_t fd = CURL_SOCKET_BAD;
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &fd);
	if (cc != CURLE_OK || fd == CURL_SOCKET_BAD) {
		char *m = xasprintf("error dialing backend: dial tcp %s: %s", hostport,
				    *errbuf ? errbuf : curl_easy_strerror(cc));
		http_send_status(q->c, 500, "InternalError", m);
		free(m);
		goto out;
	}
	if (container)
		buf_printf(&req, "GET /%s/%s/%s/%s?%s HTTP/1.1\r\n", q->sub, ens, epod, ectr,
			   q->r->query ? q->r->query : "");
	else
		buf_printf(&req, "GET /portForward/%s/%s HTTP/1.1\r\n", ens, epod);
	buf_printf(&req, "Host: %s\r\nUser-Agent: svcplane-apiserver\r\n", hostport);
	for (size_t i = 0; i < q->r->nheaders; i++)
		if (forwarded_header(q->r->headers[i].name))
			buf_printf(&req, "%s: %s\r\n", q->r->headers[i].name, q->r->headers[i].value);
	buf_printf(&req, "\r\n");
	int hl;
	if (node_send(curl, fd, req.data, req.len) < 0 || (hl = node_head(curl, fd, &head)) < 0) {
		char *m = xasprintf("error talking to the node at %s: %s", hostport,
				    *errbuf ? errbuf : "no answer to the upgrade");
		http_send_status(q->c, 500, "InternalError", m);
		free(m);
		goto out;
	}
	if (strncmp(head.data, "HTTP/1.1 101", 12) != 0) {
		node_error(q->c, curl, fd, &head, hl);
		goto out;
	}
	if (http_conn_upgrade(q->c, head.data, (size_t)hl) == 0 &&
	    (head.len == (size_t)hl || http_conn_raw_write(q->c, head.data + hl, head.len - (size_t)hl) == 0))
		relay(q->c, curl, fd);
out:
	buf_fini(&req);
	buf_fini(&head);
	curl_free(ens);
	curl_free(epod);
	curl_free(ectr);
	free(url);
	free(hostport);
	curl_easy_cleanup(curl);
}

void apiserver__pod_exec(struct rq *q, bool portforward)
{
	json_t *pod = apiserver__pod_read(q);
	if (!pod)
		return;
	char *want = http_query_get(q->r->query, "container");
	char *container = portforward ? xstrdup("") : apiserver__pod_container(q, pod, want);
	const char *node_name = api_str(pod, "spec.nodeName");
	const char *phase = api_str(pod, "status.phase");
	char *addr = NULL;
	int port = 0;
	if (!container) {
		/* answered */
	} else if (!node_name || !*node_name) {
		char *m = xasprintf("pod %s does not have a host assigned", q->name);
		http_send_status(q->c, 400, "BadRequest", m);
		free(m);
	} else if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		char *m = portforward
			      ? xasprintf("pod %s is not running (phase %s)", q->name, phase)
			      : xasprintf("cannot %s a container in a completed pod; current phase is %s",
					  !strcmp(q->sub, "attach") ? "attach" : "exec into", phase);
		http_send_status(q->c, 400, "BadRequest", m);
		free(m);
	} else if (apiserver__node_location(q, node_name, &addr, &port) == 0) {
		connect_node(q, portforward ? NULL : container, addr, port);
	}
	free(addr);
	free(container);
	free(want);
	json_decref(pod);
}
