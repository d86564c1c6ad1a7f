/* podlog.c - the pods/log subresource: GET /api/v1/namespaces/{ns}/pods/{name}/log,
 * proxied to the node's kubelet-style endpoint (node/logsrv.h) as kube-apiserver does.
 *
 * The steps are those of kube-apiserver's pod LogREST and LogLocation
 * (pkg/registry/core/pod/rest/log.go, strategy.go):
 *   1. decode PodLogOptions from the query: a non-integer tailLines, limitBytes or
 *      sinceSeconds and an unparsable sinceTime are 400 BadRequest; booleans are true
 *      unless "0" or "false" (apimachinery's Convert_Slice_string_To_bool);
 *   2. validate them (ValidatePodLogOptions): 422 Invalid `PodLogOptions "p" is invalid: ...`;
 *   3. read the pod (404 `pods "p" not found`), choose the container: the one given must
 *      be in the pod (400 `container c is not valid for pod p`); none given with exactly
 *      one container takes it, more than one is 400 `a container name must be specified
 *      for pod p, choose one of: [init a b]` (init, regular, ephemeral, in that order);
 *   4. a pod without spec.nodeName has no logs yet: 200 with an empty body, as
 *      kube-apiserver answers (an empty location); exec and attach would say "does not
 *      have a host assigned", logs does not;
 *   5. the Node: status.addresses (InternalIP first, then ExternalIP, then Hostname) and
 *      status.daemonEndpoints.kubeletEndpoint.Port (10250 when unset);
 *   6. GET https://<ip>:<port>/containerLogs/<ns>/<pod>/<container>?<options>, showing
 *      the server's client certificate (CN=kube-apiserver-kubelet-client,
 *      O=system:masters; kube-apiserver's --kubelet-client-certificate).
 *
 * TLS: each agent's serving certificate is signed by the cluster CA for its node's
 * addresses (certs.c signs it at the agent's start), and the API server verifies it
 * against that CA and the address it dials (kube-apiserver with
 * --kubelet-certificate-authority). The admin token is never sent: whoever answers on an
 * address a Node object names gets at most a TLS handshake it cannot complete, or, with a
 * cluster-signed certificate, a request it could read anyway. insecureSkipTLSVerifyBackend
 * is accepted and ignored (verification is never skipped).
 *
 * The body is streamed back: with follow, a chunked text/plain response starts as soon as
 * the node answers 2xx and every piece is flushed as it arrives; without, the body is
 * collected (up to WHOLE_MAX, then streamed) and sent whole. The copy ends when the node
 * ends its body, or when our client goes away (checked from curl's progress callback, at
 * least once a second) or the server stops. A non-2xx answer from the node becomes a
 * Status as kube's GenericHttpResponseChecker makes it (400: BadRequest with the node's
 * text; 500: InternalError; 404: NotFound "the server could not find the requested
 * resource ( pods/log p)"), except that a 404 for a container whose status says it has
 * not started yet is kubelet's 400 `container "c" in pod "p" is waiting to start:
 * ContainerCreating`, which our node cannot say because it only knows the log files. A node that cannot be
 * reached is a 500 whose message is Go's `Get "https://...": dial tcp ...: connect: connection refused`;
 * connecting is bounded by CONNECT_TIMEOUT_MS and a non-follow transfer that stalls by STALL_S.
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#define CONNECT_TIMEOUT_MS 5000L
#define STALL_S 30L
#define WHOLE_MAX (4 << 20)
#define ERROR_BODY_MAX 50000 /* kube's maxReadLength */
#define KUBELET_PORT 10250

struct log_opts {
	char *container;
	bool follow, previous, timestamps;
	bool has_tail, has_limit, has_since_s, has_since_t;
	long long tail, limit, since_s;
	char since_t[32]; /* normalised RFC 3339, UTC */
};

static void send_plain_status(struct http_conn *c, int http, const char *reason, const char *message,
			      json_t *details)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
			       "metadata", "status", "Failure", "message", message, "code", http);
	if (reason && *reason)
		json_object_set_new(st, "reason", json_string(reason));
	if (details)
		json_object_set_new(st, "details", details);
	char *body = json_dumps(st, JSON_COMPACT);
	http_send(c, http, "application/json", "", body, strlen(body));
	free(body);
	json_decref(st);
}

/* apimachinery's Convert_Slice_string_To_bool: absent is false, "0" and "false" (any
 * case) are false, anything else is true. */
static bool query_bool(const char *query, const char *name)
{
	char *v = http_query_get(query, name);
	bool b = v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
	free(v);
	return b;
}

/* Go's strconv.ParseInt(s, 10, 64) with its error text. Returns 0 or -EINVAL. */
static int parse_int64(const char *s, long long *out, char *err, size_t errlen)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	bool syntax = !*s || *end || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || (s[0] == '+' && !s[1]);
	if (syntax || errno) {
		snprintf(err, errlen, "strconv.ParseInt: parsing \"%s\": %s", s,
			 syntax ? "invalid syntax" : "value out of range");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void opts_fini(struct log_opts *o)
{
	free(o->container);
}

/* Decodes the query; answers 400 itself and returns < 0 when a value does not parse. */
static int opts_parse(struct rq *q, struct log_opts *o)
{
	memset(o, 0, sizeof(*o));
	const char *qs = q->r->query;
	o->container = http_query_get(qs, "container");
	if (o->container && !*o->container) {
		free(o->container);
		o->container = NULL;
	}
	o->follow = query_bool(qs, "follow");
	o->previous = query_bool(qs, "previous");
	o->timestamps = query_bool(qs, "timestamps");
	static const char *const names[] = {"tailLines", "limitBytes", "sinceSeconds"};
	bool *has[] = {&o->has_tail, &o->has_limit, &o->has_since_s};
	long long *dst[] = {&o->tail, &o->limit, &o->since_s};
	char err[256];
	for (int i = 0; i < 3; i++) {
		char *v = http_query_get(qs, names[i]);
		if (!v)
			continue;
		int rc = parse_int64(v, dst[i], err, sizeof(err));
		free(v);
		if (rc < 0) {
			apiserver__send_status(q->c, -EBADMSG, err, NULL);
			return rc;
		}
		*has[i] = true;
	}
	char *t = http_query_get(qs, "sinceTime");
	if (t && *t) {
		int64_t secs = api_time_parse(t);
		struct tm tm;
		time_t tt = (time_t)secs;
		if (secs == -1 && strcmp(t, "1969-12-31T23:59:59Z") != 0) {
			snprintf(
			    err, sizeof(err),
			    "parsing time \"%.64s\" as \"2006-01-02T15:04:05Z07:00\": not an RFC 3339 time",
			    t);
			free(t);
			apiserver__send_status(q->c, -EBADMSG, err, NULL);
			return -EINVAL;
		}
		gmtime_r(&tt, &tm);
		strftime(o->since_t, sizeof(o->since_t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o->has_since_t = true;
	}
	free(t);
	return 0;
}

/* ValidatePodLogOptions; answers 422 itself and returns false when something is off. */
static bool opts_valid(struct rq *q, const struct log_opts *o)
{
	struct api_errs e;
	api_errs_init(&e);
	if (o->has_tail && o->tail < 0) {
		json_t *v = json_integer(o->tail);
		api_err_invalid(&e, "tailLines", v, "must be greater than or equal to 0");
		json_decref(v);
	}
	if (o->has_limit && o->limit < 1) {
		json_t *v = json_integer(o->limit);
		api_err_invalid(&e, "limitBytes", v, "must be greater than 0");
		json_decref(v);
	}
	if (o->has_since_s && o->has_since_t) {
		api_err_forbidden(&e, "", "at most one of `sinceTime` or `sinceSeconds` may be specified");
	} else if (o->has_since_s && o->since_s < 1) {
		json_t *v = json_integer(o->since_s);
		api_err_invalid(&e, "sinceSeconds", v, "must be greater than 0");
		json_decref(v);
	}
	size_t n = api_errs_count(&e);
	if (!n) {
		api_errs_fini(&e);
		return true;
	}
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "PodLogOptions \"%s\" is invalid: %s", q->name, n > 1 ? "[" : "");
	size_t i;
	json_t *c;
	json_array_foreach(e.causes, i, c)
	{
		const char *f = api_str(c, "field");
		buf_printf(&b, "%s%s%s%s", i ? ", " : "", f && *f ? f : "", f && *f ? ": " : "",
			   api_str(c, "message"));
	}
	if (n > 1)
		buf_putc(&b, ']');
	json_t *d =
	    json_pack("{s:s, s:s, s:O}", "name", q->name, "kind", "PodLogOptions", "causes", e.causes);
	apiserver__send_status(q->c, ERR_INVALID, b.data, d);
	buf_fini(&b);
	api_errs_fini(&e);
	return false;
}

/* Appends the names of containers[] of pod.spec.<field> to names ("a b c"). */
static void add_names(const json_t *pod, const char *field, struct buf *names, const char *want, bool *found)
{
	json_t *arr = json_object_get(json_object_get(pod, "spec"), field);
	size_t i;
	json_t *ct;
	json_array_foreach(arr, i, ct)
	{
		const char *n = api_str(ct, "name");
		if (!n)
			continue;
		buf_printf(names, "%s%s", names->len ? " " : "", n);
		if (want && !strcmp(n, want))
			*found = true;
	}
}

/* Chooses the container (LogLocation's validateContainer). Returns a heap name, or NULL
 * after answering 400. */
char *apiserver__pod_container(struct rq *q, const json_t *pod, const char *want)
{
	struct buf names;
	buf_init(&names);
	bool found = false;
	add_names(pod, "initContainers", &names, want, &found);
	add_names(pod, "containers", &names, want, &found);
	add_names(pod, "ephemeralContainers", &names, want, &found);
	char *out = NULL, *msg = NULL;
	json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
	if (want) {
		if (found)
			out = xstrdup(want);
		else
			msg = xasprintf("container %s is not valid for pod %s", want, q->name);
	} else if (json_array_size(containers) == 1 && api_str(json_array_get(containers, 0), "name")) {
		out = xstrdup(api_str(json_array_get(containers, 0), "name"));
	} else if (json_array_size(containers) == 0) {
		msg = xasprintf("a container name must be specified for pod %s", q->name);
	} else {
		msg = xasprintf("a container name must be specified for pod %s, choose one of: [%s]", q->name,
				names.data ? names.data : "");
	}
	if (msg)
		apiserver__send_status(q->c, -EBADMSG, msg, NULL);
	free(msg);
	buf_fini(&names);
	return out;
}

/* The node's address for the kubelet connection, as a heap string; NULL when none. */
static char *node_address(const json_t *node)
{
	static const char *const pref[] = {"InternalIP", "ExternalIP", "Hostname"};
	json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
	for (size_t p = 0; p < sizeof(pref) / sizeof(pref[0]); p++) {
		size_t i;
		json_t *a;
		json_array_foreach(addrs, i, a)
		{
			const char *t = api_str(a, "type"), *v = api_str(a, "address");
			if (t && v && *v && !strcmp(t, pref[p]))
				return xstrdup(v);
		}
	}
	return NULL;
}

/* ---- the proxy ---- */

void apiserver__kubelet_curl(struct rq *q, void *curl, const char *url)
{
	char *cacert = xasprintf("%s/pki/ca.crt", q->as->data_dir);
	char *ccert = xasprintf("%s/pki/" APISERVER_KUBELET_CLIENT ".crt", q->as->data_dir);
	char *ckey = xasprintf("%s/pki/" APISERVER_KUBELET_CLIENT ".key", q->as->data_dir);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_CAINFO, cacert); /* curl copies string options */
	curl_easy_setopt(curl, CURLOPT_SSLCERT, ccert);
	curl_easy_setopt(curl, CURLOPT_SSLKEY, ckey);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	free(cacert);
	free(ccert);
	free(ckey);
}

struct proxy {
	struct http_conn *c;
	CURL *curl;
	bool follow;
	long code;	  /* the node's status, once its head is in */
	bool streaming;	  /* our chunked response has begun */
	bool client_gone; /* a write to our client failed */
	struct buf body;  /* non-follow body so far, or the node's error body */
};

static bool ok_code(long code)
{
	return code >= 200 && code <= 206; /* GenericHttpResponseChecker's range */
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct proxy *px = ud;
	size_t len = size * n;
	/* The blank line ends a head; 1xx heads are followed by another. */
	if (len <= 2 && (len == 0 || p[0] == '\r' || p[0] == '\n')) {
		long code = 0;
		curl_easy_getinfo(px->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			px->code = code;
			if (ok_code(code) && px->follow && !px->streaming) {
				px->streaming = true;
				if (http_stream_begin(px->c, 200, "text/plain", NULL) < 0) {
					px->client_gone = true;
					return 0;
				}
			}
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct proxy *px = ud;
	size_t len = size * n;
	if (!ok_code(px->code)) {
		if (px->body.len < ERROR_BODY_MAX)
			buf_append(&px->body, p, len);
		return len;
	}
	if (!px->streaming) {
		buf_append(&px->body, p, len);
		if (px->body.len <= WHOLE_MAX)
			return len;
		/* Too large to hold: switch to a chunked response. */
		px->streaming = true;
		if (http_stream_begin(px->c, 200, "text/plain", NULL) < 0 ||
		    http_stream_write(px->c, px->body.data, px->body.len) < 0) {
			px->client_gone = true;
			return 0;
		}
		buf_fini(&px->body);
		buf_init(&px->body);
		return len;
	}
	if (http_stream_write(px->c, p, len) < 0) {
		px->client_gone = true;
		return 0;
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct proxy *px = ud;
	if (http_conn_closed(px->c)) {
		px->client_gone = true;
		return 1;
	}
	return 0;
}

/* Go's wording of a failed request, for the Status message. */
static char *transport_message(CURLcode cc, const char *url, const char *hostport, const char *detail)
{
	if (cc == CURLE_COULDNT_CONNECT && detail && strstr(detail, "No route to host"))
		return xasprintf("Get \"%s\": dial tcp %s: connect: no route to host", url, hostport);
	if (cc == CURLE_COULDNT_CONNECT)
		return xasprintf("Get \"%s\": dial tcp %s: connect: connection refused", url, hostport);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("Get \"%s\": dial tcp %s: i/o timeout", url, hostport);
	return xasprintf("Get \"%s\": %s", url, detail && *detail ? detail : curl_easy_strerror(cc));
}

static void add_param(struct buf *qs, const char *name, const char *value)
{
	buf_printf(qs, "%s%s=%s", qs->len ? "&" : "", name, value);
}

/* The reason a container of pod waits to start (its status says waiting, or it has no
 * status yet: "ContainerCreating"), or NULL when it has started. */
static const char *waiting_reason(const json_t *pod, const char *container)
{
	static const char *const fields[] = {"containerStatuses", "initContainerStatuses",
					     "ephemeralContainerStatuses"};
	json_t *status = json_object_get(pod, "status");
	for (int f = 0; f < 3; f++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(status, fields[f]), i, cs)
		{
			const char *n = api_str(cs, "name");
			if (!n || strcmp(n, container) != 0)
				continue;
			json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
			if (!w)
				return NULL;
			const char *r = api_str(w, "reason");
			return r && *r ? r : "ContainerCreating";
		}
	}
	return "ContainerCreating";
}

static void proxy(struct rq *q, const struct log_opts *o, const json_t *pod, const char *container,
		  const char *host, int port)
{
	struct buf qs;
	buf_init(&qs);
	char num[32];
	if (o->follow)
		add_param(&qs, "follow", "true");
	if (o->previous)
		add_param(&qs, "previous", "true");
	if (o->timestamps)
		add_param(&qs, "timestamps", "true");
	if (o->has_since_s) {
		snprintf(num, sizeof(num), "%lld", o->since_s);
		add_param(&qs, "sinceSeconds", num);
	}
	if (o->has_since_t)
		add_param(&qs, "sinceTime", o->since_t); /* only [0-9TZ:-]: nothing to escape */
	if (o->has_tail) {
		snprintf(num, sizeof(num), "%lld", o->tail);
		add_param(&qs, "tailLines", num);
	}
	if (o->has_limit) {
		snprintf(num, sizeof(num), "%lld", o->limit);
		add_param(&qs, "limitBytes", num);
	}
	CURL *curl = curl_easy_init();
	char *ens = curl_easy_escape(curl, q->ns, 0), *epod = curl_easy_escape(curl, q->name, 0);
	char *ectr = curl_easy_escape(curl, container, 0);
	bool v6 = strchr(host, ':') != NULL;
	char *hostport = xasprintf("%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
	char *url = xasprintf("https://%s/containerLogs/%s/%s/%s%s%s", hostport, ens, epod, ectr,
			      qs.len ? "?" : "", qs.len ? qs.data : "");
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: */*");
	char errbuf[CURL_ERROR_SIZE] = "";
	struct proxy px = {.c = q->c, .curl = curl, .follow = o->follow};
	buf_init(&px.body);
	apiserver__kubelet_curl(q, curl, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* kube: PreventRedirects */
	if (!o->follow) {
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, STALL_S);
	}
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &px);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &px);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &px);
	CURLcode cc = curl_easy_perform(curl);
	if (px.client_gone && !px.streaming) {
		/* Said only so that the request is answered; nobody reads it. */
		apiserver__send_status(q->c, ERR_UNAVAILABLE,
				       "the client went away or the server is stopping", NULL);
	} else if (px.client_gone) {
		/* Nothing more to say to a client that left. */
	} else if (px.streaming) {
		/* A stream that began ends with its last chunk even when the node broke off:
		 * the status line is already out. */
		http_stream_end(q->c);
	} else if (cc != CURLE_OK) {
		char *m = transport_message(cc, url, hostport, errbuf);
		send_plain_status(q->c, 500, NULL, m, NULL);
		free(m);
	} else if (ok_code(px.code)) {
		http_send(q->c, 200, "text/plain", "", px.body.data ? px.body.data : "", px.body.len);
	} else {
		/* GenericHttpResponseChecker */
		char *text = xasprintf("%.*s", (int)px.body.len, px.body.data ? px.body.data : "");
		char *m;
		int code = (int)px.code;
		const char *reason, *waiting;
		if (code == 500) {
			m = xasprintf("Internal error occurred: %s", text);
			reason = "InternalError";
		} else if (code == 400) {
			m = xstrdup(text);
			reason = "BadRequest";
		} else if (code == 404 && (waiting = waiting_reason(pod, container))) {
			/* The node has no log because the container has not started: what kubelet,
			 * which knows the container's state, says then. */
			m = xasprintf("container \"%s\" in pod \"%s\" is waiting to start: %s", container,
				      q->name, waiting);
			reason = "BadRequest";
			code = 400;
		} else if (code == 404) {
			m = xasprintf("the server could not find the requested resource ( pods/log %s)",
				      q->name);
			reason = "NotFound";
		} else if (code == 401) {
			m = xasprintf(
			    "the server has asked for the client to provide credentials ( pods/log %s)",
			    q->name);
			reason = "Unauthorized";
		} else if (code == 403) {
			m = xasprintf("%s ( pods/log %s)", text, q->name);
			reason = "Forbidden";
		} else if (code >= 500) {
			m = xasprintf("an error on the server (\"%s\") has prevented the request from "
				      "succeeding ( pods/log %s)",
				      text, q->name);
			reason = "InternalError";
		} else {
			m = xasprintf("the server responded with the status code %d but did not return more "
				      "information ( pods/log %s)",
				      code, q->name);
			reason = "";
		}
		json_t *d = code == 400 || code == 500
				? NULL
				: json_pack("{s:s, s:s}", "name", q->name, "kind", "pods/log");
		send_plain_status(q->c, code, reason, m, d);
		free(m);
		free(text);
	}
	buf_fini(&px.body);
	curl_slist_free_all(hdrs);
	free(url);
	free(hostport);
	curl_free(ens);
	curl_free(epod);
	curl_free(ectr);
	curl_easy_cleanup(curl);
	buf_fini(&qs);
}

json_t *apiserver__pod_read(struct rq *q)
{
	char *key = apiserver__key(q->k, q->ns, q->name);
	struct store_kv *kv = NULL;
	int rc = store_get(q->as->store, key, &kv);
	free(key);
	if (rc == -ENOENT) {
		apiserver__send_obj_error(q, rc, q->name);
		return NULL;
	}
	json_t *pod = rc < 0 ? NULL : apiserver__decode_kv(kv, 0);
	store_kv_unref(kv);
	if (!pod) {
		char *m = xasprintf("reading pod %s: %s", q->name, err_str(rc < 0 ? rc : -EIO));
		apiserver__send_status(q->c, rc < 0 ? rc : -EIO, m, NULL);
		free(m);
		return NULL;
	}
	return pod;
}

int apiserver__node_location(struct rq *q, const char *node_name, char **addr_out, int *port_out)
{
	int rc = -1;
	const struct api_kind *nk = api_kind_by_plural("", "v1", "nodes");
	char *nkey = apiserver__key(nk, NULL, node_name);
	struct store_kv *nkv = NULL;
	int nrc = store_get(q->as->store, nkey, &nkv);
	free(nkey);
	json_t *node = nrc < 0 ? NULL : apiserver__decode_kv(nkv, 0);
	store_kv_unref(nkv);
	char *addr = node ? node_address(node) : NULL;
	if (nrc == -ENOENT) {
		char *m = xasprintf("nodes \"%s\" not found", node_name);
		apiserver__send_status(q->c, -ENOENT, m,
				       json_pack("{s:s, s:s}", "name", node_name, "kind", "nodes"));
		free(m);
	} else if (!node) {
		char *m = xasprintf("reading node %s: %s", node_name, err_str(nrc < 0 ? nrc : -EIO));
		apiserver__send_status(q->c, nrc < 0 ? nrc : -EIO, m, NULL);
		free(m);
	} else if (!addr) {
		send_plain_status(
		    q->c, 500, "InternalError",
		    "Internal error occurred: no preferred addresses found; known addresses: []", NULL);
	} else {
		json_t *pj = json_object_get(
		    json_object_get(json_object_get(json_object_get(node, "status"), "daemonEndpoints"),
				    "kubeletEndpoint"),
		    "Port");
		json_int_t port = json_is_integer(pj) ? json_integer_value(pj) : 0;
		if (port <= 0 || port > 65535)
			port = KUBELET_PORT;
		*addr_out = addr;
		*port_out = (int)port;
		addr = NULL;
		rc = 0;
	}
	free(addr);
	json_decref(node);
	return rc;
}

void apiserver__pod_log(struct rq *q)
{
	struct log_opts o;
	if (opts_parse(q, &o) < 0)
		goto out;
	if (!opts_valid(q, &o))
		goto out;
	json_t *pod = apiserver__pod_read(q);
	if (!pod)
		goto out;
	char *container = apiserver__pod_container(q, pod, o.container);
	const char *node_name = api_str(pod, "spec.nodeName");
	if (!container) {
		/* answered */
	} else if (!node_name || !*node_name) {
		http_send(q->c, 200, "text/plain", "", "", 0);
	} else {
		char *addr = NULL;
		int port = 0;
		if (apiserver__node_location(q, node_name, &addr, &port) == 0)
			proxy(q, &o, pod, container, addr, port);
		free(addr);
	}
	free(container);
	json_decref(pod);
out:
	opts_fini(&o);
}
