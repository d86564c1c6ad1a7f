/* client.c - kubeconfig loading and synchronous API requests through libcurl.
 *
 * See client.h for the contract. The kubeconfig is decoded with the project's YAML codec
 * into JSON and resolved there; TLS material stays in memory (CURLOPT_CAINFO_BLOB), so
 * nothing is written to disk. One curl easy handle per client, run through one multi
 * handle of the client (whose pool keeps the connections), so that a stream's wait for the
 * socket can be bounded by a timer of its caller (client_stream_timed) and woken by
 * client_interrupt.
 */
#include "client/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/object.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#define FALLBACK_KUBECONFIG "/var/lib/svcplane/kubeconfig"
#define MAX_FILE_BYTES (8 * 1024 * 1024)

void client_config_init(struct client_config *c)
{
	memset(c, 0, sizeof(*c));
}

void client_config_copy(struct client_config *dst, const struct client_config *src)
{
	client_config_init(dst);
	dst->server = src->server ? xstrdup(src->server) : NULL;
	if (src->ca_pem) {
		dst->ca_pem = xmalloc(src->ca_pem_len + 1);
		memcpy(dst->ca_pem, src->ca_pem, src->ca_pem_len);
		dst->ca_pem[src->ca_pem_len] = 0;
		dst->ca_pem_len = src->ca_pem_len;
	}
	dst->ca_file = src->ca_file ? xstrdup(src->ca_file) : NULL;
	dst->insecure = src->insecure;
	dst->token = src->token ? xstrdup(src->token) : NULL;
	dst->cert_file = src->cert_file ? xstrdup(src->cert_file) : NULL;
	dst->key_file = src->key_file ? xstrdup(src->key_file) : NULL;
	dst->cert_pem = src->cert_pem ? xstrdup(src->cert_pem) : NULL;
	dst->key_pem = src->key_pem ? xstrdup(src->key_pem) : NULL;
	dst->namespace_ = xstrdup(src->namespace_ ? src->namespace_ : "default");
	dst->context = src->context ? xstrdup(src->context) : NULL;
	dst->path = src->path ? xstrdup(src->path) : NULL;
}

void client_config_fini(struct client_config *c)
{
	free(c->server);
	free(c->ca_pem);
	free(c->ca_file);
	free(c->token);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	free(c->key_pem);
	free(c->namespace_);
	free(c->context);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/* Finds the entry named name in array arr ([{name, <field>: {...}}]) and returns its field. */
static const json_t *named(const json_t *kc, const char *arr, const char *field, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(kc, arr), i, e)
	{
		const char *n = api_str(e, "name");
		if (n && strcmp(n, name) == 0) {
			json_t *v = json_object_get(e, field);
			return json_is_object(v) ? v : NULL;
		}
	}
	return NULL;
}

static char *resolve_path(const char *base_dir, const char *p)
{
	if (p[0] == '/' || !base_dir || !*base_dir)
		return xstrdup(p);
	return xasprintf("%s/%s", base_dir, p);
}

/* Decodes base64 (whitespace ignored) with OpenSSL; returns 0 or -EINVAL. */
static int b64_decode(const char *in, char **out, size_t *outlen)
{
	size_t n = strlen(in);
	char *clean = xmalloc(n + 1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' && in[i] != '\t')
			clean[m++] = in[i];
	clean[m] = 0;
	if (m % 4 != 0) {
		free(clean);
		return -EINVAL;
	}
	unsigned char *dst = xmalloc(m / 4 * 3 + 1);
	int got = m ? EVP_DecodeBlock(dst, (const unsigned char *)clean, (int)m) : 0;
	if (got < 0) {
		free(clean);
		free(dst);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the bytes the padding stands for; take them off. */
	if (m >= 1 && clean[m - 1] == '=')
		got--;
	if (m >= 2 && clean[m - 2] == '=')
		got--;
	free(clean);
	dst[got] = 0;
	*out = (char *)dst;
	*outlen = (size_t)got;
	return 0;
}

int client_config_parse(const json_t *kc, const char *context, const char *base_dir,
			struct client_config *out, char *err, size_t errlen)
{
	client_config_init(out);
	const char *ctxname = context && *context ? context : api_str(kc, "current-context");
	if (!ctxname || !*ctxname) {
		snprintf(err, errlen,
			 "current-context is not set in the kubeconfig and no --context was given");
		return -EINVAL;
	}
	const json_t *ctx = named(kc, "contexts", "context", ctxname);
	if (!ctx) {
		snprintf(err, errlen, "context \"%s\" does not exist", ctxname);
		return -EINVAL;
	}
	const char *cname = api_str(ctx, "cluster");
	const json_t *cluster = cname ? named(kc, "clusters", "cluster", cname) : NULL;
	if (!cluster) {
		snprintf(err, errlen,
			 "invalid configuration: context was not found for specified context: %s: cluster "
			 "\"%s\" does not exist",
			 ctxname, cname ? cname : "");
		return -EINVAL;
	}
	const char *server = api_str(cluster, "server");
	if (!server || !*server) {
		snprintf(err, errlen, "invalid configuration: no server found for cluster \"%s\"", cname);
		return -EINVAL;
	}
	size_t sl = strlen(server);
	while (sl > 0 && server[sl - 1] == '/')
		sl--;
	out->server = xstrndup(server, sl);
	out->context = xstrdup(ctxname);
	out->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	const char *cad = api_str(cluster, "certificate-authority-data");
	const char *caf = api_str(cluster, "certificate-authority");
	if (cad && *cad) {
		if (b64_decode(cad, &out->ca_pem, &out->ca_pem_len) < 0) {
			snprintf(err, errlen,
				 "unable to load root certificates: certificate-authority-data of cluster "
				 "\"%s\" is not base64",
				 cname);
			client_config_fini(out);
			return -EINVAL;
		}
	} else if (caf && *caf) {
		out->ca_file = resolve_path(base_dir, caf);
	}
	const char *uname = api_str(ctx, "user");
	const json_t *user = uname ? named(kc, "users", "user", uname) : NULL;
	const char *tok = user ? api_str(user, "token") : NULL;
	const char *tokfile = user ? api_str(user, "tokenFile") : NULL;
	if (tok && *tok) {
		out->token = xstrdup(tok);
	} else if (tokfile && *tokfile) {
		char *p = resolve_path(base_dir, tokfile), *data = NULL;
		size_t len = 0;
		int rc = file_read(p, MAX_FILE_BYTES, &data, &len);
		if (rc < 0) {
			snprintf(err, errlen, "reading tokenFile %s: %s", p, strerror(-rc));
			free(p);
			client_config_fini(out);
			return rc;
		}
		free(p);
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
			data[--len] = 0;
		out->token = data;
	}
	static const char *const certs[][2] = {{"client-certificate-data", "client-certificate"},
					       {"client-key-data", "client-key"}};
	for (int i = 0; i < 2; i++) {
		const char *d = user ? api_str(user, certs[i][0]) : NULL,
			   *f = user ? api_str(user, certs[i][1]) : NULL;
		char **pem = i ? &out->key_pem : &out->cert_pem,
		     **file = i ? &out->key_file : &out->cert_file;
		size_t n;
		if (d && *d) {
			if (b64_decode(d, pem, &n) < 0) {
				snprintf(err, errlen, "%s of user \"%s\" is not base64", certs[i][0], uname);
				client_config_fini(out);
				return -EINVAL;
			}
		} else if (f && *f) {
			*file = resolve_path(base_dir, f);
		}
	}
	const char *ns = api_str(ctx, "namespace");
	out->namespace_ = xstrdup(ns && *ns ? ns : "default");
	return 0;
}

/* Appends the files' configs into merged (see client.h for the rules). */
static int merge_file(json_t *merged, const char *path, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int rc = file_read(path, MAX_FILE_BYTES, &data, &len);
	if (rc < 0) {
		snprintf(err, errlen, "stat %s: %s", path, strerror(-rc));
		return rc;
	}
	json_t *docs = NULL;
	char perr[256] = "";
	rc = api_yaml_decode(data, len, &docs, perr, sizeof(perr));
	free(data);
	if (rc < 0) {
		snprintf(err, errlen, "error loading config file \"%s\": %s", path, perr);
		return rc;
	}
	json_t *kc = json_array_get(docs, 0);
	if (json_is_object(kc)) {
		const char *cur = api_str(merged, "current-context");
		const char *fcur = api_str(kc, "current-context");
		if ((!cur || !*cur) && fcur && *fcur)
			json_object_set_new(merged, "current-context", json_string(fcur));
		static const char *const arrs[] = {"clusters", "contexts", "users"};
		for (size_t i = 0; i < 3; i++) {
			json_t *a = json_object_get(kc, arrs[i]);
			if (json_is_array(a))
				json_array_extend(json_object_get(merged, arrs[i]), a);
		}
	}
	json_decref(docs);
	return 0;
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

int client_config_load(const char *path, const char *context, struct client_config *out, char *err,
		       size_t errlen)
{
	client_config_init(out);
	json_t *merged = json_pack("{s:[],s:[],s:[]}", "clusters", "contexts", "users");
	char *first = NULL;
	int rc = 0;
	const char *env = getenv("KUBECONFIG");
	if (path && *path) {
		rc = merge_file(merged, path, err, errlen);
		first = xstrdup(path);
	} else if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;
		for (char *p = strtok_r(copy, ":", &save); p && !rc; p = strtok_r(NULL, ":", &save)) {
			if (!exists(p))
				continue;
			rc = merge_file(merged, p, err, errlen);
			if (!first)
				first = xstrdup(p);
		}
		free(copy);
	}
	if (!rc && !first) {
		const char *home = getenv("HOME");
		char *p = home ? xasprintf("%s/.kube/config", home) : NULL;
		if (p && exists(p)) {
			rc = merge_file(merged, p, err, errlen);
			first = p;
		} else {
			free(p);
			if (exists(FALLBACK_KUBECONFIG)) {
				rc = merge_file(merged, FALLBACK_KUBECONFIG, err, errlen);
				first = xstrdup(FALLBACK_KUBECONFIG);
			}
		}
	}
	if (!rc && !first) {
		snprintf(err, errlen,
			 "no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config "
			 "(a node running `svcplane server` has " FALLBACK_KUBECONFIG ")");
		rc = -ENOENT;
	}
	if (!rc) {
		char *dir = xstrdup(first);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			strcpy(dir, ".");
		rc = client_config_parse(merged, context, dir, out, err, errlen);
		free(dir);
		if (!rc)
			out->path = first, first = NULL;
	}
	free(first);
	json_decref(merged);
	return rc;
}

struct client {
	struct client_config cfg;
	CURL *curl;
	CURLM *multi; /* runs curl's transfers; owns the connection pool */
	long timeout_ms;
	char **servers; /* cfg.server split at commas, trailing slashes dropped */
	size_t nservers;
	size_t cur; /* the server requests go to now */
	/* The sockets curl has open for this client (opened and closed through our
	 * callbacks, under fd_mu), so client_interrupt can shut them down from another
	 * thread without ever touching a descriptor curl already closed. */
	pthread_mutex_t fd_mu;
	int fds[8];
	size_t nfds;
	atomic_bool interrupted;
};

size_t client_servers_split(const char *list, char ***out)
{
	VEC(char *) v = {0};
	const char *p = list ? list : "";
	for (;;) {
		size_t l = strcspn(p, ",");
		size_t t = l;
		while (t > 0 && (p[t - 1] == '/' || p[t - 1] == ' '))
			t--;
		const char *b = p;
		while (t > 0 && *b == ' ')
			b++, t--;
		if (t > 0)
			*vec_push(&v) = xstrndup(b, t);
		if (!p[l])
			break;
		p += l + 1;
	}
	if (v.len == 0) /* keep one (empty) entry so every request has a URL to fail on */
		*vec_push(&v) = xstrdup("");
	*out = v.v;
	return v.len;
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct client *client_new(const struct client_config *cfg, long timeout_ms)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);
	struct client *cl = xcalloc(1, sizeof(*cl));
	client_config_copy(&cl->cfg, cfg);
	cl->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	cl->nservers = client_servers_split(cfg->server, &cl->servers);
	pthread_mutex_init(&cl->fd_mu, NULL);
	atomic_init(&cl->interrupted, false);
	cl->curl = curl_easy_init();
	cl->multi = curl_multi_init();
	if (!cl->curl || !cl->multi) {
		fprintf(stderr, "curl_easy_init or curl_multi_init failed\n");
		abort();
	}
	return cl;
}

void client_free(struct client *cl)
{
	if (!cl)
		return;
	/* The pool's connections close through close_socket (each connection keeps the
	 * callback it was opened with), while fd_mu still exists. */
	curl_multi_cleanup(cl->multi);
	curl_easy_cleanup(cl->curl);
	pthread_mutex_destroy(&cl->fd_mu);
	for (size_t i = 0; i < cl->nservers; i++)
		free(cl->servers[i]);
	free(cl->servers);
	client_config_fini(&cl->cfg);
	free(cl);
}

const char *client_namespace(const struct client *cl)
{
	return cl->cfg.namespace_;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* "host:port" of the server URL, for messages. */
static void server_hostport(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/");
	snprintf(out, len, "%.*s", (int)n, p);
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct client *cl = ud;
	(void)purpose;
	if (atomic_load(&cl->interrupted))
		return CURL_SOCKET_BAD;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&cl->fd_mu);
	if (cl->nfds < sizeof(cl->fds) / sizeof(cl->fds[0]))
		cl->fds[cl->nfds++] = fd;
	pthread_mutex_unlock(&cl->fd_mu);
	return fd;
}

static int close_socket(void *ud, curl_socket_t fd)
{
	struct client *cl = ud;
	pthread_mutex_lock(&cl->fd_mu);
	for (size_t i = 0; i < cl->nfds; i++)
		if (cl->fds[i] == fd) {
			cl->fds[i] = cl->fds[--cl->nfds];
			break;
		}
	int rc = close(fd);
	pthread_mutex_unlock(&cl->fd_mu);
	return rc;
}

void client_interrupt(struct client *cl)
{
	if (!cl)
		return;
	atomic_store(&cl->interrupted, true);
	pthread_mutex_lock(&cl->fd_mu);
	for (size_t i = 0; i < cl->nfds; i++)
		shutdown(cl->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&cl->fd_mu);
	/* And the wait between curl's turns ends too (a name lookup itself runs to its end). */
	curl_multi_wakeup(cl->multi);
}

void client_timer_arm(struct client_timer *t, long long in_ms)
{
	t->due_ms = in_ms > 0 ? clock_mono_ms() + in_ms : 0;
}

/* Runs the transfer set up on cl->curl to its end, as curl_easy_perform does (a wait of at
 * most a second between curl's turns), but through the client's multi handle, so the wait
 * also ends at once for client_interrupt, for *stop (may be NULL; checked after each wait)
 * and when timer (may be NULL) is due: timer->fn(ud, timer) then runs here, between two
 * turns of curl, and a non-zero return ends the transfer (*ended_by_timer). Returns curl's
 * outcome; CURLE_ABORTED_BY_CALLBACK when *stop or client_interrupt ended it. */
static CURLcode perform(struct client *cl, volatile int *stop, struct client_timer *timer, void *ud,
			bool *ended_by_timer)
{
	CURLM *m = cl->multi;
	if (curl_multi_add_handle(m, cl->curl) != CURLM_OK)
		return CURLE_FAILED_INIT;
	CURLcode cc = CURLE_OK;
	for (;;) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK) {
			cc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			CURLMsg *msg;
			int left;
			while ((msg = curl_multi_info_read(m, &left)))
				if (msg->msg == CURLMSG_DONE && msg->easy_handle == cl->curl)
					cc = msg->data.result;
			break;
		}
		if ((stop && *stop) || atomic_load(&cl->interrupted)) {
			cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		int wait_ms = 1000;
		if (timer && timer->due_ms > 0) {
			long long until = timer->due_ms - clock_mono_ms();
			if (until <= 0) {
				if (timer->fn(ud, timer) != 0) {
					*ended_by_timer = true;
					break;
				}
				continue;
			}
			if (until < wait_ms)
				wait_ms = (int)until;
		}
		mc = curl_multi_poll(m, NULL, 0, wait_ms, NULL);
		if (mc != CURLM_OK) {
			cc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
			break;
		}
	}
	curl_multi_remove_handle(m, cl->curl);
	return cc;
}

/* Options shared by requests and streams: URL, headers, TLS, HTTP/1.1 (ALPN offers
 * http/1.1 only). Returns the header list, which the caller frees after the transfer. */
static struct curl_slist *setup(struct client *cl, const char *method, const char *url,
				const char *content_type, const char *accept)
{
	CURL *c = cl->curl;
	curl_easy_reset(c);
	struct curl_slist *hdrs = NULL;
	char *h = xasprintf("Accept: %s", accept ? accept : "application/json");
	hdrs = curl_slist_append(hdrs, h);
	free(h);
	if (content_type) {
		h = xasprintf("Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	if (cl->cfg.token) {
		h = xasprintf("Authorization: Bearer %s", cl->cfg.token);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "svcplane-ctl/0.1.0");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, cl);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, cl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cl->timeout_ms < 10000 ? cl->timeout_ms : 10000L);
	if (cl->cfg.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (cl->cfg.ca_pem) {
		struct curl_blob blob = {
		    .data = cl->cfg.ca_pem, .len = cl->cfg.ca_pem_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	} else if (cl->cfg.ca_file) {
		curl_easy_setopt(c, CURLOPT_CAINFO, cl->cfg.ca_file);
	}
	if (cl->cfg.cert_pem && cl->cfg.key_pem) {
		struct curl_blob cb = {
		    .data = cl->cfg.cert_pem, .len = strlen(cl->cfg.cert_pem), .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {
		    .data = cl->cfg.key_pem, .len = strlen(cl->cfg.key_pem), .flags = CURL_BLOB_COPY};
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
	} else if (cl->cfg.cert_file && cl->cfg.key_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, cl->cfg.cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, cl->cfg.key_file);
	}
	return hdrs;
}

const char *client_server(const struct client *cl)
{
	return cl->servers[cl->cur];
}

/* A failure before the request reached a server: safe to send again elsewhere. */
static bool not_sent(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	       cc == CURLE_SSL_CONNECT_ERROR;
}

/* After a transport failure or a 5xx: the next request goes to the next server. */
static void next_server(struct client *cl)
{
	if (cl->nservers < 2 || atomic_load(&cl->interrupted))
		return;
	cl->cur = (cl->cur + 1) % cl->nservers;
	log_info("API client: switching to %s", cl->servers[cl->cur]);
}

/* kubectl's wording of a transport failure; returns the negative errno for it. */
static int transport_error(struct client *cl, CURLcode cc, char *err, size_t errlen)
{
	char hp[256];
	server_hostport(client_server(cl), hp, sizeof(hp));
	if (cc == CURLE_COULDNT_CONNECT)
		snprintf(
		    err, errlen,
		    "The connection to the server %s was refused - did you specify the right host or port?",
		    hp);
	else
		snprintf(err, errlen, "Unable to connect to the server: %s", curl_easy_strerror(cc));
	return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

/* One try of a request against the current server; *cc is curl's outcome. */
static int request_once(struct client *cl, const char *method, const char *path, const char *content_type,
			const char *body, const char *accept, long *status, char **resp_body,
			size_t *resp_len, CURLcode *cc, char *err, size_t errlen)
{
	CURL *c = cl->curl;
	char *url = xasprintf("%s%s", client_server(cl), path);
	struct curl_slist *hdrs = setup(cl, method, url, content_type, accept);
	struct buf resp;
	buf_init(&resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cl->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	bool unused = false;
	*cc = perform(cl, NULL, NULL, NULL, &unused);
	int rc = 0;
	if (*cc != CURLE_OK) {
		rc = transport_error(cl, *cc, err, errlen);
		buf_fini(&resp);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (!resp.data)
			buf_puts(&resp, "");
		if (resp_len)
			*resp_len = resp.len;
		*resp_body = buf_take(&resp);
	}
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

int client_request(struct client *cl, const char *method, const char *path, const char *content_type,
		   const char *body, const char *accept, long *status, char **resp_body, size_t *resp_len,
		   char *err, size_t errlen)
{
	/* A request that never reached a server is sent to the next one, each server once;
	 * any other failure, or a 5xx, is the caller's, and moves the next request on. */
	for (size_t tries = 0;; tries++) {
		CURLcode cc = CURLE_OK;
		int rc = request_once(cl, method, path, content_type, body, accept, status, resp_body,
				      resp_len, &cc, err, errlen);
		if (rc == 0 && *status >= 500)
			next_server(cl);
		if (rc == 0)
			return 0;
		next_server(cl);
		if (!not_sent(cc) || tries + 1 >= cl->nservers)
			return rc;
	}
}

struct stream {
	CURL *curl;
	client_stream_fn cb;
	void *ud;
	bool ended_by_cb;
	struct buf error_body; /* the body of a non-2xx answer */
};

static size_t on_stream_body(char *p, size_t size, size_t n, void *ud)
{
	struct stream *st = ud;
	long code = 0;
	curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		if (st->error_body.len < 65536)
			buf_append(&st->error_body, p, size * n);
		return size * n;
	}
	if (st->cb(st->ud, p, size * n) != 0) {
		st->ended_by_cb = true;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* What a stream was asked to do; the same for each server it tries. */
struct stream_req {
	const char *path;
	client_stream_fn cb;
	void *ud;
	volatile int *stop;
	struct client_timer *timer;
	struct client_apierr *ae;
};

/* One try of a stream against the current server; *cc is curl's outcome. */
static int stream_once(struct client *cl, const struct stream_req *q, long *status, CURLcode *ccp, char *err,
		       size_t errlen)
{
	CURL *c = cl->curl;
	char *url = xasprintf("%s%s", client_server(cl), q->path);
	struct curl_slist *hdrs = setup(cl, "GET", url, NULL, NULL);
	struct stream st = {.curl = c, .cb = q->cb, .ud = q->ud};
	buf_init(&st.error_body);
	*status = 0;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	bool by_timer = false;
	CURLcode cc = perform(cl, q->stop, q->timer, q->ud, &by_timer);
	*ccp = cc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	int rc = 0;
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && st.ended_by_cb) && cc != CURLE_ABORTED_BY_CALLBACK)
		rc = transport_error(cl, cc, err, errlen);
	else
		*ccp = CURLE_OK;
	if (!rc && *status != 0 && (*status < 200 || *status > 299)) {
		struct client_apierr a;
		client_apierr_decode(*status, st.error_body.data, &a);
		snprintf(err, errlen, "%s", a.message);
		if (q->ae)
			*q->ae = a;
		else
			client_apierr_fini(&a);
	}
	buf_fini(&st.error_body);
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

static int stream_run(struct client *cl, const struct stream_req *q, long *status, char *err, size_t errlen)
{
	for (size_t tries = 0;; tries++) {
		CURLcode cc = CURLE_OK;
		int rc = stream_once(cl, q, status, &cc, err, errlen);
		if (rc == 0 && *status >= 500)
			next_server(cl);
		if (rc == 0)
			return 0;
		next_server(cl);
		if (!not_sent(cc) || tries + 1 >= cl->nservers || (q->stop && *q->stop))
			return rc;
	}
}

int client_stream(struct client *cl, const char *path, client_stream_fn cb, void *ud, volatile int *stop,
		  long *status, char *err, size_t errlen)
{
	return client_stream_timed(cl, path, cb, ud, stop, NULL, status, err, errlen);
}

int client_stream_timed(struct client *cl, const char *path, client_stream_fn cb, void *ud,
			volatile int *stop, struct client_timer *timer, long *status, char *err,
			size_t errlen)
{
	struct stream_req q = {.path = path, .cb = cb, .ud = ud, .stop = stop, .timer = timer};
	return stream_run(cl, &q, status, err, errlen);
}

int client_stream_ae(struct client *cl, const char *path, client_stream_fn cb, void *ud, volatile int *stop,
		     long *status, struct client_apierr *ae, char *err, size_t errlen)
{
	struct stream_req q = {.path = path, .cb = cb, .ud = ud, .stop = stop, .ae = ae};
	return stream_run(cl, &q, status, err, errlen);
}

void client_apierr_decode(long code, const char *body, struct client_apierr *e)
{
	memset(e, 0, sizeof(*e));
	e->code = code;
	json_t *st = body ? json_loads(body, 0, NULL) : NULL;
	if (json_is_object(st) && api_str(st, "kind") && !strcmp(api_str(st, "kind"), "Status")) {
		const char *r = api_str(st, "reason");
		const char *m = api_str(st, "message");
		e->reason = xstrdup(r ? r : "");
		e->message = xstrdup(m ? m : "");
		json_t *d = json_object_get(st, "details");
		e->details = d ? json_incref(d) : NULL;
		json_decref(st);
		return;
	}
	json_decref(st);
	const char *reason = "", *msg = NULL;
	switch (code) {
	case 400:
		reason = "BadRequest";
		msg = "the server rejected our request for an unknown reason";
		break;
	case 401:
		reason = "Unauthorized";
		msg = "the server has asked for the client to provide credentials";
		break;
	case 403:
		reason = "Forbidden";
		msg = "the server does not allow access to the requested resource";
		break;
	case 404:
		reason = "NotFound";
		msg = "the server could not find the requested resource";
		break;
	case 405:
		reason = "MethodNotAllowed";
		msg = "the server does not allow this method on the requested resource";
		break;
	case 409:
		reason = "Conflict";
		msg = "the server reported a conflict";
		break;
	case 415:
		reason = "UnsupportedMediaType";
		msg = "the server responded with the status code 415 but did not return more information";
		break;
	case 422:
		reason = "Invalid";
		msg = "the server rejected our request due to an error in our request";
		break;
	case 429:
		reason = "TooManyRequests";
		msg = "the server has received too many requests and has asked us to try again later";
		break;
	case 503:
		reason = "ServiceUnavailable";
		msg = "the server is currently unable to handle the request";
		break;
	default:
		break;
	}
	e->reason = xstrdup(reason);
	if (msg) {
		e->message = xstrdup(msg);
	} else if (code >= 500) {
		e->reason = (free(e->reason), xstrdup("InternalError"));
		e->message =
		    xasprintf("an error on the server (\"%s\") has prevented the request from succeeding",
			      body && *body ? body : "unknown");
	} else {
		e->message = xasprintf(
		    "the server responded with the status code %ld but did not return more information",
		    code);
	}
}

void client_apierr_fini(struct client_apierr *e)
{
	free(e->reason);
	free(e->message);
	json_decref(e->details);
	memset(e, 0, sizeof(*e));
}

char *client_escape(const char *s)
{
	struct buf b;
	buf_init(&b);
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			buf_putc(&b, (char)*p);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[*p >> 4]);
			buf_putc(&b, hex[*p & 15]);
		}
	}
	if (!b.data)
		buf_puts(&b, "");
	return buf_take(&b);
}
