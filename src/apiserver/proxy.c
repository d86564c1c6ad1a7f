/* proxy.c - the proxy subresources, as kube-apiserver serves them:
 *
 *   /api/v1/namespaces/{ns}/services/[scheme:]{name}[:port]/proxy/{path}
 *   /api/v1/namespaces/{ns}/pods/[scheme:]{name}[:port]/proxy/{path}
 *   /api/v1/nodes/{name}[:port]/proxy/{path}
 *
 * (what `kubectl proxy` URLs and `kubectl cluster-info` point at). The request (method,
 * query, body, Content-Type and Accept) goes to:
 *   services  a ready endpoint of the service port named (by name or number; the only
 *             port when none is named), from the service's EndpointSlices; none ready is
 *             kube's 503 `no endpoints available for service "name"`;
 *   pods      the pod IP at the port given (80 when none);
 *   nodes     the node's kubelet port over TLS with the server's kubelet client
 *             certificate (podlog.c's channel), e.g. nodes/n1/proxy/containerLogs/...
 * The answer comes back with its status and Content-Type, streamed. A target that cannot
 * be reached is 503 `error trying to reach service: ...`, as kube says it.
 * Redirects are not followed; the target's other headers are not passed on.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/mem.h"
#include "store/store.h"

struct pxy {
	struct http_conn *c;
	CURL *curl;
	char ctype[128];
	bool started, gone;
};

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
	struct pxy *x = ud;
	size_t len = size * n;
	if (len > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		const char *v = p + 13;
		while (*v == ' ')
			v++;
		size_t vl = strcspn(v, "\r\n");
		snprintf(x->ctype, sizeof(x->ctype), "%.*s", (int)vl, v);
	}
	return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct pxy *x = ud;
	size_t len = size * n;
	if (!x->started) {
		long code = 0;
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
		x->started = true;
		if (http_stream_begin(x->c, (int)code, x->ctype[0] ? x->ctype : "application/octet-stream",
				      NULL) < 0)
			x->gone = true;
	}
	if (x->gone || http_stream_write(x->c, p, len) < 0) {
		x->gone = true;
		return 0;
	}
	return len;
}

static void forward(struct rq *q, const char *url, bool kubelet)
{
	CURL *curl = curl_easy_init();
	struct pxy x = {.c = q->c, .curl = curl};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	const char *ct = http_req_header(q->r, "Content-Type"), *acc = http_req_header(q->r, "Accept");
	char *l1 = ct ? xasprintf("Content-Type: %s", ct) : NULL,
	     *l2 = acc ? xasprintf("Accept: %s", acc) : NULL;
	if (l1)
		h = curl_slist_append(h, l1);
	if (l2)
		h = curl_slist_append(h, l2);
	h = curl_slist_append(h, "Expect:");
	if (kubelet) {
		apiserver__kubelet_curl(q, curl, url);
	} else {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L); /* kube does not verify pods either */
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	}
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, q->r->method);
	if (q->r->body_len || !strcmp(q->r->method, "POST") || !strcmp(q->r->method, "PUT") ||
	    !strcmp(q->r->method, "PATCH")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, q->r->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->r->body_len);
	}
	if (!strcmp(q->r->method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	CURLcode cc = curl_easy_perform(curl);
	if (!x.started && cc == CURLE_OK) {
		long code = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		http_send(q->c, (int)code, x.ctype[0] ? x.ctype : "text/plain", "", "", 0);
	} else if (!x.started) {
		char *m =
		    xasprintf("error trying to reach service: %s", *errbuf ? errbuf : curl_easy_strerror(cc));
		http_send_status(q->c, 503, "ServiceUnavailable", m);
		free(m);
	}
	curl_slist_free_all(h);
	free(l1);
	free(l2);
	curl_easy_cleanup(curl);
}

static json_t *read_obj(struct rq *q, const char *plural, const char *ns, const char *name)
{
	const struct api_kind *k = api_kind_by_plural("", "v1", plural);
	char *key = apiserver__key(k, ns, name);
	struct store_kv *kv = NULL;
	int rc = store_get(q->as->store, key, &kv);
	free(key);
	json_t *o = rc < 0 ? NULL : apiserver__decode_kv(kv, 0);
	store_kv_unref(kv);
	if (!o) {
		char *m = xasprintf("%s \"%s\" not found", plural, name);
		apiserver__send_status(q->c, rc == -ENOENT ? -ENOENT : (rc < 0 ? rc : -EIO), m,
				       json_pack("{s:s, s:s}", "name", name, "kind", plural));
		free(m);
	}
	return o;
}

/* A ready endpoint address and port of service port sp, or -1. */
static int pick_endpoint(struct rq *q, const char *svc, const json_t *sp, char *addr, size_t alen)
{
	const struct api_kind *k = api_kind_by_plural("discovery.k8s.io", "v1", "endpointslices");
	if (!k)
		return -1;
	char *prefix = apiserver__prefix(k, q->ns);
	struct store_list l = {0};
	int port = -1;
	if (store_range(q->as->store, prefix, NULL, 0, 0, &l) == 0) {
		const char *pname = api_str(sp, "name");
		for (size_t i = 0; i < l.len && port < 0; i++) {
			json_t *s = apiserver__decode_kv(l.kvs[i], 0);
			json_t *labels = api_get(s, "metadata.labels");
			const char *sn =
			    json_string_value(json_object_get(labels, "kubernetes.io/service-name"));
			if (sn && !strcmp(sn, svc)) {
				int num = -1;
				size_t j;
				json_t *p;
				json_array_foreach(json_object_get(s, "ports"), j, p)
				{
					const char *n = api_str(p, "name");
					if ((!n && !pname) || (n && pname && !strcmp(n, pname)) ||
					    (n && !*n && !pname))
						num = (int)json_integer_value(json_object_get(p, "port"));
				}
				json_t *e;
				json_array_foreach(json_object_get(s, "endpoints"), j, e)
				{
					json_t *ready = api_get(e, "conditions.ready");
					const char *a = json_string_value(
					    json_array_get(json_object_get(e, "addresses"), 0));
					if (num > 0 && a && !json_is_false(ready)) {
						snprintf(addr, alen, "%s", a);
						port = num;
						break;
					}
				}
			}
			json_decref(s);
		}
		store_list_fini(&l);
	}
	free(prefix);
	return port;
}

/* scheme://host:port then path and ?qs (qs may be NULL), the host bracketed when it is
 * IPv6. Heap string. */
static char *target_url(const char *scheme, const char *host, const char *port, const char *path,
			const char *qs)
{
	bool v6 = strchr(host, ':');
	return xasprintf("%s://%s%s%s:%s%s%s%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port, path,
			 qs ? "?" : "", qs ? qs : "");
}

void apiserver__proxy(struct rq *q)
{
	/* The rest of the path after ".../{name}/proxy", raw, and the query. */
	const char *t = q->r->target;
	const char *at = strstr(t, "/proxy");
	while (at && at[6] && at[6] != '/' && at[6] != '?')
		at = strstr(at + 1, "/proxy");
	const char *rest = at ? at + 6 : "";
	size_t rl = strcspn(rest, "?");
	char *path = xasprintf("%.*s", (int)rl, rest);
	if (!*path) {
		free(path);
		path = xstrdup("/");
	}
	const char *qs = q->r->query && *q->r->query ? q->r->query : NULL;
	/* [scheme:]name[:port] */
	char *parts[3] = {NULL, NULL, NULL};
	char *dup = xstrdup(q->name), *save = NULL;
	int np = 0;
	for (char *s = strtok_r(dup, ":", &save); s && np < 3; s = strtok_r(NULL, ":", &save))
		parts[np++] = s;
	const char *scheme = np == 3 ? parts[0] : "http", *name = np == 3 ? parts[1] : parts[0];
	const char *port = np == 3 ? parts[2] : np == 2 ? parts[1] : NULL;
	if (!name || (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		http_send_status(q->c, 400, "BadRequest", "invalid proxy target: want [scheme:]name[:port]");
		goto out;
	}
	const char *plural = q->k->plural;
	char *url = NULL;
	bool kubelet = false;
	if (!strcmp(plural, "services")) {
		json_t *svc = read_obj(q, "services", q->ns, name);
		if (!svc)
			goto out;
		json_t *ports = api_get(svc, "spec.ports"), *sp = NULL, *p;
		size_t i;
		json_array_foreach(ports, i, p)
		{
			char num[16];
			snprintf(num, sizeof(num), "%lld",
				 (long long)json_integer_value(json_object_get(p, "port")));
			const char *pn = api_str(p, "name");
			if (!port ? json_array_size(ports) == 1
				  : (!strcmp(num, port) || (pn && !strcmp(pn, port))))
				sp = p;
		}
		char addr[64];
		int ep = sp ? pick_endpoint(q, name, sp, addr, sizeof(addr)) : -1;
		if (ep < 0) {
			char *m = xasprintf("no endpoints available for service \"%s\"", name);
			http_send_status(q->c, 503, "ServiceUnavailable", m);
			free(m);
		} else {
			char pbuf[16];
			snprintf(pbuf, sizeof(pbuf), "%d", ep);
			url = target_url(scheme, addr, pbuf, path, qs);
		}
		json_decref(svc);
	} else if (!strcmp(plural, "pods")) {
		json_t *pod = read_obj(q, "pods", q->ns, name);
		if (!pod)
			goto out;
		const char *ip = api_str(pod, "status.podIP");
		if (!ip || !*ip) {
			char *m = xasprintf("address not allowed: pod %s has no IP yet", name);
			http_send_status(q->c, 503, "ServiceUnavailable", m);
			free(m);
		} else {
			url = target_url(scheme, ip, port ? port : "80", path, qs);
		}
		json_decref(pod);
	} else {
		char *addr = NULL;
		int kp = 0;
		if (apiserver__node_location(q, name, &addr, &kp) == 0) {
			char pbuf[16];
			snprintf(pbuf, sizeof(pbuf), "%d", kp);
			url = target_url("https", addr, port ? port : pbuf, path, qs);
			kubelet = true;
		}
		free(addr);
	}
	if (url)
		forward(q, url, kubelet);
	free(url);
out:
	free(dup);
	free(path);
}
